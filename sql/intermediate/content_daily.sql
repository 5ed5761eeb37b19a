/*---
materialized: daily
rewrites_days: late_days
sort_by: [content_id, community_id]
description: >
  Per content, community and activity day (UTC): views, reactions and the
  purchases its views led to in the same session; the history content_scores
  reads (docs/metrics.md#content_daily). Rewrites ds - late_days .. ds like
  user_daily.
columns:
  content_id: the post / article / product
  community_id: the community the events happened in (NULL is its own group)
  dt: the activity day (UTC)
  views: view events of the content
  likes: like events on it
  comments: comment events on it
  shares: share events on it
  session_purchases: purchase events (of any content) later in a session (user, session_key) after a view of this content
  exposures: exposure events of the content
  clicks: click events on it
  users_reached: distinct users with any event on the content that day in that community
tests:
  - { unique: [content_id, community_id, dt] }
  - { not_null: [content_id, dt, views, likes, comments, shares, session_purchases] }
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

reactions as (
    -- per user first, then per content: users_reached is a count of rows,
    -- not a count(distinct) that keeps a set of users per content and day
    select
        content_id,
        community_id,
        event_date,
        sum(views) as views,
        sum(likes) as likes,
        sum(comments) as comments,
        sum(shares) as shares,
        sum(exposures) as exposures,
        sum(clicks) as clicks,
        count(user_id) as users_reached
    from (
        select
            content_id,
            community_id,
            event_date,
            user_id,
            count(*) filter (where event_type = 'view') as views,
            count(*) filter (where event_type = 'like') as likes,
            count(*) filter (where event_type = 'comment') as comments,
            count(*) filter (where event_type = 'share') as shares,
            count(*) filter (where event_type = 'exposure') as exposures,
            count(*) filter (where event_type = 'click') as clicks
        from activity
        where content_id is not null
        group by content_id, community_id, event_date, user_id
    ) per_user
    group by content_id, community_id, event_date
),

first_views as (
    -- the first view of each content in each session
    select content_id, community_id, user_id, session_key, event_date, min(event_time) as viewed_at
    from activity
    where event_type = 'view' and content_id is not null
    group by content_id, community_id, user_id, session_key, event_date
),

purchases as (
    select user_id, session_key, event_time
    from activity
    where event_type = 'purchase'
),

converted as (
    -- session_purchases: purchases in the same session after a view. The purchases
    -- (few) are on the left, the side a hash join holds in memory and cannot
    -- spill; the first views of a full refresh would not fit a 2 GiB limit.
    select v.content_id, v.community_id, v.event_date, count(*) as session_purchases
    from purchases p
    join first_views v
        on p.user_id = v.user_id
       and p.session_key = v.session_key
       and p.event_time > v.viewed_at
    group by v.content_id, v.community_id, v.event_date
),

final as (
    select
        r.content_id,
        r.community_id,
        r.event_date as dt,
        r.views,
        r.likes,
        r.comments,
        r.shares,
        coalesce(c.session_purchases, 0) as session_purchases,
        r.exposures,
        r.clicks,
        r.users_reached
    -- converted (contents with a purchase) on the left: the smaller side
    from converted c
    right join reactions r
        on c.content_id = r.content_id
       and (c.community_id is not distinct from r.community_id)
       and c.event_date = r.event_date
)

select * from final
