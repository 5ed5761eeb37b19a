-- The same funnel in DuckDB, its best formulation we found: ASOF joins.
-- For each exposure (t1), ASOF LEFT JOIN finds the first click at or after
-- it, then the first add_to_cart at or after that click, then the first
-- purchase at or after that cart (the greedy earliest chain, which is
-- optimal for a fixed start); the level counts the steps still within
-- t1 + 7 days, and a user's level is the best over their exposures.
-- {events} is replaced by the events directory (hive layout dt=YYYY-MM-DD/).
with ev as (
  select user_id, epoch_us(event_time) as t, event_type
  from read_parquet('{events}/*/*.parquet', hive_partitioning = false)
  where user_id is not null and event_time is not null
    and event_type in ('exposure', 'click', 'add_to_cart', 'purchase')
),
e1 as (select user_id, t from ev where event_type = 'exposure'),
e2 as (select user_id, t from ev where event_type = 'click'),
e3 as (select user_id, t from ev where event_type = 'add_to_cart'),
e4 as (select user_id, t from ev where event_type = 'purchase'),

s2 as (
  select e1.user_id, e1.t as t1, e2.t as t2
  from e1 asof left join e2 on e1.user_id = e2.user_id and e2.t >= e1.t
),
s3 as (
  select s2.*, e3.t as t3
  from s2 asof left join e3 on s2.user_id = e3.user_id and e3.t >= s2.t2
),
s4 as (
  select s3.*, e4.t as t4
  from s3 asof left join e4 on s3.user_id = e4.user_id and e4.t >= s3.t3
),

per_user as (
  select
    user_id,
    max(
      case
        when t4 <= t1 + 604800000000 then 4
        when t3 <= t1 + 604800000000 then 3
        when t2 <= t1 + 604800000000 then 2
        else 1
      end
    ) as level
  from s4
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
