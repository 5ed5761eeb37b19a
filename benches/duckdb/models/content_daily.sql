-- content_daily (docs/metrics.md#content_daily), every day <= ds: shoal's SQL
-- (count_if; a view's session purchases by a join on user and session).
-- sort_by: dt, content_id, community_id
with activity as (
    select * from stg_events where event_date <= date '{{ ds }}'
),
reactions as (
    select
        content_id, community_id, event_date,
        count_if(event_type = 'view') as views,
        count_if(event_type = 'like') as likes,
        count_if(event_type = 'comment') as comments,
        count_if(event_type = 'share') as shares,
        count_if(event_type = 'exposure') as exposures,
        count_if(event_type = 'click') as clicks,
        count(distinct user_id) as users_reached
    from activity
    where content_id is not null
    group by content_id, community_id, event_date
),
first_views as (
    -- the first view of each content in each session
    select content_id, community_id, user_id, session_key, event_date, min(event_time) as viewed_at
    from activity
    where event_type = 'view' and content_id is not null
    group by content_id, community_id, user_id, session_key, event_date
),
converted as (
    -- session_purchases: purchases in the same session after a view
    select v.content_id, v.community_id, v.event_date, count(*) as session_purchases
    from first_views v
    join (select user_id, session_key, event_time from activity where event_type = 'purchase') p
        on p.user_id = v.user_id and p.session_key = v.session_key and p.event_time > v.viewed_at
    group by v.content_id, v.community_id, v.event_date
)
select
    r.content_id,
    r.community_id,
    r.event_date as dt,
    r.views, r.likes, r.comments, r.shares,
    coalesce(c.session_purchases, 0) as session_purchases,
    r.exposures, r.clicks, r.users_reached
from reactions r
left join converted c
    on c.content_id = r.content_id
   and c.community_id is not distinct from r.community_id
   and c.event_date = r.event_date
