-- coupon_effect (docs/metrics.md#coupon_effect): shoal's SQL (sql/marts/coupon_effect.sql), unchanged.
-- sort_by: scope, community_id
with sales as (
    -- orders only: a refund (negative amount) is no order (docs/metrics.md#orders)
    select user_id, order_key, order_id, dt, order_time, community_id, amount, coupon is true as coupon
    from orders
    where dt <= date '{{ ds }}' and dt >= date '{{ days_before(ds, 59) }}' and amount >= 0
),

later as (
    -- the orders of ds - 59 .. ds - 30 the buyer followed with another order
    -- (a later order_time, or the same time and a greater key) within 30
    -- days; an inner join, so an order not followed has no row
    select distinct a.user_id, a.order_key, a.order_id, a.dt
    from sales a
    join sales b
        on b.user_id = a.user_id
       and b.dt - a.dt between 0 and 30
       and (b.order_time > a.order_time
            or (b.order_time = a.order_time and (b.order_key > a.order_key
                or (b.order_key = a.order_key and coalesce(b.order_id, '') > coalesce(a.order_id, '')))))
    where a.dt <= date '{{ days_before(ds, 30) }}'
),

marked as (
    -- repurchased: 1 or 0 for the orders of ds - 59 .. ds - 30, NULL for the
    -- later ones (joined on keys only: a Ballista cluster mishandles a left
    -- join carrying a range)
    select
        s.*,
        case
            when s.dt > date '{{ days_before(ds, 30) }}' then null
            when f.user_id is not null then 1
            else 0
        end as repurchased
    from sales s
    left join later f
        on f.user_id = s.user_id and f.order_key = s.order_key
       and (f.order_id is not distinct from s.order_id) and f.dt = s.dt
),

flagged as (
    -- recent: in the 30 days ending ds (redemption and AOV); repurchased is
    -- set for the orders of ds - 59 .. ds - 30 only
    -- (true or NULL, never false: flags that are NULL-able in the plan's
    -- schema too, which DataFusion 55's aggregate needs when it pulls the
    -- repeated filter expressions out)
    select
        community_id,
        case when dt >= date '{{ days_before(ds, 29) }}' then true end as recent,
        amount,
        case when coupon then true end as coupon,
        case when not coupon then true end as full_price,
        repurchased
    from marked
),

{%- set measures %}
        count(*) filter (where recent) as orders,
        count(*) filter (where recent and coupon) as coupon_orders,
        cast(sum(cast(amount as decimal(38, 6))) filter (where recent and coupon) as double) as coupon_amount,
        cast(sum(cast(amount as decimal(38, 6))) filter (where recent and full_price) as double) as full_price_amount,
        count(*) filter (where repurchased is not null and coupon) as base_coupon_orders,
        count(*) filter (where repurchased = 1 and coupon) as repurchased_coupon,
        count(*) filter (where repurchased is not null and full_price) as base_full_price_orders,
        count(*) filter (where repurchased = 1 and full_price) as repurchased_full_price
{%- endset %}

counted as (
    -- the platform and each community, aggregated apart and then stacked
    -- (money is summed as decimal(38, 6): exact, so a rerun gives the same bits)
    select 'platform' as scope, cast(null as varchar) as community_id, {{ measures }}
    from flagged
    union all
    select 'community', community_id, {{ measures }}
    from flagged
    group by community_id
),

final as (
    select
        scope,
        community_id,
        date '{{ ds }}' as dt,
        orders,
        coupon_orders,
        -- redemption_share = coupon_orders / orders
        cast(coupon_orders as double) / nullif(orders, 0) as redemption_share,
        -- aov = amount / orders, with and without a coupon
        coupon_amount / nullif(cast(coupon_orders as double), 0) as aov_coupon,
        full_price_amount / nullif(cast(orders - coupon_orders as double), 0) as aov_full_price,
        base_coupon_orders,
        cast(repurchased_coupon as double) / nullif(base_coupon_orders, 0) as repurchase_after_coupon,
        base_full_price_orders,
        cast(repurchased_full_price as double) / nullif(base_full_price_orders, 0) as repurchase_after_full_price
    from counted
)

select * from final
