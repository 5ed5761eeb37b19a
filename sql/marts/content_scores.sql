/*---
materialized: daily
sort_by: [content_id]
description: >
  Content performance over the 30 days ending ds
  (docs/metrics.md#content_scores), per content with at least one view in the
  window: resonance, spread and conversion, and a score = the product of their
  three percentile ranks (percent_rank() among those contents, ascending; ties
  equal).
columns:
  content_id: the content
  dt: the run day
  views: views in the 30 days ending ds
  resonance: (likes + comments) / views
  spread: shares / views
  conversion: purchases in the same session after a view / views
  resonance_rank: percent_rank() of resonance
  spread_rank: percent_rank() of spread
  conversion_rank: percent_rank() of conversion
  score: resonance_rank * spread_rank * conversion_rank
  exposures: exposures of the content in the 30 days ending ds
  clicks: clicks on it in the 30 days
  ctr: clicks / exposures; NULL without exposures (a click without an exposure, e.g. a link in a chat, can take it above 1)
tests:
  - { unique: content_id }
  - { not_null: [content_id, dt, views, resonance, spread, conversion, score] }
  - { expression: "views >= 1 and score between 0 and 1" }
---*/
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
