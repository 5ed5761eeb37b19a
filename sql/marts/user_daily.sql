/*---
materialized: daily
rewrites_days: late_days
sort_by: [user_id]
description: >
  One row per user and activity day (SPEC §5.2). A run for ds rewrites the
  days ds - late_days .. ds so late events are folded in; a full refresh
  writes every day. The incremental backbone of every 7/30/90-day feature.
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
  bounced_sessions: sessions of the day without any core action (vars.core_actions; SPEC §5.3)
  first_event_time: first event that day
  last_event_time: last event that day
tests:
  - { unique: [user_id, dt] }
  - { not_null: [user_id, dt, events, revenue, sessions] }
  - { expression: "events >= 1 and sessions >= 1" }
  - { expression: "bounced_sessions between 0 and sessions" }
  - { expression: "first_event_time <= last_event_time" }
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

sessions as (
    -- one row per session of a user and day: did it have a core action?
    -- (two group-bys instead of count(distinct) of strings per group)
    select
        user_id,
        event_date,
        session_key,
        max(case when event_type in ({% for t in var.core_actions %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}) then 1 else 0 end) as has_core_action
    from activity
    group by user_id, event_date, session_key
),

session_counts as (
    select user_id, event_date, count(*) as sessions, sum(1 - has_core_action) as bounced_sessions
    from sessions
    group by user_id, event_date
),

counts as (
    select
        user_id,
        event_date as dt,
        count(*) filter (where event_type = 'exposure') as exposures,
        count(*) filter (where event_type = 'view') as views,
        count(*) filter (where event_type = 'click') as clicks,
        count(*) filter (where event_type = 'like') as likes,
        count(*) filter (where event_type = 'comment') as comments,
        count(*) filter (where event_type = 'share') as shares,
        count(*) filter (where event_type = 'message') as messages,
        count(*) filter (where event_type = 'join') as joins,
        count(*) filter (where event_type = 'quit') as quits,
        count(*) filter (where event_type = 'checkin') as checkins,
        count(*) filter (where event_type = 'activity_join') as activity_joins,
        count(*) filter (where event_type = 'signup') as signups,
        count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
        count(*) filter (where event_type = 'purchase') as purchases,
        count(*) filter (where event_type = 'invite') as invites,
        count(*) as events,
        coalesce(sum(amount) filter (where event_type = 'purchase'), 0.0) as revenue,
        min(event_time) as first_event_time,
        max(event_time) as last_event_time
    from activity
    group by user_id, event_date
),

final as (
    select
        c.user_id,
        c.dt,
        c.exposures, c.views, c.clicks, c.likes, c.comments, c.shares, c.messages,
        c.joins, c.quits, c.checkins, c.activity_joins, c.signups, c.add_to_carts,
        c.purchases, c.invites, c.events, c.revenue,
        s.sessions,
        s.bounced_sessions,
        c.first_event_time,
        c.last_event_time
    from counts c
    join session_counts s on s.user_id = c.user_id and s.event_date = c.dt
)

select * from final
