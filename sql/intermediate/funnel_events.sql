/*---
materialized: daily
rewrites_days: late_days
sort_by: [user_id]
description: >
  The events of the types any configured funnel uses
  (docs/metrics.md#funnel_events), on their activity day (UTC), with what the
  funnel models need. Like user_daily it rewrites ds - late_days .. ds; the
  funnel models read its last window-days partitions, which stg_events (late
  window only) cannot give.
columns:
  dt: the activity day (UTC)
  event_id: the event
  event_time: when it happened
  user_id: the acting user
  event_type: one of the funnel step types
  community_id: the community (NULL is its own group)
  channel: the channel
  referrer_id: the inviting user (join/signup from an invite)
tests:
  - { unique: event_id }
  - { not_null: [dt, event_id, event_time, user_id, event_type] }
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
        event_date as dt,
        event_id,
        event_time,
        user_id,
        event_type,
        community_id,
        channel,
        referrer_id
    from activity
    where event_type in (
        {%- for f in funnels %}{% for s in f.steps %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %}{% if not loop.last %}, {% endif %}{% endfor -%}
    )
)

select * from final
