/*---
materialized: daily
sort_by: [user_id]
description: >
  The user value index of every scored user (docs/metrics.md#uvi_scores):
  interaction, retention and conversion coefficients over the window ending
  ds, their product uvi, its percentile and the 80/20 tier. Every weight and
  exponent is read from vars.uvi; every component is written so analysts can
  re-weight.
columns:
  user_id: the user
  dt: the run day
  likes: likes in the 90 days ending ds
  comments: comments in the 90 days ending ds
  shares: shares in the 90 days ending ds
  interaction_coef: (w_like*likes + w_comment*comments + w_share*shares) / (likes + comments + shares); 0 without any
  r7: active days in the 7 days ending ds / 7
  r30: active days in the 30 days ending ds / 30
  r90: active days in the 90 days ending ds / 90
  retention_coef: (r7^exp_r7 + r30^exp_r30 + r90^exp_r90)^exp_outer
  active_days: active days in the 90 days ending ds
  purchases: purchase events in the 90 days ending ds
  orders: orders in the 90 days ending ds (purchase events grouped by order_id, docs/metrics.md#orders)
  revenue: purchase amounts in the 90 days ending ds
  conversion_rate: purchases / active_days (purchase events, not orders)
  avg_order_value: revenue / orders (revenue per order; refunds lower revenue but are no orders); NULL without orders
  conversion_coef: conversion_rate / avg_order_value; 0 without purchases or when revenue <= 0 (refunds)
  uvi: interaction_coef * retention_coef * conversion_coef
  uvi_percentile: 100 * percent_rank() over the population by uvi ascending (ties equal)
  uvi_tier: high (percentile >= tier_high), medium (>= tier_medium), low
tests:
  - { unique: user_id }
  - { not_null: [user_id, dt, interaction_coef, retention_coef, conversion_coef, uvi, uvi_percentile, uvi_tier] }
  - { accepted_values: { column: uvi_tier, values: [high, medium, low] } }
  - { expression: "uvi_percentile between 0 and 100" }
  - { expression: "interaction_coef >= 0 and retention_coef >= 0 and conversion_coef >= 0 and uvi >= 0" }
  - { expression: "r7 between 0 and 1 and r30 between 0 and 1 and r90 between 0 and 1" }
---*/
with features as (
    select *
    from user_features
    where dt = date '{{ ds }}'
),

components as (
    select
        user_id,
        likes_90 as likes,
        comments_90 as comments,
        shares_90 as shares,
        -- interaction_coef = (w_like·likes + w_comment·comments + w_share·shares)
        --   / (likes + comments + shares), 0 when the user has none
        coalesce(
            ({{ var.uvi.w_like }} * likes_90 + {{ var.uvi.w_comment }} * comments_90 + {{ var.uvi.w_share }} * shares_90)
            / nullif(cast(likes_90 + comments_90 + shares_90 as double), 0),
            0.0) as interaction_coef,
        -- r_k = distinct active days in the k days ending D / k
        cast(active_days_7 as double) / 7 as r7,
        cast(active_days_30 as double) / 30 as r30,
        cast(active_days_90 as double) / 90 as r90,
        active_days_90 as active_days,
        purchases_90 as purchases,
        orders_90 as orders,
        revenue_90 as revenue
    from features
),

coefficients as (
    select
        *,
        -- retention_coef = (r7^0.3 + r30^0.4 + r90^0.3)^(1/3)
        power(power(r7, {{ var.uvi.exp_r7 }}) + power(r30, {{ var.uvi.exp_r30 }}) + power(r90, {{ var.uvi.exp_r90 }}),
              {{ var.uvi.exp_outer }}) as retention_coef,
        -- conversion_rate = purchases / active days
        cast(purchases as double) / nullif(active_days, 0) as conversion_rate,
        -- avg_order_value = revenue / orders: revenue per order, the purchase
        -- events sharing an order_id counted once (docs/metrics.md#uvi_scores)
        revenue / nullif(cast(orders as double), 0) as avg_order_value
    from components
),

scored as (
    select
        *,
        -- conversion_coef = conversion_rate / avg_order_value; 0 without purchases or
        -- revenue, and when refunds bring the window's revenue below 0 (no positive order value)
        case when purchases = 0 or revenue <= 0 then 0.0
             else conversion_rate / avg_order_value end as conversion_coef
    from coefficients
),

valued as (
    select
        *,
        -- uvi = interaction_coef × retention_coef × conversion_coef
        interaction_coef * retention_coef * conversion_coef as uvi
    from scored
),

ranked as (
    select
        *,
        -- ranked on uvi rounded to 12 decimals: values equal in exact arithmetic
        -- can differ in the last bit with the order of float operations, and
        -- equal uvi must get equal percentiles
        rank() over (order by round(uvi, 12)) as uvi_rank,
        count(*) over () as population
    from valued
),

final as (
    select
        user_id,
        date '{{ ds }}' as dt,
        likes,
        comments,
        shares,
        interaction_coef,
        r7,
        r30,
        r90,
        retention_coef,
        active_days,
        purchases,
        orders,
        revenue,
        conversion_rate,
        avg_order_value,
        conversion_coef,
        uvi,
        -- uvi_percentile = 100 × percent_rank() (= (rank - 1) / (n - 1), 0 for one user)
        coalesce(100.0 * (uvi_rank - 1) / nullif(population - 1, 0), 0.0) as uvi_percentile,
        -- tiers; compared in integers so a boundary tie is never lost to rounding
        case
            when population > 1 and (uvi_rank - 1) * 100 >= {{ var.uvi.tier_high }} * (population - 1) then 'high'
            when population > 1 and (uvi_rank - 1) * 100 >= {{ var.uvi.tier_medium }} * (population - 1) then 'medium'
            else 'low'
        end as uvi_tier
    from ranked
)

select * from final
