/*---
materialized: daily
sort_by: [community_id]
description: >
  The sentiment of comments on ds (docs/metrics.md#sentiment_daily): per
  community with a comment on ds, the shares of positive, negative and
  neutral comments, net sentiment, and whether the negative share spikes
  against the 28 days before (|z| >= 3, over the previous days that had
  scored comments, at least 7 of them).
columns:
  community_id: the community (NULL is its own group)
  dt: the run day
  comments: comments on ds
  scored: comments with a polarity (upstream label or lexicon)
  from_upstream: scored comments labelled upstream (properties.sentiment)
  from_lexicon: scored comments read by sentiment(properties.text)
  positive: comments read as positive
  negative: comments read as negative
  neutral: comments read as neutral
  positive_share: positive / scored (NULL when nothing is scored)
  negative_share: negative / scored
  neutral_share: neutral / scored
  net_sentiment: (positive - negative) / scored, from -1 to 1
  baseline_days: days of ds - 28 .. ds - 1 with scored comments in the community
  baseline_negative_share: mean negative share over those days (NULL under 7 days)
  baseline_stddev: sample standard deviation of those daily shares (NULL under 7 days)
  z_score: (negative_share - baseline_negative_share) / baseline_stddev (NULL without a baseline or spread)
  negative_spike: z_score >= 3
tests:
  - { unique: community_id }
  - { not_null: [dt, comments, scored, positive, negative, neutral, baseline_days, negative_spike] }
  - { expression: "scored = positive + negative + neutral and (net_sentiment is null or net_sentiment between -1 and 1)" }
---*/
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
