-- The same funnel in DuckDB with the window-function formulation of
-- datafusion_window.sql (running mins over each user's funnel rows in
-- descending (time, step) order). Kept as a second DuckDB formulation; the
-- benchmark reports the faster of this and duckdb.sql (ASOF joins).
-- {events} is replaced by the events directory (hive layout dt=YYYY-MM-DD/).
with steps as (
  select
    user_id,
    epoch_us(event_time) as t,
    case event_type
      when 'exposure' then 1
      when 'click' then 2
      when 'add_to_cart' then 3
      when 'purchase' then 4
    end as step
  from read_parquet('{events}/*/*.parquet', hive_partitioning = false)
  where user_id is not null and event_time is not null
    and event_type in ('exposure', 'click', 'add_to_cart', 'purchase')
),
next_step as (
  select user_id, t, step,
    min(case when step = 2 then t end) over w as n2,
    min(case when step = 3 then t end) over w as n3,
    min(case when step = 4 then t end) over w as n4
  from steps
  window w as (partition by user_id order by t desc, step desc
               rows between unbounded preceding and current row)
),
two_steps as (
  select user_id, t, step, n2,
    min(case when step = 2 then n3 end) over w as n23,
    min(case when step = 3 then n4 end) over w as n34
  from next_step
  window w as (partition by user_id order by t desc, step desc
               rows between unbounded preceding and current row)
),
three_steps as (
  select user_id, t, step, n2, n23,
    min(case when step = 2 then n34 end) over w as n234
  from two_steps
  window w as (partition by user_id order by t desc, step desc
               rows between unbounded preceding and current row)
),
per_user as (
  select user_id,
    max(case
          when n234 <= t + 604800000000 then 4
          when n23 <= t + 604800000000 then 3
          when n2 <= t + 604800000000 then 2
          else 1
        end) as level
  from three_steps
  where step = 1
  group by user_id
),
all_users as (
  select distinct user_id
  from read_parquet('{events}/*/*.parquet', hive_partitioning = false)
  where user_id is not null
)
select coalesce(p.level, 0)::bigint as level, count(*) as users
from all_users as a
left join per_user as p using (user_id)
group by all
order by level
