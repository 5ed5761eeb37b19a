-- segment_transitions: shoal's SQL (sql/marts/segment_transitions.sql), unchanged but for DuckDB syntax and the day before.
-- sort_by: segment, from_value, to_value
-- The ds - 1 side comes from user_segments_prev (pack.py builds it first,
-- as shoal's reads_previous_day does); shoal reads both days from one table.
with segs as (
    select * from user_segments
    union all by name
    select * from user_segments_prev
),

long as (
    select dt, user_id, 'activity_layer' as segment, activity_layer as value from segs
    union all
    select dt, user_id, 'lifecycle_stage', lifecycle_stage from segs
    union all
    select dt, user_id, 'rfm_segment', rfm_segment from segs
    union all
    select dt, user_id, 'pyramid_level', cast(pyramid_level as varchar) from segs
    union all
    select dt, user_id, 'value_group', value_group from segs
),

yesterday as (
    select user_id, segment, value from long where dt = date '{{ days_before(ds, 1) }}'
),

today as (
    select user_id, segment, value from long where dt = date '{{ ds }}'
),

moves as (
    select
        coalesce(t.segment, y.segment) as segment,
        y.value as from_value,
        t.value as to_value
    from today t
    full join yesterday y on y.user_id = t.user_id and y.segment = t.segment
),

final as (
    select
        date '{{ ds }}' as dt,
        segment,
        from_value,
        to_value,
        count(*) as users
    from moves
    group by segment, from_value, to_value
)

select * from final
