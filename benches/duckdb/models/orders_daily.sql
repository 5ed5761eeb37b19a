-- orders_daily (docs/metrics.md#orders_daily): shoal's SQL (sql/marts/orders_daily.sql), unchanged but for DuckDB syntax.
-- sort_by: scope, value
with recent as (
    select *
    from orders
    where dt between date '{{ days_before(ds, 7) }}' and date '{{ ds }}'
),

first_orders as (
    -- the day of each buyer's first order ever (all history up to ds; a
    -- refund is no order)
    select user_id, min(dt) as first_order_day
    from orders
    where dt <= date '{{ ds }}' and amount >= 0
    group by user_id
),

scoped as (
    -- every order three times: the platform, its community, its channel
    select 'platform' as scope, cast(null as varchar) as value, user_id, dt, amount from recent
    union all
    select 'community', community_id, user_id, dt, amount from recent
    union all
    select 'channel', channel, user_id, dt, amount from recent
),

today as (
    -- orders (amount >= 0) and refunds (amount < 0) of ds; a user with only
    -- refunds has no first order and is no buyer
    select
        s.scope,
        s.value,
        -- money is summed as decimal(38, 6): exact, so a rerun gives the same bits
        cast(sum(cast(s.amount as decimal(38, 6))) filter (where s.amount >= 0) as double) as gmv,
        count(*) filter (where s.amount >= 0) as orders,
        count(distinct s.user_id) filter (where s.amount >= 0) as buyers,
        count(distinct s.user_id) filter (
            where s.amount >= 0 and f.first_order_day = date '{{ ds }}') as new_buyers,
        count(*) filter (where s.amount < 0) as refunds,
        -cast(sum(cast(s.amount as decimal(38, 6))) filter (where s.amount < 0) as double) as refund_amount
    from scoped s
    left join first_orders f on f.user_id = s.user_id
    where s.dt = date '{{ ds }}'
    group by s.scope, s.value
),

before as (
    select
        scope,
        value,
        cast(sum(cast(amount as decimal(38, 6))) as double) as gmv_prev_7d,
        count(*) as orders_prev_7d,
        cast(sum(cast(amount as decimal(38, 6))) filter (where dt = date '{{ days_before(ds, 7) }}') as double) as gmv_week_ago,
        count(*) filter (where dt = date '{{ days_before(ds, 7) }}') as orders_week_ago
    from scoped
    where dt < date '{{ ds }}' and amount >= 0
    group by scope, value
),

groups as (
    -- the platform row is always written; a community or channel when it has an order on ds
    select 'platform' as scope, cast(null as varchar) as value
    union all
    select scope, value from today where scope <> 'platform'
),

measured as (
    select
        g.scope,
        g.value,
        coalesce(t.gmv, 0.0) as gmv,
        coalesce(t.orders, 0) as orders,
        coalesce(t.buyers, 0) as buyers,
        coalesce(t.new_buyers, 0) as new_buyers,
        -- the mean of the 7 days before ds (days without orders count as 0)
        coalesce(b.gmv_prev_7d, 0.0) / 7 as gmv_prev_7d_avg,
        cast(coalesce(b.orders_prev_7d, 0) as double) / 7 as orders_prev_7d_avg,
        coalesce(b.gmv_week_ago, 0.0) as gmv_week_ago,
        coalesce(b.orders_week_ago, 0) as orders_week_ago,
        coalesce(t.refunds, 0) as refunds,
        coalesce(t.refund_amount, 0.0) as refund_amount
    from groups g
    left join today t on t.scope = g.scope and (t.value is not distinct from g.value)
    left join before b on b.scope = g.scope and (b.value is not distinct from g.value)
),

final as (
    select
        scope,
        value,
        date '{{ ds }}' as dt,
        gmv,
        orders,
        buyers,
        -- aov = gmv / orders (revenue per order, not per purchase event)
        gmv / nullif(cast(orders as double), 0) as aov,
        new_buyers,
        buyers - new_buyers as returning_buyers,
        gmv_prev_7d_avg,
        -- growth = today / mean of the 7 days before - 1
        gmv / nullif(gmv_prev_7d_avg, 0.0) - 1 as gmv_growth_7d,
        orders_prev_7d_avg,
        orders / nullif(orders_prev_7d_avg, 0.0) - 1 as orders_growth_7d,
        gmv_week_ago,
        -- week over week = today / the same weekday a week before - 1
        gmv / nullif(gmv_week_ago, 0.0) - 1 as gmv_growth_wow,
        orders_week_ago,
        cast(orders as double) / nullif(orders_week_ago, 0) - 1 as orders_growth_wow,
        refunds,
        refund_amount,
        -- net = what the orders brought in minus what was refunded
        gmv - refund_amount as net_gmv
    from measured
)

select * from final
