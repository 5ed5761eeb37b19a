-- checkin_curve (docs/metrics.md#checkin_curve): shoal's SQL (sql/marts/checkin_curve.sql), unchanged but for DuckDB syntax.
-- sort_by: cohort_day
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
