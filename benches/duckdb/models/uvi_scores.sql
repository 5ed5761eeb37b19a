-- uvi_scores (docs/metrics.md#uvi_scores): shoal's SQL (sql/marts/uvi_scores.sql), unchanged but for DuckDB syntax.
-- sort_by: user_id
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
