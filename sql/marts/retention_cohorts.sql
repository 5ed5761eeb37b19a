/*---
materialized: daily
sort_by: [cohort_day, n]
description: >
  Day-N and within-N retention of the daily cohorts
  (docs/metrics.md#retention_cohorts). A user's cohort is their first active
  day over all of user_daily (up to ds). One row per cohort day c in [ds -
  lookback_days, ds - 1] and N in var.retention_days with c + N <= ds, also
  for empty cohorts (size 0, rates NULL).
columns:
  dt: the run day
  cohort_day: the cohort's first active day
  n: days after the cohort day
  cohort_size: users whose first active day is cohort_day
  retained_day_n: cohort users active exactly on cohort_day + n
  retained_within_n: cohort users active on any day in [cohort_day + 1, cohort_day + n]
  retention_day_n: retained_day_n / cohort_size; NULL for an empty cohort
  retention_within_n: retained_within_n / cohort_size; NULL for an empty cohort
tests:
  - { unique: [cohort_day, n] }
  - { not_null: [dt, cohort_day, n, cohort_size, retained_day_n, retained_within_n] }
  - { expression: "retained_day_n <= retained_within_n and retained_within_n <= cohort_size" }
  - { expression: "retention_day_n between 0 and 1 and retention_within_n between 0 and 1" }
  - { expression: "cohort_day + n <= dt" }
---*/
with activity as (
    select user_id, dt
    from user_daily
    where dt <= date '{{ ds }}'
),

first_days as (
    select user_id, min(dt) as cohort_day
    from activity
    group by user_id
),

-- every cohort day c in [ds - lookback_days, ds - 1] and N with c + N <= ds
grid as (
    select cohort_day, n
    from (values
    {%- for i in range(1, run.lookback_days + 1) %}
        (date '{{ days_before(ds, i) }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as c(cohort_day)
    cross join (values
    {%- for n in var.retention_days %}
        ({{ n }}){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as k(n)
    where cohort_day + n <= date '{{ ds }}'
),

cohorts as (
    select cohort_day, count(*) as cohort_size
    from first_days
    group by cohort_day
),

returns as (
    -- each cohort user's active days after the cohort day
    select f.cohort_day, f.user_id, a.dt - f.cohort_day as days_after
    from first_days f
    join activity a on a.user_id = f.user_id and a.dt > f.cohort_day
),

retained as (
    select
        g.cohort_day,
        g.n,
        count(distinct r.user_id) filter (where r.days_after = g.n) as retained_day_n,
        count(distinct r.user_id) filter (where r.days_after <= g.n) as retained_within_n
    from grid g
    join returns r on r.cohort_day = g.cohort_day
    group by g.cohort_day, g.n
),

final as (
    select
        date '{{ ds }}' as dt,
        g.cohort_day,
        g.n,
        coalesce(c.cohort_size, 0) as cohort_size,
        coalesce(r.retained_day_n, 0) as retained_day_n,
        coalesce(r.retained_within_n, 0) as retained_within_n,
        -- retention_day_n = retained_day_n / cohort_size
        cast(coalesce(r.retained_day_n, 0) as double) / nullif(c.cohort_size, 0) as retention_day_n,
        -- retention_within_n = retained_within_n / cohort_size
        cast(coalesce(r.retained_within_n, 0) as double) / nullif(c.cohort_size, 0) as retention_within_n
    from grid g
    left join cohorts c on c.cohort_day = g.cohort_day
    left join retained r on r.cohort_day = g.cohort_day and r.n = g.n
)

select * from final
