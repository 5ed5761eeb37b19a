-- The same funnel in plain DataFusion SQL, without the window_funnel UDAF:
-- one self-join per step. For each exposure (t1), the earliest click in
-- [t1, t1 + 7 days], then the earliest add_to_cart in [t2, t1 + 7 days], then
-- the earliest purchase in [t3, t1 + 7 days] (the greedy earliest chain is
-- optimal for a fixed start; equal timestamps chain, as in ClickHouse's
-- windowFunnel without strict_increase). A user's level is the best over
-- their exposures. The join on user_id pairs every exposure with every click
-- of the same user before the time filter, so its cost grows with
-- exposures x clicks per user. Times are integer microseconds, as in
-- datafusion_window.sql.
with funnel_events as (
  select user_id, cast(event_time as bigint) as t, event_type
  from events
  where user_id is not null
    and event_time is not null
    and event_type in ('exposure', 'click', 'add_to_cart', 'purchase')
),

e1 as (select distinct user_id, t from funnel_events where event_type = 'exposure'),
e2 as (select user_id, t from funnel_events where event_type = 'click'),
e3 as (select user_id, t from funnel_events where event_type = 'add_to_cart'),
e4 as (select user_id, t from funnel_events where event_type = 'purchase'),

s2 as (
  select e1.user_id, e1.t as t1, min(e2.t) as t2
  from e1
  left join e2
    on e1.user_id = e2.user_id
    and e2.t >= e1.t and e2.t <= e1.t + 604800000000
  group by e1.user_id, e1.t
),

s3 as (
  select s2.user_id, s2.t1, s2.t2, min(e3.t) as t3
  from s2
  left join e3
    on s2.user_id = e3.user_id
    and e3.t >= s2.t2 and e3.t <= s2.t1 + 604800000000
  group by s2.user_id, s2.t1, s2.t2
),

s4 as (
  select s3.user_id, s3.t1, s3.t2, s3.t3, min(e4.t) as t4
  from s3
  left join e4
    on s3.user_id = e4.user_id
    and e4.t >= s3.t3 and e4.t <= s3.t1 + 604800000000
  group by s3.user_id, s3.t1, s3.t2, s3.t3
),

per_user as (
  select
    user_id,
    max(
      case
        when t4 is not null then 4
        when t3 is not null then 3
        when t2 is not null then 2
        else 1
      end
    ) as level
  from s4
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
