/*---
materialized: temp
description: >
  Every order of each buyer in each window of vars.repurchase_windows days
  ending ds, anywhere (level all) and within one community (level
  community), with the days since the buyer's previous order in the window
  (by order_time, then the order key; NULL for the first). Computed once per
  run for repurchase, which reads it once per scope
  (docs/metrics.md#repurchase).
columns:
  level: all (the buyer's orders anywhere) or community (within one community)
  community_id: the community, for level community; NULL for level all
  window_days: the window, the days ds - window_days + 1 .. ds
  user_id: the buyer
  interval_days: days between the order and the buyer's previous one in the window (and level); NULL for the first
---*/
{%- set repurchase_windows = var.repurchase_windows | default([30, 90]) %}
with windows as (
    {%- for w in repurchase_windows %}
    select {{ w }} as window_days, date '{{ days_before(ds, w - 1) }}' as window_start
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

windowed as (
    -- every order once per window it falls in
    select w.window_days, o.user_id, o.order_key, o.order_id, o.dt, o.order_time, o.community_id
    from orders o
    join windows w on o.dt >= w.window_start
    -- a refund (negative amount) is no order (docs/metrics.md#orders)
    where o.dt <= date '{{ ds }}' and o.amount >= 0
),

orders_with_gaps as (
    -- days between consecutive orders of a buyer (by order_time, then the
    -- key), anywhere and within one community. The window functions run on
    -- windowed itself, not after a union: on a Ballista cluster, windows over
    -- the unions failed with "Expects PARTITION BY expression to be ordered"
    -- (tests/it/ballista.rs), and repurchase's median needs no window at all
    select level, community_id, window_days, user_id, interval_days
    from (
        select
            'all' as level,
            cast(null as varchar) as community_id,
            window_days,
            user_id,
            dt - lag(dt) over (
                partition by window_days, user_id
                order by order_time, order_key, order_id) as interval_days
        from windowed
    ) a
    union all
    select level, community_id, window_days, user_id, interval_days
    from (
        select
            'community' as level,
            community_id,
            window_days,
            user_id,
            dt - lag(dt) over (
                partition by window_days, community_id, user_id
                order by order_time, order_key, order_id) as interval_days
        from windowed
    ) c
),

final as (
    select * from orders_with_gaps
)

select * from final
