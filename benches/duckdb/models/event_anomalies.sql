-- event_anomalies (docs/metrics.md#event_anomalies): shoal's SQL (sql/marts/event_anomalies.sql), unchanged but for DuckDB syntax.
-- sort_by: community_id, event_type, hour
with history as (
    select community_id, event_type, hour, dt, events
    from community_hourly
    where dt between date '{{ days_before(ds, 28) }}' and date '{{ ds }}'
),

cells as (
    select
        community_id,
        event_type,
        hour,
        coalesce(sum(events) filter (where dt = date '{{ ds }}'), 0) as events,
        cast(coalesce(sum(events) filter (where dt < date '{{ ds }}'), 0) as double) as base_sum,
        cast(coalesce(sum(events * events) filter (where dt < date '{{ ds }}'), 0) as double) as base_sumsq
    from history
    group by community_id, event_type, hour
),

baselines as (
    select
        *,
        -- baseline over the 28 previous days, a day without events counting 0
        base_sum / 28 as baseline_mean,
        -- sample stddev of 28 values from their sum and sum of squares
        sqrt(greatest((base_sumsq - base_sum * base_sum / 28) / 27, 0.0)) as baseline_stddev
    from cells
),

scored as (
    select
        *,
        -- z = (count - mean) / stddev; NULL when the baseline has no spread
        (events - baseline_mean) / nullif(baseline_stddev, 0.0) as z_score
    from baselines
),

final as (
    select
        community_id,
        event_type,
        hour,
        date '{{ ds }}' as dt,
        events,
        baseline_mean,
        baseline_stddev,
        z_score
    from scored
    where abs(z_score) >= 3
)

select * from final
