-- user_features (docs/metrics.md#user_features): shoal's SQL (sql/intermediate/user_features.sql), unchanged but for DuckDB syntax.
-- sort_by: user_id
with history as (
    select *
    from user_daily
    where dt <= date '{{ ds }}'
),

windowed as (
    select
        user_id,
        max(dt) as last_active_day,
        count(*) filter (where dt >= date '{{ days_before(ds, 6) }}') as active_days_7,
        count(*) filter (where dt >= date '{{ days_before(ds, 29) }}') as active_days_30,
        count(*) filter (where dt >= date '{{ days_before(ds, 89) }}') as active_days_90,
        count(*) filter (where dt between date '{{ days_before(ds, 59) }}'
                                      and date '{{ days_before(ds, 30) }}') as active_days_prev_30,
        coalesce(sum(events) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as events_30,
        coalesce(sum(likes) filter (where dt >= date '{{ days_before(ds, 89) }}'), 0) as likes_90,
        coalesce(sum(comments) filter (where dt >= date '{{ days_before(ds, 89) }}'), 0) as comments_90,
        coalesce(sum(shares) filter (where dt >= date '{{ days_before(ds, 89) }}'), 0) as shares_90,
        coalesce(sum(likes) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as likes_30,
        coalesce(sum(comments) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as comments_30,
        coalesce(sum(shares) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as shares_30,
        coalesce(sum(clicks + likes + comments + shares + checkins + activity_joins + add_to_carts + purchases)
                 filter (where dt >= date '{{ days_before(ds, 89) }}'), 0) as core_actions_90,
        coalesce(sum(exposures) filter (where dt >= date '{{ days_before(ds, 89) }}'), 0) as exposures_90,
        coalesce(sum(views) filter (where dt >= date '{{ days_before(ds, 89) }}'), 0) as views_90,
        coalesce(sum(purchases) filter (where dt >= date '{{ days_before(ds, 89) }}'), 0) as purchases_90,
        coalesce(cast(sum(cast(revenue as decimal(38, 6))) filter (where dt >= date '{{ days_before(ds, 89) }}') as double), 0.0) as revenue_90,
        coalesce(sum(invites) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as invites_30,
        coalesce(sum(messages) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as messages_30,
        min(dt) as first_seen,
        min(dt) filter (where dt > date '{{ ds }}' - 90) as first_active_90
    from history
    group by user_id
),

-- the scored population of uvi_scores and user_segments: users active in the
-- lookback_days ending ds (docs/metrics.md#user_features)
scored as (
    select *
    from windowed
    where last_active_day >= date '{{ days_before(ds, run.lookback_days - 1) }}'
),

latest_membership as (
    select community_id, user_id, last_membership_event
    from community_membership
),

members as (
    select distinct user_id
    from latest_membership
    where last_membership_event = 'join'
),

carts as (
    select
        user_id,
        max(last_add_to_cart_time) filter (where dt >= date '{{ days_before(ds, 6) }}') as last_add_to_cart_time_7,
        max(last_purchase_time) as last_purchase_time
    from community_user_daily
    where dt <= date '{{ ds }}'
    group by user_id
),

order_history as (
    -- every order up to ds, with the days since the user's previous order
    select
        user_id,
        dt,
        dt - lag(dt) over (partition by user_id order by order_time, order_key, order_id) as interval_days,
        coupon,
        decision_minutes
    from orders
    where dt <= date '{{ ds }}' and amount >= 0
),

order_stats as (
    select
        user_id,
        count(*) filter (where dt >= date '{{ days_before(ds, 89) }}') as orders_90,
        count(*) filter (where dt >= date '{{ days_before(ds, 89) }}' and coupon) as coupon_orders_90,
        max(dt) as last_order_day
    from order_history
    group by user_id
),

ranked_intervals as (
    select
        user_id,
        interval_days,
        row_number() over (partition by user_id order by interval_days) as rn,
        count(*) over (partition by user_id) as n
    from order_history
    where interval_days is not null
),

order_medians as (
    -- a deterministic median: the middle interval, or the mean of the two
    -- middle ones (integers: exact in a double) for an even count
    select user_id, avg(cast(interval_days as double)) as median_order_interval_days
    from ranked_intervals
    where rn in ((n + 1) // 2, (n + 2) // 2)
    group by user_id
),

ranked_decisions as (
    select
        user_id,
        decision_minutes,
        row_number() over (partition by user_id order by decision_minutes) as rn,
        count(*) over (partition by user_id) as n
    from order_history
    where decision_minutes is not null and dt >= date '{{ days_before(ds, 89) }}'
),

decision_medians as (
    select user_id, avg(decision_minutes) as decision_minutes_90
    from ranked_decisions
    where rn in ((n + 1) // 2, (n + 2) // 2)
    group by user_id
),

campaigns as (
    select user_id, count(distinct dt) as campaign_days_90
    from campaign_daily
    where participations > 0 and dt between date '{{ days_before(ds, 89) }}' and date '{{ ds }}'
    group by user_id
),

referred as (
    select referrer_id as user_id, count(*) as referred_joins_30
    from referrals
    where event_type = 'join'
      and dt between date '{{ days_before(ds, 29) }}' and date '{{ ds }}'
    group by referrer_id
),

final as (
    select
        s.user_id,
        date '{{ ds }}' as dt,
        s.last_active_day,
        -- recency_days = D - last active day
        date '{{ ds }}' - s.last_active_day as recency_days,
        -- docs/metrics.md#user_features: the mean gap between active days in 90 days
        if(s.active_days_90 >= 2, (s.last_active_day - s.first_active_90) / (s.active_days_90 - 1)::double, null) as cadence_days,
        round(100.0 * (date '{{ ds }}' - s.last_active_day)
              / ((date '{{ ds }}' - s.last_active_day) + coalesce(cadence_days, 7.0)), 1) as churn_risk,
        s.active_days_7,
        s.active_days_30,
        s.active_days_90,
        s.active_days_prev_30,
        s.events_30,
        s.likes_90,
        s.comments_90,
        s.shares_90,
        s.comments_30,
        s.shares_30,
        -- interactions_30 = likes + comments + shares in 30 days
        s.likes_30 + s.comments_30 + s.shares_30 as interactions_30,
        s.core_actions_90,
        s.exposures_90,
        s.views_90,
        s.purchases_90,
        s.revenue_90,
        s.invites_30,
        coalesce(r.referred_joins_30, 0) as referred_joins_30,
        s.first_seen,
        -- age_days = D - first_seen
        date '{{ ds }}' - s.first_seen as age_days,
        m.user_id is not null as is_member,
        c.last_add_to_cart_time_7,
        c.last_purchase_time,
        coalesce(o.orders_90, 0) as orders_90,
        -- days_since_last_order = D - day of the latest order (NULL without one)
        date '{{ ds }}' - o.last_order_day as days_since_last_order,
        om.median_order_interval_days,
        -- due when the time since the last order reaches the user's median
        -- interval; NULL without a median (fewer than 2 orders)
        date '{{ ds }}' - o.last_order_day >= om.median_order_interval_days as purchase_cycle_due,
        s.messages_30,
        coalesce(o.coupon_orders_90, 0) as coupon_orders_90,
        dm.decision_minutes_90,
        coalesce(cp.campaign_days_90, 0) as campaign_days_90,
        u.gender,
        u.birth_year,
        u.generation,
        u.gen_z,
        u.region,
        u.city_tier,
        u.occupation
    from scored s
    left join members m on m.user_id = s.user_id
    left join carts c on c.user_id = s.user_id
    left join referred r on r.user_id = s.user_id
    left join order_stats o on o.user_id = s.user_id
    left join order_medians om on om.user_id = s.user_id
    left join decision_medians dm on dm.user_id = s.user_id
    left join campaigns cp on cp.user_id = s.user_id
    left join stg_users u on u.user_id = s.user_id
)

select * from final
