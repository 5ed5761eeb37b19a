/*---
materialized: daily
rewrites_days: late_days
sort_by: [campaign_id, user_id]
description: >
  One row per campaign, user and activity day with an event carrying that
  campaign (properties.campaign_id; docs/metrics.md#campaign_daily). Like
  user_daily it rewrites the days ds - late_days .. ds so late events are
  folded in; the campaign history campaign_results reads.
columns:
  campaign_id: properties.campaign_id
  user_id: the user
  dt: the activity day (UTC)
  events: events carrying the campaign that day
  exposures: exposure events carrying it
  participations: activity_join and checkin events carrying it
  max_streak: the largest properties.streak of those participations; NULL without one
  first_event_time: the first event carrying it that day
tests:
  - { unique: [campaign_id, user_id, dt] }
  - { not_null: [campaign_id, user_id, dt, events, exposures, participations, first_event_time] }
  - { expression: "events >= 1 and exposures + participations <= events and max_streak >= 1" }
---*/
with tagged as (
    select
        user_id,
        event_date,
        event_type,
        event_time,
        json_get_str(properties, 'campaign_id') as campaign_id,
        json_get_float(properties, 'streak') as streak
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
