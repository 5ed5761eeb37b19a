/*---
materialized: table
sort_by: [cohort_day]
description: >
  Check-in habit curve (docs/metrics.md#checkin_curve): users grouped by the
  day of their first checkin (c); the share of them checking in again on each
  of c+1 .. c+6 and the mean length of the streak of consecutive checkin days
  starting at c. Days after the run day are not observed yet: their share is
  NULL (and a streak still running on the run day is counted up to it).
columns:
  cohort_day: the day of the users' first checkin
  users: users whose first checkin is on cohort_day
  share_day_1: share of them with a checkin on cohort_day + 1 (NULL when that day is after ds)
  share_day_2: same for cohort_day + 2
  share_day_3: same for cohort_day + 3
  share_day_4: same for cohort_day + 4
  share_day_5: same for cohort_day + 5
  share_day_6: same for cohort_day + 6
  mean_streak_days: mean length in days of the run of consecutive checkin days starting at cohort_day (>= 1)
tests:
  - { unique: cohort_day }
  - { not_null: [cohort_day, users, mean_streak_days] }
  - { expression: "users >= 1 and mean_streak_days >= 1" }
  - { expression: "share_day_1 between 0 and 1 and share_day_6 between 0 and 1" }
---*/
with checkin_days as (
    select
        user_id,
        dt,
        -- day number, and islands of consecutive days (day number - row number)
        (dt - date '1970-01-01')
            - row_number() over (partition by user_id order by dt) as island
    from user_daily
    where checkins > 0 and dt <= date '{{ ds }}'
),

firsts as (
    select user_id, min(dt) as cohort_day, min(island) as first_island
    from checkin_days
    group by user_id
),

per_user as (
    select
        f.user_id,
        f.cohort_day,
        -- streak: consecutive checkin days starting at the first checkin
        count(*) filter (where d.island = f.first_island) as streak_days,
        {%- for k in range(1, 7) %}
        max(case when d.dt = f.cohort_day + {{ k }} then 1 else 0 end) as on_day_{{ k }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from firsts f
    join checkin_days d on d.user_id = f.user_id
    group by f.user_id, f.cohort_day
),

final as (
    select
        cohort_day,
        count(*) as users,
        {%- for k in range(1, 7) %}
        -- share with a checkin on day c + {{ k }}
        case when cohort_day + {{ k }} <= date '{{ ds }}'
             then cast(sum(on_day_{{ k }}) as double) / count(*) end as share_day_{{ k }},
        {%- endfor %}
        avg(cast(streak_days as double)) as mean_streak_days
    from per_user
    group by cohort_day
)

select * from final
