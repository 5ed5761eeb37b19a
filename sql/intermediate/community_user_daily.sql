/*---
materialized: daily
rewrites_days: late_days
sort_by: [community_id, user_id]
description: >
  One row per community, user and activity day (UTC), counting only that
  community's events (docs/metrics.md#community_user_daily). Like user_daily
  it rewrites the days ds - late_days .. ds so late events are folded in; it
  is the history that community_daily (mau, members) and the user features
  read, because stg_events only holds the late window. Events with a NULL
  community_id form their own group (community_id NULL).
columns:
  community_id: the community (NULL is its own group)
  user_id: the user
  dt: the activity day (UTC)
  exposures: exposure events that day in that community
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
  events: all valid events that day in that community
  revenue: sum of non-null purchase amounts; 0 when there are none
  sessions: distinct sessions with an event in this community
  bounced_sessions: those sessions without a core action in this community (vars.core_actions)
  nps_responses: nps events with properties.nps_score in 0..10
  nps_promoters: of those, scores 9-10
  nps_detractors: of those, scores 0-6
  last_membership_event: "'join' or 'quit': the latest of the day's join/quit events by event_time (a quit wins a tie); NULL when there was none"
  last_membership_time: event_time of that event
  last_add_to_cart_time: latest add_to_cart that day, NULL when none
  last_purchase_time: latest purchase that day, NULL when none
tests:
  - { unique: [community_id, user_id, dt] }
  - { not_null: [user_id, dt, events, revenue] }
  - { accepted_values: { column: last_membership_event, values: [join, quit] } }
  - { expression: "events >= 1" }
  - { expression: "(last_membership_event is null) = (joins + quits = 0)" }
---*/
{%- set event_counts = [
    ('exposures', 'exposure'), ('views', 'view'), ('clicks', 'click'), ('likes', 'like'),
    ('comments', 'comment'), ('shares', 'share'), ('messages', 'message'), ('joins', 'join'),
    ('quits', 'quit'), ('checkins', 'checkin'), ('activity_joins', 'activity_join'),
    ('signups', 'signup'), ('add_to_carts', 'add_to_cart'), ('purchases', 'purchase')] %}
with activity as (
    select *
    from stg_events
    {% if not run.full_refresh %}
    where event_date between date '{{ days_before(ds, run.late_days) }}' and date '{{ ds }}'
    {% else %}
    where event_date <= date '{{ ds }}'
    {% endif %}
),

-- the day's latest join/quit per community and user; on an equal
-- event_time a quit wins (conservative: not counted as a member)
membership as (
    select distinct on (community_id, user_id, event_date)
        community_id,
        user_id,
        event_date,
        event_type as last_membership_event,
        event_time as last_membership_time
    from activity
    where event_type in ('join', 'quit')
    order by community_id, user_id, event_date, event_time desc,
             case when event_type = 'quit' then 0 else 1 end
),

per_session as (
    -- Everything is counted per session first, then per community, user and
    -- day: two aggregations in a row, no join between two big results (a hash
    -- join holds one side in memory and cannot spill it; a 100 M-event full
    -- refresh ran out of a 2 GiB limit that way). Counting sessions this way
    -- also avoids count(distinct), whose per-group string sets cost gigabytes.
    select
        community_id,
        user_id,
        event_date,
        max(case when event_type in ({% for t in var.core_actions %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}) then 1 else 0 end) as has_core_action,
        {%- for t in event_counts %}
        count(*) filter (where event_type = '{{ t[1] }}') as {{ t[0] }},
        {%- endfor %}
        count(*) as events,
        -- money is summed as decimal(38, 6): exact, so a rerun gives the same bits
        cast(sum(cast(amount as decimal(38, 6))) filter (where event_type = 'purchase') as double) as revenue,
        -- nps answers carry properties.nps_score 0..10 (docs/metrics.md#community_health_weekly)
        count(*) filter (where event_type = 'nps' and json_get_float(properties, 'nps_score') between 0 and 10) as nps_responses,
        count(*) filter (where event_type = 'nps' and json_get_float(properties, 'nps_score') between 9 and 10) as nps_promoters,
        count(*) filter (where event_type = 'nps' and json_get_float(properties, 'nps_score') between 0 and 6) as nps_detractors,
        max(event_time) filter (where event_type = 'add_to_cart') as last_add_to_cart_time,
        max(event_time) filter (where event_type = 'purchase') as last_purchase_time
    from activity
    group by community_id, user_id, event_date, session_key
),

counts as (
    select
        community_id,
        user_id,
        event_date,
        {%- for t in event_counts %}
        sum({{ t[0] }}) as {{ t[0] }},
        {%- endfor %}
        sum(events) as events,
        -- revenue is the sum of non-null purchase amounts, 0 when none
        coalesce(cast(sum(cast(revenue as decimal(38, 6))) as double), 0.0) as revenue,
        count(*) as sessions,
        sum(1 - has_core_action) as bounced_sessions,
        sum(nps_responses) as nps_responses,
        sum(nps_promoters) as nps_promoters,
        sum(nps_detractors) as nps_detractors,
        max(last_add_to_cart_time) as last_add_to_cart_time,
        max(last_purchase_time) as last_purchase_time
    from per_session
    group by community_id, user_id, event_date
),

final as (
    select
        c.community_id,
        c.user_id,
        c.event_date as dt,
        c.exposures,
        c.views,
        c.clicks,
        c.likes,
        c.comments,
        c.shares,
        c.messages,
        c.joins,
        c.quits,
        c.checkins,
        c.activity_joins,
        c.signups,
        c.add_to_carts,
        c.purchases,
        c.events,
        c.revenue,
        c.sessions,
        c.bounced_sessions,
        c.nps_responses,
        c.nps_promoters,
        c.nps_detractors,
        m.last_membership_event,
        m.last_membership_time,
        c.last_add_to_cart_time,
        c.last_purchase_time
    -- membership (join/quit events only: few) is on the left, the side a
    -- hash join keeps in memory
    from membership m
    right join counts c
        on (m.community_id is not distinct from c.community_id)
       and m.user_id = c.user_id
       and m.event_date = c.event_date
)

select * from final
