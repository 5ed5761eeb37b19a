/*---
materialized: daily
sort_by: [window_days, scope, value]
description: >
  Repurchase on ds (docs/metrics.md#repurchase), per window of
  vars.repurchase_windows days ending ds (shipped: 30 and 90) and per scope
  and value: the platform (value NULL), every community, and the buyers'
  uvi_tier, rfm_segment and activity_layer on ds. Repurchase rate = buyers
  with at least 2 orders in the window / buyers in the window; the median
  interval between a buyer's consecutive orders in the window. One row per
  group with a buyer in the window.
columns:
  window_days: the window, the days ds - window_days + 1 .. ds
  scope: platform, community, uvi_tier, rfm_segment or activity_layer
  value: the community_id, tier, segment or layer (NULL for platform, the NULL community, and buyers not scored on ds)
  dt: the run day
  buyers: users with an order in the window (in the community, for scope community)
  repeat_buyers: of those, users with at least 2 orders in the window
  repurchase_rate: repeat_buyers / buyers
  orders: orders of those buyers in the window
  intervals: consecutive order pairs in the window (orders - buyers)
  median_interval_days: median of the days between consecutive orders of a buyer, over those pairs; NULL without any
tests:
  - { unique: [window_days, scope, value] }
  - { not_null: [dt, window_days, scope, buyers, repeat_buyers, repurchase_rate, orders, intervals] }
  - { accepted_values: { column: scope, values: [platform, community, uvi_tier, rfm_segment, activity_layer] } }
  - { expression: "repurchase_rate between 0 and 1 and repeat_buyers <= buyers and buyers <= orders" }
  - { expression: "intervals = orders - buyers and (median_interval_days >= 0 or intervals = 0)" }
---*/
with buyer_orders as (
    -- per level (all: a buyer's orders anywhere; community: their orders in
    -- one community), window and buyer: one row of order_intervals per order
    select level, community_id, window_days, user_id, count(*) as orders
    from order_intervals
    group by level, community_id, window_days, user_id
),

profile as (
    -- the buyer's tier, RFM segment and activity layer on ds; NULL when not scored
    select s.user_id, u.uvi_tier, s.rfm_segment, s.activity_layer
    from user_segments s
    join uvi_scores u on u.user_id = s.user_id and u.dt = s.dt
    where s.dt = date '{{ ds }}'
),

{%- set scopes = [('uvi_tier', 'p.uvi_tier'), ('rfm_segment', 'p.rfm_segment'), ('activity_layer', 'p.activity_layer')] %}
{%- for src, measure in [('buyer_orders', 'orders'), ('order_intervals', 'interval_days')] %}

scoped_{{ src }} as (
    select 'platform' as scope, cast(null as varchar) as value, b.window_days, b.user_id, b.{{ measure }}
    from {{ src }} b
    where b.level = 'all'
    union all
    select 'community', b.community_id, b.window_days, b.user_id, b.{{ measure }}
    from {{ src }} b
    where b.level = 'community'
    {%- for s in scopes %}
    union all
    select '{{ s[0] }}', {{ s[1] }}, b.window_days, b.user_id, b.{{ measure }}
    from {{ src }} b
    left join profile p on p.user_id = b.user_id
    where b.level = 'all'
    {%- endfor %}
),
{%- endfor %}

counted as (
    select
        window_days,
        scope,
        value,
        count(*) as buyers,
        count(*) filter (where orders >= 2) as repeat_buyers,
        sum(orders) as orders
    from scoped_buyer_orders
    group by window_days, scope, value
),

interval_counts as (
    -- how many pairs of each interval length per group
    select window_days, scope, value, interval_days, count(*) as pairs
    from scoped_order_intervals
    -- a buyer's first order in the window has no interval
    where interval_days is not null
    group by window_days, scope, value, interval_days
),

cumulative as (
    -- pairs with an interval up to each length, and the group's total: the
    -- ranks without a window function (groups have at most a few hundred
    -- distinct lengths)
    select
        a.window_days,
        a.scope,
        a.value,
        a.interval_days,
        sum(b.pairs) as pairs_upto
    from interval_counts a
    join interval_counts b
        on b.window_days = a.window_days and b.scope = a.scope
       and (b.value is not distinct from a.value) and b.interval_days <= a.interval_days
    group by a.window_days, a.scope, a.value, a.interval_days
),

totals as (
    select window_days, scope, value, sum(pairs) as n
    from interval_counts
    group by window_days, scope, value
),

medians as (
    -- a deterministic median: the middle value (rank (n + 1) / 2), or for an
    -- even count the mean of the two middle ones (ranks n / 2 and n / 2 + 1),
    -- integers, so exact in a double; the value at rank r is the smallest
    -- length whose cumulative count reaches r
    select
        c.window_days,
        c.scope,
        c.value,
        (cast(min(c.interval_days) filter (where c.pairs_upto >= (t.n + 1) / 2) as double)
         + cast(min(c.interval_days) filter (where c.pairs_upto >= (t.n + 2) / 2) as double)) / 2
            as median_interval_days
    from cumulative c
    join totals t
        on t.window_days = c.window_days and t.scope = c.scope and (t.value is not distinct from c.value)
    group by c.window_days, c.scope, c.value
),

final as (
    select
        c.window_days,
        c.scope,
        c.value,
        date '{{ ds }}' as dt,
        c.buyers,
        c.repeat_buyers,
        -- repurchase_rate = buyers with >= 2 orders in the window / buyers in the window
        cast(c.repeat_buyers as double) / nullif(c.buyers, 0) as repurchase_rate,
        c.orders,
        c.orders - c.buyers as intervals,
        m.median_interval_days
    from counted c
    left join medians m
        on m.window_days = c.window_days and m.scope = c.scope and (m.value is not distinct from c.value)
)

select * from final
