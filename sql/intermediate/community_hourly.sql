/*---
materialized: daily
rewrites_days: late_days
sort_by: [community_id, event_type, hour]
description: >
  Events per community, event type and UTC hour of each activity day: the
  history event_anomalies compares the run day with
  (docs/metrics.md#community_hourly). Like user_daily it rewrites ds -
  late_days .. ds so late events are folded in.
columns:
  community_id: the community (NULL is its own group)
  event_type: the event type
  hour: hour of day 0-23 (UTC)
  dt: the activity day (UTC)
  events: valid events in that hour
tests:
  - { unique: [community_id, event_type, hour, dt] }
  - { not_null: [event_type, hour, dt, events] }
  - { expression: "hour between 0 and 23 and events >= 1" }
---*/
with activity as (
    select *
    from stg_events
    {% if not run.full_refresh %}
    where event_date between date '{{ days_before(ds, run.late_days) }}' and date '{{ ds }}'
    {% else %}
    where event_date <= date '{{ ds }}'
    {% endif %}
),

final as (
    select
        community_id,
        event_type,
        cast(date_part('hour', event_time) as int) as hour,
        event_date as dt,
        count(*) as events
    from activity
    group by community_id, event_type, cast(date_part('hour', event_time) as int), event_date
)

select * from final
