-- community_user_daily (docs/metrics.md#community_user_daily), every day <= ds. Differs from
-- shoal's SQL: the day's last join/quit is an arg_max in the same
-- aggregation (a quit wins a tie: it sorts after a join at the same
-- instant) instead of a distinct-on CTE joined back.
-- sort_by: dt, community_id, user_id
with counts as (
    select
        community_id,
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
        count(*) as events,
        coalesce(cast(sum(cast(amount as decimal(38, 6))) filter (where event_type = 'purchase') as double), 0.0) as revenue,
        count(distinct session_key) as sessions,
        count(distinct session_key)
            - count(distinct session_key) filter (where event_type in ({% for t in var.core_actions %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}))
            as bounced_sessions,
        count(*) filter (where event_type = 'nps' and try_cast(json_extract(properties, '$.nps_score') as double) between 0 and 10) as nps_responses,
        count(*) filter (where event_type = 'nps' and try_cast(json_extract(properties, '$.nps_score') as double) between 9 and 10) as nps_promoters,
        count(*) filter (where event_type = 'nps' and try_cast(json_extract(properties, '$.nps_score') as double) between 0 and 6) as nps_detractors,
        arg_max(event_type, (event_time, event_type = 'quit')) filter (where event_type in ('join', 'quit')) as last_membership_event,
        max(event_time) filter (where event_type in ('join', 'quit')) as last_membership_time,
        max(event_time) filter (where event_type = 'add_to_cart') as last_add_to_cart_time,
        max(event_time) filter (where event_type = 'purchase') as last_purchase_time
    from stg_events
    where event_date <= date '{{ ds }}'
    group by community_id, user_id, event_date
)
select * from counts
