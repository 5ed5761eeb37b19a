-- user_daily (docs/metrics.md#user_daily), every day <= ds: shoal's SQL, count_if for the
-- filtered counts.
-- sort_by: dt, user_id
select
    user_id,
    event_date as dt,
    count_if(event_type = 'exposure') as exposures,
    count_if(event_type = 'view') as views,
    count_if(event_type = 'click') as clicks,
    count_if(event_type = 'like') as likes,
    count_if(event_type = 'comment') as comments,
    count_if(event_type = 'share') as shares,
    count_if(event_type = 'message') as messages,
    count_if(event_type = 'join') as joins,
    count_if(event_type = 'quit') as quits,
    count_if(event_type = 'checkin') as checkins,
    count_if(event_type = 'activity_join') as activity_joins,
    count_if(event_type = 'signup') as signups,
    count_if(event_type = 'add_to_cart') as add_to_carts,
    count_if(event_type = 'purchase') as purchases,
    count_if(event_type = 'invite') as invites,
    count(*) as events,
    coalesce(cast(sum(cast(amount as decimal(38, 6))) filter (where event_type = 'purchase') as double), 0.0) as revenue,
    count(distinct session_key) as sessions,
    count(distinct session_key)
        - count(distinct session_key) filter (where event_type in ({% for t in var.core_actions %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}))
        as bounced_sessions,
    min(event_time) as first_event_time,
    max(event_time) as last_event_time,
    first(channel order by event_time, event_id) as first_channel
from stg_events
where event_date <= date '{{ ds }}'
group by user_id, event_date
