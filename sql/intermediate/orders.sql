/*---
materialized: daily
rewrites_days: late_days
sort_by: [user_id]
description: >
  One row per order and order day (docs/metrics.md#orders): the purchase
  events of a user sharing an order_id, on one UTC day; a purchase without
  order_id is an order of its own. A run for ds rewrites the days
  ds - late_days .. ds, as user_daily does, so late purchase lines are folded
  into their order; a full refresh writes every day. The backbone of
  orders_daily, repurchase and the order features of user_features.
columns:
  user_id: the buyer
  order_key: order_id, or the event_id of a purchase without order_id
  order_id: the order_id of the lines; NULL for a purchase without one
  dt: the order day (UTC day of its lines)
  order_time: event_time of the first line (by event_time, then event_id)
  community_id: community of the first line (NULL is its own group)
  channel: channel of the first line (NULL is its own group)
  lines: purchase events in the order
  amount: sum of the lines' non-NULL amounts, summed exactly; 0 when none has one
  coupon: a line carries properties.coupon = true
  decision_minutes: minutes from the user's first add_to_cart of the order's day (at or before order_time) to order_time; NULL without one
tests:
  - { unique: [user_id, order_key, order_id, dt] }
  - { not_null: [user_id, order_key, dt, order_time, lines, amount] }
  - { expression: "lines >= 1" }
---*/
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
        json_get_bool(properties, 'coupon') as coupon,
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
        max((cast(o.order_time as bigint) - cast(c.event_time as bigint))) / 60000000.0 as decision_minutes
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
