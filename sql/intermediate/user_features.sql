/*---
materialized: daily
sort_by: [user_id]
description: >
  Features of every scored user on ds (docs/metrics.md#user_features): the
  users active at least once in the lookback_days window ending ds, one row
  each. Windows of k days end at ds ([ds - k + 1, ds]); all counts come from
  the daily backbones (user_daily, community_user_daily, referrals, orders), never
  from a rescan of raw events; the attributes from the users source (stg_users).
columns:
  user_id: the user
  dt: the run day
  last_active_day: the last day (<= ds) with an event
  recency_days: ds - last_active_day
  cadence_days: the user's mean gap between active days in the 90 days ending ds, (last_active_day - first active day in them) / (active_days_90 - 1); NULL with one active day
  churn_risk: 0-100, r / (r + 1) x 100 with r = recency_days / cadence_days (7 without a cadence), rounded to 0.1
  active_days_7: distinct active days in the 7 days ending ds
  active_days_30: distinct active days in the 30 days ending ds
  active_days_90: distinct active days in the 90 days ending ds
  active_days_prev_30: distinct active days in ds - 59 .. ds - 30
  events_30: events in the 30 days ending ds
  likes_90: likes in the 90 days ending ds
  comments_90: comments in the 90 days ending ds
  shares_90: shares in the 90 days ending ds
  comments_30: comments in the 30 days ending ds
  shares_30: shares in the 30 days ending ds
  interactions_30: likes + comments + shares in the 30 days ending ds
  core_actions_90: clicks, likes, comments, shares, checkins, activity_joins, add_to_carts and purchases in 90 days
  exposures_90: exposure events in 90 days
  views_90: view events in 90 days
  purchases_90: purchase events in 90 days
  revenue_90: purchase amounts in 90 days (0 when none)
  invites_30: invite events in the 30 days ending ds
  referred_joins_30: join events in the 30 days ending ds whose referrer_id is this user
  first_seen: the first active day over all of user_daily
  age_days: ds - first_seen
  is_member: the user's latest join/quit (by event_time, up to ds) in at least one community is a join
  last_add_to_cart_time_7: the latest add_to_cart in the 7 days ending ds, NULL when none
  last_purchase_time: the latest purchase up to ds, NULL when none
  orders_90: orders (docs/metrics.md#orders; refunds excluded) in the 90 days ending ds
  days_since_last_order: ds - the day of the latest order up to ds; NULL without an order
  median_order_interval_days: median of the days between consecutive orders, over all orders up to ds; NULL with fewer than 2 orders
  purchase_cycle_due: days_since_last_order >= median_order_interval_days; NULL with fewer than 2 orders
  messages_30: message events in the 30 days ending ds
  coupon_orders_90: of orders_90, orders with a coupon (orders.coupon)
  decision_minutes_90: median over the orders of 90 days of orders.decision_minutes (minutes from the day's first add_to_cart to the order); NULL without one
  campaign_days_90: days with a campaign participation (campaign_daily) in the 90 days ending ds
  gender: from the users source (stg_users); NULL when missing or without a users source
  birth_year: from stg_users
  generation: 10后, 00后, 95后, 90后, 85后, 80后 or 80前, from birth_year (stg_users)
  gen_z: born 1995-2009 (stg_users)
  region: from stg_users
  city_tier: 1 .. 5, from stg_users
  occupation: from stg_users
tests:
  - { unique: user_id }
  - { not_null: [user_id, dt, recency_days, active_days_90, first_seen, age_days, is_member, revenue_90] }
  - { expression: "active_days_7 <= active_days_30 and active_days_30 <= active_days_90" }
  - { expression: "recency_days >= 0 and recency_days <= age_days" }
  - { expression: "churn_risk between 0 and 100 and cadence_days >= 1" }
  - { not_null: churn_risk }
  - { expression: "interactions_30 >= comments_30 + shares_30" }
  - { expression: "orders_90 <= purchases_90 and (orders_90 = 0 or purchases_90 > 0)" }
  - { expression: "days_since_last_order >= 0 and median_order_interval_days >= 0" }
  - { not_null: orders_90 }
---*/
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
        -- money is summed as decimal(38, 6): exact, so a rerun gives the same bits
        coalesce(cast(sum(cast(revenue as decimal(38, 6))) filter (where dt >= date '{{ days_before(ds, 89) }}') as double), 0.0) as revenue_90,
        coalesce(sum(invites) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as invites_30,
        coalesce(sum(messages) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as messages_30,
        min(dt) as first_seen,
        min(dt) filter (where dt >= date '{{ days_before(ds, 89) }}') as first_active_90
    from history
    group by user_id
),

-- the scored population of uvi_scores and user_segments: users active in the
-- lookback_days ending ds (docs/metrics.md#user_features)
scored as (
    select
        *,
        -- recency_days = D - last active day
        date '{{ ds }}' - last_active_day as recency_days,
        -- cadence_days = (last active day - first active day in 90 days) / (active days - 1)
        case when active_days_90 >= 2
             then cast(last_active_day - first_active_90 as double) / (active_days_90 - 1)
        end as cadence_days
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
    -- a refund (negative amount) is no order (docs/metrics.md#orders)
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
    where rn in ((n + 1) / 2, (n + 2) / 2)
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
    -- the median minutes from the first add_to_cart of an order's day to the
    -- order, over the orders of 90 days: the middle one, or the mean of the two
    select user_id, avg(decision_minutes) as decision_minutes_90
    from ranked_decisions
    where rn in ((n + 1) / 2, (n + 2) / 2)
    group by user_id
),

campaigns as (
    -- days with a campaign participation (docs/metrics.md#campaign_daily) in 90 days
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
        s.recency_days,
        s.cadence_days,
        -- churn_risk = 100 r / (r + 1), r = recency in cadences (a 7-day cadence
        -- without one): 0 when active on ds, 50 one cadence overdue, 75 three
        round(100.0 * s.recency_days / (s.recency_days + coalesce(s.cadence_days, 7.0)), 1) as churn_risk,
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
        -- who the user is (the optional users source; NULL without it)
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
