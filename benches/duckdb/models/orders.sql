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

final as (
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
)

select * from final
