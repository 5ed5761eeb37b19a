-- The same funnel in plain DataFusion SQL, without the window_funnel UDAF.
--
-- Formulation: for one starting exposure at t1, the earliest possible
-- continuation is greedy (the first click at or after t1, then the first
-- add_to_cart at or after that click, then the first purchase at or after
-- that cart), and the chain counts up to the last step that is still within
-- t1 + 7 days. "First X at or after this row" is a running min over each
-- user's funnel rows in descending (time, step) order, so the whole chain is
-- three window passes over one sort, no join of steps against each other
-- (a self-join per step multiplies exposures by clicks per user). Equal
-- timestamps chain (a click at the exposure's instant counts), as in
-- ClickHouse's windowFunnel without strict_increase: that is why step is the
-- second sort key. Times are compared as integer microseconds (7 days =
-- 604800000000 us): adding an interval to a time-zoned timestamp per row
-- measured slower.
with steps as (
  select
    user_id,
    cast(event_time as bigint) as t,
    case event_type
      when 'exposure' then 1
      when 'click' then 2
      when 'add_to_cart' then 3
      when 'purchase' then 4
    end as step
  from events
  where user_id is not null
    and event_time is not null
    and event_type in ('exposure', 'click', 'add_to_cart', 'purchase')
),

-- first click / cart / purchase at or after each row
next_step as (
  select
    user_id, t, step,
    min(case when step = 2 then t end) over w as n2,
    min(case when step = 3 then t end) over w as n3,
    min(case when step = 4 then t end) over w as n4
  from steps
  window w as (partition by user_id order by t desc, step desc
               rows between unbounded preceding and current row)
),

-- n23: earliest cart reachable through a click at or after this row;
-- n34: earliest purchase reachable through a cart at or after this row
two_steps as (
  select
    user_id, t, step, n2,
    min(case when step = 2 then n3 end) over w as n23,
    min(case when step = 3 then n4 end) over w as n34
  from next_step
  window w as (partition by user_id order by t desc, step desc
               rows between unbounded preceding and current row)
),

-- n234: earliest purchase reachable through click and cart at or after this row
three_steps as (
  select
    user_id, t, step, n2, n23,
    min(case when step = 2 then n34 end) over w as n234
  from two_steps
  window w as (partition by user_id order by t desc, step desc
               rows between unbounded preceding and current row)
),

-- level of each user that has an exposure: the best starting exposure
per_user as (
  select
    user_id,
    max(
      case
        when n234 <= t + 604800000000 then 4
        when n23 <= t + 604800000000 then 3
        when n2 <= t + 604800000000 then 2
        else 1
      end
    ) as level
  from three_steps
  where step = 1
  group by user_id
),

-- every user, so that users without an exposure count at level 0
all_users as (
  select distinct user_id from events where user_id is not null
),

final as (
  select coalesce(p.level, 0) as level, count(*) as users
  from all_users as a
  left join per_user as p on a.user_id = p.user_id
  group by coalesce(p.level, 0)
)

select cast(level as bigint) as level, users from final order by level
