-- campaign_daily (docs/metrics.md#campaign_daily): shoal's SQL (sql/intermediate/campaign_daily.sql), json_get_* as json_extract.
-- sort_by: dt, campaign_id, user_id
with tagged as (
    select
        user_id,
        event_date,
        event_type,
        event_time,
        json_extract_string(properties, '$.campaign_id') as campaign_id,
        try_cast(json_extract(properties, '$.streak') as double) as streak
    from stg_events
    where properties is not null
    {% if not run.full_refresh %}
      and event_date between date '{{ days_before(ds, run.late_days) }}' and date '{{ ds }}'
    {% else %}
      and event_date <= date '{{ ds }}'
    {% endif %}
),

final as (
    select
        campaign_id,
        user_id,
        event_date as dt,
        count(*) as events,
        count(*) filter (where event_type = 'exposure') as exposures,
        count(*) filter (where event_type in ('activity_join', 'checkin')) as participations,
        -- a streak is a whole number of days >= 1; anything else is ignored
        cast(max(streak) filter (
            where event_type in ('activity_join', 'checkin') and streak >= 1 and streak = floor(streak)
        ) as bigint) as max_streak,
        min(event_time) as first_event_time
    from tagged
    where campaign_id is not null and campaign_id <> ''
    group by campaign_id, user_id, event_date
)

select * from final
