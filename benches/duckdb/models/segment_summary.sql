-- segment_summary (docs/metrics.md#segment_summary): shoal's SQL (sql/marts/segment_summary.sql), unchanged.
-- sort_by: breakdown, breakdown_value, segment, value
{%- set breakdowns = [('all', 'cast(null as varchar)'), ('gender', 'f.gender'), ('generation', 'f.generation'),
    ('gen_z', 'cast(f.gen_z as varchar)'), ('region', 'f.region'), ('city_tier', 'cast(f.city_tier as varchar)'),
    ('occupation', 'f.occupation')] %}
{%- set segments = [('activity_layer', 'activity_layer'), ('lifecycle_stage', 'lifecycle_stage'),
    ('lifecycle_band', 'lifecycle_band'), ('rfm_segment', 'rfm_segment'),
    ('pyramid_level', 'cast(pyramid_level as varchar)'), ('value_group', 'value_group')] %}
with segmented as (
    -- every scored user once per breakdown: all, and each attribute's value
    {%- for b in breakdowns %}
    select '{{ b[0] }}' as breakdown, {{ b[1] }} as breakdown_value, s.*, f.revenue_90
    from user_segments s
    join user_features f on f.user_id = s.user_id and f.dt = s.dt
    where s.dt = date '{{ ds }}'
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

long as (
    {%- for g in segments %}
    select breakdown, breakdown_value, '{{ g[0] }}' as segment, {{ g[1] }} as value, revenue_90 from segmented
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

totals as (
    -- money is summed as decimal(38, 6): exact in any order, so a rerun
    -- (or another partitioning) gives the same bits
    select breakdown, breakdown_value, count(*) as users,
        coalesce(cast(sum(cast(revenue_90 as decimal(38, 6))) as double), 0.0) as revenue_90
    from segmented
    group by breakdown, breakdown_value
),

per_value as (
    select breakdown, breakdown_value, segment, value, count(*) as users,
        cast(sum(cast(revenue_90 as decimal(38, 6))) as double) as revenue_90
    from long
    group by breakdown, breakdown_value, segment, value
),

final as (
    select
        date '{{ ds }}' as dt,
        p.segment,
        p.value,
        p.users,
        -- share = users / scored users of the breakdown value
        cast(p.users as double) / nullif(t.users, 0) as share_of_users,
        p.revenue_90,
        -- revenue share = revenue_90 / all revenue_90 of the breakdown value
        -- (both exact decimal sums: a value holding every user gives exactly
        -- 1); revenue is net of refunds, so a value whose refunds outweigh its
        -- orders has a negative share, and the others then add up to more than 1
        p.revenue_90 / nullif(t.revenue_90, 0.0) as share_of_revenue,
        p.breakdown,
        p.breakdown_value
    from per_value p
    join totals t
        on t.breakdown = p.breakdown and (t.breakdown_value is not distinct from p.breakdown_value)
)

select * from final
