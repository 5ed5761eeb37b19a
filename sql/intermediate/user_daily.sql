/*---
materialized: daily
rewrites_days: late_days
sort_by: [user_id]
description: >
  One row per user and activity day (docs/metrics.md#user_daily). A run for ds
  rewrites the days ds - late_days .. ds so late events are folded in; a full
  refresh writes every day. The incremental backbone of every 7/30/90-day
  feature.
columns:
  user_id: the user
  dt: the activity day (UTC)
  exposures: exposure events that day
  views: view events
  clicks: click events
  likes: like events
  comments: comment events
  shares: share events
  messages: message events
  joins: join events
  quits: quit events
  checkins: checkin events
  activity_joins: activity_join events
  signups: signup events
  add_to_carts: add_to_cart events
  purchases: purchase events
  invites: invite events
  events: all valid events that day, unknown types included
  revenue: sum of non-null purchase amounts; 0 when there are none
  sessions: distinct sessions (session_id, or derived with a 30-minute gap)
  bounced_sessions: sessions of the day without any core action (vars.core_actions, as in docs/metrics.md#community_daily)
  first_event_time: first event that day
  last_event_time: last event that day
  first_channel: channel of the day's first event (by event_time, then event_id); NULL when that event has none
tests:
  - { unique: [user_id, dt] }
  - { not_null: [user_id, dt, events, revenue, sessions] }
  - { expression: "events >= 1 and sessions >= 1" }
  - { expression: "bounced_sessions between 0 and sessions" }
  - { expression: "first_event_time <= last_event_time" }
---*/
{%- set event_counts = [
    ('exposures', 'exposure'), ('views', 'view'), ('clicks', 'click'), ('likes', 'like'),
    ('comments', 'comment'), ('shares', 'share'), ('messages', 'message'), ('joins', 'join'),
    ('quits', 'quit'), ('checkins', 'checkin'), ('activity_joins', 'activity_join'),
    ('signups', 'signup'), ('add_to_carts', 'add_to_cart'), ('purchases', 'purchase'),
    ('invites', 'invite')] %}
with activity as (
    select *
    from stg_events
    {% if not run.full_refresh %}
    where event_date between date '{{ days_before(ds, run.late_days) }}' and date '{{ ds }}'
    {% else %}
    where event_date <= date '{{ ds }}'
    {% endif %}
),

per_session as (
    -- Everything is counted per session first, then per user and day: two
    -- aggregations in a row, no join between two big results (a hash join
    -- holds one side in memory and cannot spill it). Counting sessions this
    -- way also avoids count(distinct) of strings per group.
    select
        user_id,
        event_date,
        max(case when event_type in ({% for t in var.core_actions %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}) then 1 else 0 end) as has_core_action,
        {%- for t in event_counts %}
        count(*) filter (where event_type = '{{ t[1] }}') as {{ t[0] }},
        {%- endfor %}
        count(*) as events,
        -- money is summed as decimal(38, 6): exact, so a rerun gives the same bits
        cast(sum(cast(amount as decimal(38, 6))) filter (where event_type = 'purchase') as double) as revenue,
        min(event_time) as first_event_time,
        max(event_time) as last_event_time,
        first_value(event_id order by event_time, event_id) as first_event_id,
        first_value(channel order by event_time, event_id) as first_channel
    from activity
    group by user_id, event_date, session_key
),

final as (
    select
        user_id,
        event_date as dt,
        {%- for t in event_counts %}
        sum({{ t[0] }}) as {{ t[0] }},
        {%- endfor %}
        sum(events) as events,
        -- revenue is the sum of non-null purchase amounts, 0 when none
        coalesce(cast(sum(cast(revenue as decimal(38, 6))) as double), 0.0) as revenue,
        count(*) as sessions,
        sum(1 - has_core_action) as bounced_sessions,
        min(first_event_time) as first_event_time,
        max(last_event_time) as last_event_time,
        -- the first session's first event (by event_time, then event_id)
        first_value(first_channel order by first_event_time, first_event_id) as first_channel
    from per_session
    group by user_id, event_date
)

select * from final
