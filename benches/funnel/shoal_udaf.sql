-- 4-step purchase funnel with shoal's window_funnel (ClickHouse windowFunnel
-- semantics, mode ''): the deepest of exposure -> click -> add_to_cart ->
-- purchase each user reaches with the whole chain within 7 days of its
-- exposure; then users per level. Users = non-NULL user_id; rows with a NULL
-- event_time are ignored by the aggregate.
with per_user as (
  select
    user_id,
    window_funnel(
      7 * 86400, '', event_time,
      event_type = 'exposure',
      event_type = 'click',
      event_type = 'add_to_cart',
      event_type = 'purchase'
    ) as level
  from events
  where user_id is not null
  group by user_id
)

select cast(level as bigint) as level, count(*) as users
from per_user
group by level
order by level
