-- activation_daily (docs/metrics.md#activation_daily), dt = ds. Written from the definition, not from
-- shoal's SQL: each user's milestones are found once as days (first active
-- day, first day with a core action -- the user_daily counts of the
-- vars.core_actions types, where shoal uses sessions > bounced_sessions --
-- and first purchase day); "active in days 7-30" is a semi-join; a window's
-- count is NULL until c + k <= ds.
-- sort_by: cohort_day
with days as (
    select
        user_id,
        dt,
        ({% for t in var.core_actions %}{{ t }}s{% if not loop.last %} + {% endif %}{% endfor %}) > 0 as core,
        purchases > 0 as bought
    from user_daily
    where dt <= date '{{ ds }}'
),
milestones as (
    select
        user_id,
        min(dt) as c,
        min(dt) filter (where core) as first_core,
        min(dt) filter (where bought) as first_purchase
    from days
    group by user_id
),
came_back as (
    select distinct m.user_id
    from milestones m
    join days d on d.user_id = m.user_id
    where d.dt between m.c + 7 and m.c + 30
),
per_cohort as (
    select
        c,
        count(*) as n,
        count(*) filter (where first_core <= c + 1) as core1,
        count(*) filter (where first_purchase <= c + 7) as buy7,
        count(*) filter (where first_purchase <= c + 30) as buy30,
        count(b.user_id) as back
    from milestones m
    left join came_back b using (user_id)
    group by c
),
grid as (
    select cast(g as date) as cohort_day
    from generate_series(date '{{ ds }}' - {{ run.lookback_days }}, date '{{ ds }}' - 1, interval 1 day) t(g)
),
counted as (
    select
        g.cohort_day,
        date '{{ ds }}' - g.cohort_day as age,
        coalesce(p.n, 0) as n,
        coalesce(p.core1, 0) as core1,
        coalesce(p.buy7, 0) as buy7,
        coalesce(p.buy30, 0) as buy30,
        coalesce(p.back, 0) as back
    from grid g
    left join per_cohort p on p.c = g.cohort_day
)
select
    date '{{ ds }}' as dt,
    cohort_day,
    cast(age as bigint) as age_days,
    n as new_users,
    core1 as core_users_d1,
    core1 / nullif(n, 0) as core_rate_d1,
    if(age >= 7, buy7, null) as buyers_d7,
    if(age >= 7, buy7 / nullif(n, 0), null) as first_purchase_rate_d7,
    if(age >= 30, buy30, null) as buyers_d30,
    if(age >= 30, buy30 / nullif(n, 0), null) as first_purchase_rate_d30,
    if(age >= 30, back, null) as active_d7_d30,
    if(age >= 30, back / nullif(n, 0), null) as active_rate_d7_d30
from counted
