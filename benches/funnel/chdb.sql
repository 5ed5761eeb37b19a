-- The same funnel in ClickHouse (chDB): windowFunnel, mode ''. The time is
-- passed as UInt64 microseconds and the window as 7 days in microseconds, so
-- the comparison is exact at the data's resolution, like shoal (which scales
-- the window to the column's unit). Rows with a NULL time are skipped by
-- ClickHouse's Null combinator; coalesce turns a group with no non-NULL
-- row into level 0. {events} is replaced by the events directory.
select toInt64(level) as level, count() as users
from (
  select
    user_id,
    coalesce(
      windowFunnel(7 * 86400 * 1000000)(
        toUInt64(toUnixTimestamp64Micro(event_time)),
        event_type = 'exposure',
        event_type = 'click',
        event_type = 'add_to_cart',
        event_type = 'purchase'
      ),
      0
    ) as level
  from file('{events}/*/*.parquet', Parquet)
  where user_id is not null
  group by user_id
)
group by level
order by level
