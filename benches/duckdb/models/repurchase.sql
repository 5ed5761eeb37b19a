-- repurchase (docs/metrics.md#repurchase): shoal's SQL (sql/marts/repurchase.sql), unchanged but for DuckDB syntax
-- (// is integer division in DuckDB, / on integers gives a double).
-- sort_by: window_days, scope, value
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
    where o.dt <= date '{{ ds }}'
),

leveled as (
    -- 'all': a buyer's orders anywhere; 'community': their orders in one community
    select 'all' as level, cast(null as varchar) as community_id, window_days, user_id, order_key, order_id, dt, order_time
    from windowed
    union all
    select 'community', community_id, window_days, user_id, order_key, order_id, dt, order_time
    from windowed
),

gaps as (
    -- days between consecutive orders of a buyer (by order_time, then the key)
    select
        level,
        community_id,
        window_days,
        user_id,
        dt - lag(dt) over (
            partition by level, community_id, window_days, user_id
            order by order_time, order_key, order_id) as interval_days
    from leveled
),

buyer_orders as (
    select level, community_id, window_days, user_id, count(*) as orders
    from leveled
    group by level, community_id, window_days, user_id
),

buyer_gaps as (
    select level, community_id, window_days, user_id, interval_days
    from gaps
    where interval_days is not null
),

profile as (
    -- the buyer's tier, RFM segment and activity layer on ds; NULL when not scored
    select s.user_id, u.uvi_tier, s.rfm_segment, s.activity_layer
    from user_segments s
    join uvi_scores u on u.user_id = s.user_id and u.dt = s.dt
    where s.dt = date '{{ ds }}'
),

{%- set scopes = [('uvi_tier', 'p.uvi_tier'), ('rfm_segment', 'p.rfm_segment'), ('activity_layer', 'p.activity_layer')] %}
{%- for src, measure in [('buyer_orders', 'orders'), ('buyer_gaps', 'interval_days')] %}

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

ranked as (
    select
        window_days,
        scope,
        value,
        interval_days,
        row_number() over (partition by window_days, scope, value order by interval_days) as rn,
        count(*) over (partition by window_days, scope, value) as n
    from scoped_buyer_gaps
),

medians as (
    -- a deterministic median: the middle value, or the mean of the two middle
    -- values (integers: exact in a double) for an even count
    select
        window_days,
        scope,
        value,
        avg(cast(interval_days as double)) as median_interval_days
    from ranked
    where rn in ((n + 1) // 2, (n + 2) // 2)
    group by window_days, scope, value
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
