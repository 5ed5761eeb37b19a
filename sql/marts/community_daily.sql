/*---
materialized: daily
sort_by: [community_id]
description: >
  One row per community with at least one event on ds, counting only that
  community's events (docs/metrics.md#community_daily): activity, membership,
  interaction and the conversion rates. Ratios with a zero denominator are
  NULL.
columns:
  community_id: the community (NULL is its own group)
  dt: the run day
  dau: distinct users with an event in the community on ds
  mau: distinct users with an event in the community in the 30 days ending ds
  stickiness: dau / mau
  members: users whose latest join/quit in the community (by event_time, up to ds) is a join
  views: view events on ds
  likes: like events on ds
  comments: comment events on ds
  shares: share events on ds
  messages: message events on ds
  joins: join events on ds
  quits: quit events on ds
  interaction_rate: (likes + comments + shares) / views; NULL without views
  click_conversion: clicks / exposures; NULL without exposures
  registration_conversion: distinct signup users / distinct view users
  purchase_conversion: distinct buyers / distinct view users
  activity_conversion: distinct checkin-or-activity_join users / members
  sessions: sessions (user, session_key) with an event in the community on ds
  bounced_sessions: of those, sessions with no core action (var.core_actions) in the community
  bounce_rate: bounced_sessions / sessions
tests:
  - { unique: [community_id, dt] }
  - { not_null: [dt, dau, mau, members, views, sessions] }
  - { expression: "dau >= 1 and dau <= mau" }
  - { expression: "stickiness between 0 and 1" }
  - { expression: "bounce_rate between 0 and 1" }
  - { expression: "click_conversion >= 0 and interaction_rate >= 0" }
  - { expression: "registration_conversion >= 0 and purchase_conversion >= 0 and activity_conversion >= 0" }
---*/
with history as (
    select *
    from community_user_daily
    where dt between date '{{ days_before(ds, 29) }}' and date '{{ ds }}'
),

today as (
    select
        community_id,
        count(distinct user_id) as dau,
        sum(views) as views,
        sum(likes) as likes,
        sum(comments) as comments,
        sum(shares) as shares,
        sum(messages) as messages,
        sum(joins) as joins,
        sum(quits) as quits,
        sum(clicks) as clicks,
        sum(exposures) as exposures,
        count(distinct user_id) filter (where signups > 0) as signup_users,
        count(distinct user_id) filter (where views > 0) as view_users,
        count(distinct user_id) filter (where purchases > 0) as buyers,
        count(distinct user_id) filter (where checkins > 0 or activity_joins > 0) as activity_users
    from history
    where dt = date '{{ ds }}'
    group by community_id
),

monthly as (
    -- mau over the 30 days ending ds
    select community_id, count(distinct user_id) as mau
    from history
    group by community_id
),

latest_membership as (
    select community_id, user_id, last_membership_event
    from community_membership
),

membership as (
    select community_id, count(*) as members
    from latest_membership
    where last_membership_event = 'join'
    group by community_id
),

session_events as (
    select
        community_id,
        user_id,
        session_key,
        max(case when event_type in ({% for t in var.core_actions %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}) then 1 else 0 end) as has_core_action
    from stg_events
    where event_date = date '{{ ds }}'
    group by community_id, user_id, session_key
),

bounces as (
    select
        community_id,
        count(*) as sessions,
        sum(1 - has_core_action) as bounced_sessions
    from session_events
    group by community_id
),

final as (
    select
        t.community_id,
        date '{{ ds }}' as dt,
        t.dau,
        m.mau,
        -- stickiness = dau / mau
        cast(t.dau as double) / nullif(m.mau, 0) as stickiness,
        coalesce(s.members, 0) as members,
        t.views,
        t.likes,
        t.comments,
        t.shares,
        t.messages,
        t.joins,
        t.quits,
        -- interaction_rate = (likes + comments + shares) / views
        cast(t.likes + t.comments + t.shares as double) / nullif(t.views, 0) as interaction_rate,
        -- click_conversion = clicks / exposures
        cast(t.clicks as double) / nullif(t.exposures, 0) as click_conversion,
        -- registration_conversion = distinct signup users / distinct view users
        cast(t.signup_users as double) / nullif(t.view_users, 0) as registration_conversion,
        -- purchase_conversion = distinct buyers / distinct view users
        cast(t.buyers as double) / nullif(t.view_users, 0) as purchase_conversion,
        -- activity_conversion = distinct checkin-or-activity_join users / members
        cast(t.activity_users as double) / nullif(s.members, 0) as activity_conversion,
        coalesce(b.sessions, 0) as sessions,
        coalesce(b.bounced_sessions, 0) as bounced_sessions,
        -- bounce_rate = sessions with no core action / sessions
        cast(b.bounced_sessions as double) / nullif(b.sessions, 0) as bounce_rate
    from today t
    join monthly m on (m.community_id is not distinct from t.community_id)
    left join membership s on (s.community_id is not distinct from t.community_id)
    left join bounces b on (b.community_id is not distinct from t.community_id)
)

select * from final
