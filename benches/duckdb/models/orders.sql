-- orders (docs/metrics.md#orders), every day <= ds: shoal's SQL (sql/intermediate/orders.sql), unchanged but for DuckDB syntax.
-- sort_by: dt, user_id
with purchases as (
    select
        user_id,
        -- an order is (user, order_id); a purchase without one is its own
        -- order, keyed by its event_id (docs/metrics.md#orders)
        coalesce(order_id, event_id) as order_key,
        order_id,
        event_date,
        event_id,
        event_time,
        community_id,
        channel,
        amount,
        try_cast(json_extract(properties, '$.coupon') as boolean) as coupon,
        row_number() over (
            partition by user_id, coalesce(order_id, event_id), order_id, event_date
            order by event_time, event_id) as line_no
    from stg_events
    where event_type = 'purchase'
    {% if not run.full_refresh %}
      and event_date between date '{{ days_before(ds, run.late_days) }}' and date '{{ ds }}'
    {% else %}
      and event_date <= date '{{ ds }}'
    {% endif %}
),

orders_of_day as (
    select
        user_id,
        order_key,
        order_id,
        event_date as dt,
        min(event_time) as order_time,
        -- the first line's community and channel (line_no 1: by event_time, then event_id)
        max(community_id) filter (where line_no = 1) as community_id,
        max(channel) filter (where line_no = 1) as channel,
        count(*) as lines,
        -- money is summed as decimal(38, 6): exact, so a rerun gives the same
        -- bits; an order without any amount is worth 0 (as user_daily's revenue)
        coalesce(cast(sum(cast(amount as decimal(38, 6))) as double), 0.0) as amount,
        -- a coupon order: a line carries properties.coupon = true
        coalesce(bool_or(coupon), false) as coupon
    from purchases
    group by user_id, order_key, order_id, event_date
),

carts as (
    -- add_to_carts of the same days (a cart counts for an order of its own day only)
    select user_id, event_date, event_time
    from stg_events
    where event_type = 'add_to_cart'
    {% if not run.full_refresh %}
      and event_date between date '{{ days_before(ds, run.late_days) }}' and date '{{ ds }}'
    {% else %}
      and event_date <= date '{{ ds }}'
    {% endif %}
),

decided as (
    -- minutes from the user's first add_to_cart of the order's day, at or
    -- before the order, to the order (an inner join: no row without a cart)
    select
        o.user_id,
        o.order_key,
        o.order_id,
        o.dt,
        max((epoch_us(o.order_time) - epoch_us(c.event_time))) / 60000000.0 as decision_minutes
    from orders_of_day o
    join carts c on c.user_id = o.user_id and c.event_date = o.dt and c.event_time <= o.order_time
    group by o.user_id, o.order_key, o.order_id, o.dt
),

final as (
    -- (joined on keys only: a Ballista cluster mishandles a left join carrying a range)
    select o.*, d.decision_minutes
    from orders_of_day o
    left join decided d
        on d.user_id = o.user_id and d.order_key = o.order_key
       and (d.order_id is not distinct from o.order_id) and d.dt = o.dt
)

select * from final
