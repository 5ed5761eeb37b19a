-- content_scores (docs/metrics.md#content_scores): shoal's SQL (sql/marts/content_scores.sql), unchanged but for DuckDB syntax.
-- sort_by: content_id
with window_totals as (
    select
        content_id,
        sum(views) as views,
        sum(likes) as likes,
        sum(comments) as comments,
        sum(shares) as shares,
        sum(session_purchases) as session_purchases,
        sum(exposures) as exposures,
        sum(clicks) as clicks
    from content_daily
    where dt between date '{{ days_before(ds, 29) }}' and date '{{ ds }}'
    group by content_id
),

rates as (
    select
        content_id,
        views,
        -- resonance = (likes + comments) / views
        cast(likes + comments as double) / views as resonance,
        -- spread = shares / views
        cast(shares as double) / views as spread,
        -- conversion = purchases in the same session after a view / views
        cast(session_purchases as double) / views as conversion,
        exposures,
        clicks,
        -- ctr = clicks / exposures (NULL without exposures)
        cast(clicks as double) / nullif(exposures, 0) as ctr
    from window_totals
    where views > 0
),

ranked as (
    select
        *,
        percent_rank() over (order by resonance) as resonance_rank,
        percent_rank() over (order by spread) as spread_rank,
        percent_rank() over (order by conversion) as conversion_rank
    from rates
),

final as (
    select
        content_id,
        date '{{ ds }}' as dt,
        views,
        resonance,
        spread,
        conversion,
        resonance_rank,
        spread_rank,
        conversion_rank,
        -- score = product of the three percentile ranks
        resonance_rank * spread_rank * conversion_rank as score,
        exposures,
        clicks,
        ctr
    from ranked
)

select * from final
