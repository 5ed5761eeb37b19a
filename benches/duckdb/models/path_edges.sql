-- path_edges: shoal's SQL (sql/marts/path_edges.sql), unchanged but for DuckDB syntax.
-- sort_by: from_type, to_type
with day_events as (
    select user_id, session_key, event_type, event_time, event_id
    from stg_events
    where event_date = date '{{ ds }}'
),

pairs as (
    select
        user_id,
        event_type as from_type,
        lead(event_type) over w as to_type,
        -- microseconds between the two events, as seconds
        cast(epoch_us(lead(event_time) over w) - epoch_us(event_time) as double) / 1000000 as seconds
    from day_events
    window w as (partition by user_id, session_key order by event_time, event_id)
),

final as (
    select
        date '{{ ds }}' as dt,
        from_type,
        to_type,
        count(*) as transitions,
        count(distinct user_id) as users,
        median(seconds) as median_seconds
    from pairs
    where to_type is not null
    group by from_type, to_type
)

select * from final
