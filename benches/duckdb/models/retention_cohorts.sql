-- retention_cohorts (docs/metrics.md#retention_cohorts), dt = ds. Differs from shoal's SQL: instead
-- of joining the (cohort day x n) grid to every return day and counting
-- distinct users per cell, it counts returns per (cohort, days after) once
-- (user_daily has one row per user and day, so no distinct is needed) and
-- each user's first return day once; within-n = users whose first return
-- is <= n.
-- sort_by: cohort_day, n
with first_days as (
    select user_id, min(dt) as cohort_day
    from user_daily where dt <= date '{{ ds }}'
    group by user_id
),
returns as (
    select f.cohort_day, a.dt - f.cohort_day as days_after, a.user_id
    from user_daily a join first_days f using (user_id)
    where a.dt > f.cohort_day and a.dt <= date '{{ ds }}'
      and f.cohort_day >= date '{{ ds }}' - {{ run.lookback_days }}
),
day_n as (
    select cohort_day, days_after, count(*) as users from returns group by all
),
first_return as (
    select cohort_day, min(days_after) as first_after from returns group by cohort_day, user_id
),
grid as (
    select cast(c as date) as cohort_day, n
    from generate_series(date '{{ ds }}' - {{ run.lookback_days }}, date '{{ ds }}' - 1, interval 1 day) g(c),
         (values {% for n in var.retention_days %}({{ n }}){% if not loop.last %}, {% endif %}{% endfor %}) k(n)
    where cast(c as date) + n <= date '{{ ds }}'
),
cohorts as (
    select cohort_day, count(*) as cohort_size from first_days group by cohort_day
),
counted as (
    select
        g.cohort_day,
        g.n,
        coalesce(c.cohort_size, 0) as cohort_size,
        coalesce(d.users, 0) as retained_day_n,
        (select count(*) from first_return r where r.cohort_day = g.cohort_day and r.first_after <= g.n) as retained_within_n
    from grid g
    left join cohorts c on c.cohort_day = g.cohort_day
    left join day_n d on d.cohort_day = g.cohort_day and d.days_after = g.n
)
select
    date '{{ ds }}' as dt,
    cohort_day,
    cast(n as bigint) as n,
    cohort_size,
    retained_day_n,
    retained_within_n,
    cast(retained_day_n as double) / nullif(cohort_size, 0) as retention_day_n,
    cast(retained_within_n as double) / nullif(cohort_size, 0) as retention_within_n
from counted
