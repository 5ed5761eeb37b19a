-- community_daily (docs/metrics.md#community_daily), dt = ds: shoal's SQL (from
-- community_user_daily and community_membership; sessions from stg_events).
-- sort_by: community_id
with history as (
    select * from community_user_daily
    where dt between date '{{ ds }}' - 29 and date '{{ ds }}'
),
today as (
    select
        community_id,
        count(distinct user_id) as dau,
        sum(views) as views, sum(likes) as likes, sum(comments) as comments, sum(shares) as shares,
        sum(messages) as messages, sum(joins) as joins, sum(quits) as quits,
        sum(clicks) as clicks, sum(exposures) as exposures,
        count(distinct user_id) filter (where signups > 0) as signup_users,
        count(distinct user_id) filter (where views > 0) as view_users,
        count(distinct user_id) filter (where purchases > 0) as buyers,
        count(distinct user_id) filter (where checkins > 0 or activity_joins > 0) as activity_users
    from history
    where dt = date '{{ ds }}'
    group by community_id
),
monthly as (
    select community_id, count(distinct user_id) as mau from history group by community_id
),
membership as (
    select community_id, count(*) as members
    from community_membership where last_membership_event = 'join'
    group by community_id
),
session_events as (
    select community_id, user_id, session_key,
           bool_or(event_type in ({% for t in var.core_actions %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %})) as has_core_action
    from stg_events
    where event_date = date '{{ ds }}'
    group by community_id, user_id, session_key
),
bounces as (
    select community_id, count(*) as sessions, count_if(not has_core_action) as bounced_sessions
    from session_events group by community_id
)
select
    t.community_id,
    date '{{ ds }}' as dt,
    t.dau,
    m.mau,
    cast(t.dau as double) / nullif(m.mau, 0) as stickiness,
    coalesce(s.members, 0) as members,
    t.views, t.likes, t.comments, t.shares, t.messages, t.joins, t.quits,
    cast(t.likes + t.comments + t.shares as double) / nullif(t.views, 0) as interaction_rate,
    cast(t.clicks as double) / nullif(t.exposures, 0) as click_conversion,
    cast(t.signup_users as double) / nullif(t.view_users, 0) as registration_conversion,
    cast(t.buyers as double) / nullif(t.view_users, 0) as purchase_conversion,
    cast(t.activity_users as double) / nullif(s.members, 0) as activity_conversion,
    coalesce(b.sessions, 0) as sessions,
    coalesce(b.bounced_sessions, 0) as bounced_sessions,
    cast(b.bounced_sessions as double) / nullif(b.sessions, 0) as bounce_rate
from today t
join monthly m on m.community_id is not distinct from t.community_id
left join membership s on s.community_id is not distinct from t.community_id
left join bounces b on b.community_id is not distinct from t.community_id
