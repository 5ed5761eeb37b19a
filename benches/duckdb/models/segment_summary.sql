-- segment_summary (docs/metrics.md#segment_summary): shoal's SQL (sql/marts/segment_summary.sql), unchanged but for DuckDB syntax.
-- sort_by: segment, value
with segmented as (
    select s.*, f.revenue_90
    from user_segments s
    join user_features f on f.user_id = s.user_id and f.dt = s.dt
    where s.dt = date '{{ ds }}'
),

long as (
    select 'activity_layer' as segment, activity_layer as value, revenue_90 from segmented
    union all
    select 'lifecycle_stage', lifecycle_stage, revenue_90 from segmented
    union all
    select 'rfm_segment', rfm_segment, revenue_90 from segmented
    union all
    select 'pyramid_level', cast(pyramid_level as varchar), revenue_90 from segmented
    union all
    select 'value_group', value_group, revenue_90 from segmented
),

totals as (
    select count(*) as users, coalesce(sum(revenue_90), 0.0) as revenue_90
    from segmented
),

per_value as (
    select segment, value, count(*) as users, sum(revenue_90) as revenue_90
    from long
    group by segment, value
),

final as (
    select
        date '{{ ds }}' as dt,
        p.segment,
        p.value,
        p.users,
        -- share = users / scored users
        cast(p.users as double) / nullif(t.users, 0) as share_of_users,
        p.revenue_90,
        -- revenue share = revenue_90 / all revenue_90
        p.revenue_90 / nullif(t.revenue_90, 0.0) as share_of_revenue
    from per_value p
    cross join totals t
)

select * from final
