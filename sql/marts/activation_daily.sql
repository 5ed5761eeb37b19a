/*---
materialized: daily
sort_by: [cohort_day]
description: >
  Activation of the daily cohorts of new users
  (docs/metrics.md#activation_daily). A user's cohort day c is their first
  active day over all of user_daily (up to ds); a signup event is activity
  like any other and does not define a cohort of its own. One row per
  cohort day c in [ds - lookback_days, ds - 1], empty cohorts included. A
  figure whose window [c, c + k] ends after ds is NULL: each number appears
  once its window has closed and does not grow afterwards.
columns:
  dt: the run day
  cohort_day: c, the cohort's first active day
  age_days: ds - cohort_day (1 .. lookback_days)
  new_users: users whose first active day is cohort_day
  core_users_d1: new users with a core action (vars.core_actions) on day 0 or 1 (c or c + 1)
  core_rate_d1: core_users_d1 / new_users; NULL for an empty cohort
  buyers_d7: new users with a purchase on days 0-7 (their first purchase, nothing precedes day 0); NULL while c + 7 > ds
  first_purchase_rate_d7: buyers_d7 / new_users; NULL while c + 7 > ds or for an empty cohort
  buyers_d30: new users with a purchase on days 0-30; NULL while c + 30 > ds
  first_purchase_rate_d30: buyers_d30 / new_users; NULL while c + 30 > ds or for an empty cohort
  active_d7_d30: new users active on at least one day of days 7-30 ([c + 7, c + 30]); NULL while c + 30 > ds
  active_rate_d7_d30: active_d7_d30 / new_users; NULL while c + 30 > ds or for an empty cohort
tests:
  - { unique: cohort_day }
  - { not_null: [dt, cohort_day, age_days, new_users, core_users_d1] }
  - { expression: "age_days = dt - cohort_day and age_days >= 1" }
  - { expression: "core_users_d1 <= new_users and buyers_d7 <= buyers_d30 and buyers_d30 <= new_users and active_d7_d30 <= new_users" }
  - { expression: "(buyers_d7 is null) = (age_days < 7) and (buyers_d30 is null) = (age_days < 30) and (active_d7_d30 is null) = (age_days < 30)" }
  - { expression: "core_rate_d1 between 0 and 1 and first_purchase_rate_d7 between 0 and 1 and first_purchase_rate_d30 between 0 and 1 and active_rate_d7_d30 between 0 and 1" }
---*/
with activity as (
    select
        user_id,
        dt,
        -- a core action that day: bounced_sessions counts the sessions
        -- without one (vars.core_actions, docs/metrics.md#user_daily), so
        -- the day had one exactly when not every session bounced
        bounced_sessions < sessions as has_core_action,
        purchases > 0 as has_purchase
    from user_daily
    where dt <= date '{{ ds }}'
),

first_days as (
    select user_id, min(dt) as cohort_day
    from activity
    group by user_id
),

-- the cohorts of the lookback: every cohort day c in [ds - lookback_days, ds - 1]
grid as (
    select cohort_day
    from (values
    {%- for i in range(1, run.lookback_days + 1) %}
        (date '{{ days_before(ds, i) }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as c(cohort_day)
),

-- per cohort user: what they did in each window (day d = dt - c)
per_user as (
    select
        f.cohort_day,
        f.user_id,
        max(case when a.has_core_action and a.dt - f.cohort_day <= 1 then 1 else 0 end) as core_d1,
        max(case when a.has_purchase and a.dt - f.cohort_day <= 7 then 1 else 0 end) as bought_d7,
        max(case when a.has_purchase and a.dt - f.cohort_day <= 30 then 1 else 0 end) as bought_d30,
        max(case when a.dt - f.cohort_day between 7 and 30 then 1 else 0 end) as active_d7_d30
    from first_days f
    join activity a on a.user_id = f.user_id
    where f.cohort_day >= date '{{ days_before(ds, run.lookback_days) }}'
      and f.cohort_day < date '{{ ds }}'
    group by f.cohort_day, f.user_id
),

cohorts as (
    select
        cohort_day,
        count(*) as new_users,
        sum(core_d1) as core_users_d1,
        sum(bought_d7) as buyers_d7,
        sum(bought_d30) as buyers_d30,
        sum(active_d7_d30) as active_d7_d30
    from per_user
    group by cohort_day
),

-- a window [c, c + k] is closed when c + k <= ds; before that its count is NULL
closed as (
    select
        g.cohort_day,
        date '{{ ds }}' - g.cohort_day as age_days,
        coalesce(c.new_users, 0) as new_users,
        coalesce(c.core_users_d1, 0) as core_users_d1,
        case when g.cohort_day + 7 <= date '{{ ds }}' then coalesce(c.buyers_d7, 0) end as buyers_d7,
        case when g.cohort_day + 30 <= date '{{ ds }}' then coalesce(c.buyers_d30, 0) end as buyers_d30,
        case when g.cohort_day + 30 <= date '{{ ds }}' then coalesce(c.active_d7_d30, 0) end as active_d7_d30
    from grid g
    left join cohorts c on c.cohort_day = g.cohort_day
),

final as (
    select
        date '{{ ds }}' as dt,
        cohort_day,
        age_days,
        new_users,
        core_users_d1,
        -- core_rate_d1 = core_users_d1 / new_users
        cast(core_users_d1 as double) / nullif(new_users, 0) as core_rate_d1,
        buyers_d7,
        -- first_purchase_rate_d7 = buyers_d7 / new_users (NULL stays NULL)
        cast(buyers_d7 as double) / nullif(new_users, 0) as first_purchase_rate_d7,
        buyers_d30,
        -- first_purchase_rate_d30 = buyers_d30 / new_users
        cast(buyers_d30 as double) / nullif(new_users, 0) as first_purchase_rate_d30,
        active_d7_d30,
        -- active_rate_d7_d30 = active_d7_d30 / new_users
        cast(active_d7_d30 as double) / nullif(new_users, 0) as active_rate_d7_d30
    from closed
)

select * from final
