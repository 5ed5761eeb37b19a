-- sentiment_daily (docs/metrics.md#sentiment_daily): shoal's SQL (sql/marts/sentiment_daily.sql), unchanged.
-- sort_by: community_id
with history as (
    select
        community_id,
        dt,
        comments,
        scored,
        from_upstream,
        from_lexicon,
        positive,
        negative,
        neutral,
        -- the daily negative share in millionths, an integer, so the
        -- baseline's sums are exact whatever order they are added in
        case when scored > 0 then cast(round(negative * 1000000.0 / scored) as bigint) end as neg_ppm
    from comment_sentiment
    where dt between date '{{ days_before(ds, 28) }}' and date '{{ ds }}'
),

baseline as (
    select
        community_id,
        count(neg_ppm) as days,
        cast(sum(neg_ppm) as double) as s,
        cast(sum(neg_ppm * neg_ppm) as double) as ss
    from history
    where dt < date '{{ ds }}'
    group by community_id
),

today as (
    select * from history where dt = date '{{ ds }}'
),

joined as (
    select
        t.*,
        coalesce(b.days, 0) as baseline_days,
        -- mean and sample stddev of n daily shares from their sums, in shares
        case when b.days >= 7 then b.s / b.days / 1000000.0 end as baseline_negative_share,
        case when b.days >= 7 then
            sqrt(greatest((b.ss - b.s * b.s / b.days) / (b.days - 1), 0.0)) / 1000000.0
        end as baseline_stddev
    from today t
    left join baseline b on t.community_id is not distinct from b.community_id
),

final as (
    select
        community_id,
        date '{{ ds }}' as dt,
        comments,
        scored,
        from_upstream,
        from_lexicon,
        positive,
        negative,
        neutral,
        positive * 1.0 / nullif(scored, 0) as positive_share,
        negative * 1.0 / nullif(scored, 0) as negative_share,
        neutral * 1.0 / nullif(scored, 0) as neutral_share,
        (positive - negative) * 1.0 / nullif(scored, 0) as net_sentiment,
        baseline_days,
        baseline_negative_share,
        baseline_stddev,
        (negative * 1.0 / nullif(scored, 0) - baseline_negative_share) / nullif(baseline_stddev, 0.0) as z_score,
        coalesce((negative * 1.0 / nullif(scored, 0) - baseline_negative_share) / nullif(baseline_stddev, 0.0) >= 3, false) as negative_spike
    from joined
)

select * from final
