-- platform_daily (docs/metrics.md#platform_daily), dt = ds: written from the
-- definition with count(distinct) per window (shoal counts one row per user).
with h as (
    select * from user_daily where dt <= date '{{ ds }}'
),
counts as (
    select
        count(distinct user_id) filter (where dt = date '{{ ds }}') as dau,
        count(distinct user_id) filter (where dt > date '{{ ds }}' - 7) as wau,
        count(distinct user_id) filter (where dt > date '{{ ds }}' - 30) as mau,
        count(distinct user_id) filter (where dt between date '{{ ds }}' - 59 and date '{{ ds }}' - 30) as mau_prev,
        coalesce(sum(messages) filter (where dt = date '{{ ds }}'), 0) as messages,
        coalesce(sum(joins) filter (where dt = date '{{ ds }}'), 0) as joins,
        coalesce(sum(quits) filter (where dt = date '{{ ds }}'), 0) as quits
    from h
),
firsts as (
    select count(*) as new_users
    from (select user_id from h group by user_id having min(dt) = date '{{ ds }}')
)
select
    date '{{ ds }}' as dt,
    dau, wau, mau,
    dau / nullif(mau, 0)::double as dau_mau,
    mau_prev,
    mau / nullif(mau_prev, 0)::double - 1.0 as mau_growth,
    new_users, messages, joins, quits
from counts, firsts
