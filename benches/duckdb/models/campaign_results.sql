-- campaign_results (docs/metrics.md#campaign_results): shoal's SQL (sql/marts/campaign_results.sql), unchanged.
-- sort_by: campaign_id
with history as (
    select *
    from campaign_daily
    where dt <= date '{{ ds }}'
),

recent as (
    -- the campaigns reported: an event in the 30 days ending ds
    select distinct campaign_id
    from history
    where dt >= date '{{ days_before(ds, 29) }}'
),

users as (
    -- per campaign and user: first day with the campaign (e), first
    -- participation (p), longest streak
    select
        h.campaign_id,
        h.user_id,
        min(h.dt) as exposed_day,
        min(h.dt) filter (where h.participations > 0) as participated_day,
        max(h.max_streak) as max_streak
    from history h
    join recent r on r.campaign_id = h.campaign_id
    group by h.campaign_id, h.user_id
),

anchored as (
    -- the day each user's retention counts from: p for participants, e for the others
    select
        campaign_id,
        user_id,
        participated_day is not null as participant,
        coalesce(participated_day, exposed_day) as anchor_day
    from users
),

active as (
    select user_id, dt
    from user_daily
    where dt <= date '{{ ds }}'
),

came_back as (
    -- per user, whether they were active on anchor + n (an inner join: users
    -- never back in the 7 days have no row)
    select
        a.campaign_id,
        a.user_id
        {%- for n in [1, 3, 7] %},
        max(case when d.dt - a.anchor_day = {{ n }} then 1 else 0 end) as back_d{{ n }}
        {%- endfor %}
    from anchored a
    join active d on d.user_id = a.user_id and d.dt > a.anchor_day and d.dt - a.anchor_day <= 7
    group by a.campaign_id, a.user_id
),

returns as (
    -- per user and n in (1, 3, 7): 1 when active on anchor + n, 0 when not,
    -- NULL while anchor + n is after ds (joined on keys only: a Ballista
    -- cluster mishandles a left join carrying a range)
    select
        a.campaign_id,
        a.participant
        {%- for n in [1, 3, 7] %},
        case when date '{{ ds }}' - a.anchor_day >= {{ n }} then coalesce(b.back_d{{ n }}, 0) end as back_d{{ n }}
        {%- endfor %}
    from anchored a
    left join came_back b on b.campaign_id = a.campaign_id and b.user_id = a.user_id
),

retention as (
    select
        campaign_id
        {%- for n in [1, 3, 7] %},
        avg(cast(back_d{{ n }} as double)) filter (where participant) as retention_d{{ n }},
        avg(cast(back_d{{ n }} as double)) filter (where not participant) as control_retention_d{{ n }}
        {%- endfor %}
    from returns
    group by campaign_id
),

sales as (
    -- orders only: a refund (negative amount) is no order (docs/metrics.md#orders)
    select user_id, dt, amount
    from orders
    where dt <= date '{{ ds }}' and amount >= 0
),

participants_7d as (
    -- participants whose 7 days p .. p + 6 have passed
    select campaign_id, user_id, participated_day
    from users
    where participated_day is not null and date '{{ ds }}' - participated_day >= 6
),

bought as (
    -- their orders in those 7 days (an inner join: no row without one)
    select
        u.campaign_id,
        u.user_id,
        count(*) as orders_7d,
        sum(cast(s.amount as decimal(38, 6))) as revenue_7d
    from participants_7d u
    join sales s on s.user_id = u.user_id and s.dt >= u.participated_day and s.dt - u.participated_day <= 6
    group by u.campaign_id, u.user_id
),

converted as (
    select
        u.campaign_id,
        u.user_id,
        coalesce(b.orders_7d, 0) as orders_7d,
        coalesce(b.revenue_7d, 0) as revenue_7d
    from participants_7d u
    left join bought b on b.campaign_id = u.campaign_id and b.user_id = u.user_id
),

conversion as (
    select
        campaign_id,
        count(*) as participants_7d,
        count(*) filter (where orders_7d > 0) as buyers_7d,
        -- money is summed as decimal(38, 6): exact, so a rerun gives the same bits
        cast(sum(revenue_7d) as double) as revenue_7d
    from converted
    group by campaign_id
),

reach as (
    select
        u.campaign_id,
        count(*) as exposed_users,
        count(*) filter (where u.participated_day is not null) as participants,
        count(*) filter (where u.participated_day = u.exposed_day) as first_day_participants,
        count(*) filter (where u.participated_day is not null and u.max_streak is not null) as streak_users,
        count(*) filter (where u.participated_day is not null and u.max_streak >= 3) as streak_3,
        count(*) filter (where u.participated_day is not null and u.max_streak >= 5) as streak_5,
        count(*) filter (where u.participated_day is not null and u.max_streak >= 7) as streak_7
    from users u
    group by u.campaign_id
),

span as (
    select campaign_id, min(dt) as start_day, max(dt) as last_day
    from history
    group by campaign_id
),

final as (
    select
        date '{{ ds }}' as dt,
        r.campaign_id,
        s.start_day,
        s.last_day,
        r.exposed_users,
        r.participants,
        -- participation_rate = participants / exposed_users
        cast(r.participants as double) / r.exposed_users as participation_rate,
        r.first_day_participants,
        cast(r.first_day_participants as double) / r.exposed_users as first_day_participation_rate,
        t.retention_d1,
        t.retention_d3,
        t.retention_d7,
        t.control_retention_d1,
        t.control_retention_d3,
        t.control_retention_d7,
        coalesce(c.participants_7d, 0) as participants_7d,
        coalesce(c.buyers_7d, 0) as buyers_7d,
        -- conversion_7d = buyers_7d / participants_7d
        cast(c.buyers_7d as double) / nullif(c.participants_7d, 0) as conversion_7d,
        coalesce(c.revenue_7d, 0.0) as revenue_7d,
        c.revenue_7d / nullif(cast(c.participants_7d as double), 0) as revenue_per_participant_7d,
        r.streak_users,
        cast(r.streak_3 as double) / nullif(r.streak_users, 0) as streak_3_share,
        cast(r.streak_5 as double) / nullif(r.streak_users, 0) as streak_5_share,
        cast(r.streak_7 as double) / nullif(r.streak_users, 0) as streak_7_share
    from reach r
    join span s on s.campaign_id = r.campaign_id
    left join retention t on t.campaign_id = r.campaign_id
    left join conversion c on c.campaign_id = r.campaign_id
)

select * from final
