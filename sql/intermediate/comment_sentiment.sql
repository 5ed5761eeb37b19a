/*---
materialized: daily
rewrites_days: late_days
sort_by: [community_id]
description: >
  Comments per community and activity day by sentiment: the history
  sentiment_daily compares the run day with (docs/metrics.md#comment_sentiment).
  A comment's polarity comes from its upstream label (properties.sentiment:
  positive / negative / neutral, or a score from -1 to 1), else from
  sentiment(properties.text) with the lexicon of vars.sentiment_lexicon (the
  shipped one when unset); a score is positive at >= vars.sentiment_threshold
  (0.05), negative at <= its negative, neutral between. Comments with neither
  are counted but not scored. Like user_daily it rewrites ds - late_days .. ds
  so late events are folded in.
columns:
  community_id: the community (NULL is its own group)
  dt: the activity day (UTC)
  comments: valid comment events
  scored: comments with a polarity (positive + negative + neutral)
  from_upstream: scored comments whose polarity came from properties.sentiment
  from_lexicon: scored comments whose polarity came from sentiment(properties.text)
  positive: comments read as positive
  negative: comments read as negative
  neutral: comments read as neutral
tests:
  - { unique: [community_id, dt] }
  - { not_null: [dt, comments, scored, from_upstream, from_lexicon, positive, negative, neutral] }
  - { expression: "scored = positive + negative + neutral and scored = from_upstream + from_lexicon and scored <= comments" }
---*/
{%- set threshold = var.sentiment_threshold | default(0.05) %}
with comments as (
    select
        community_id,
        event_date as dt,
        lower(trim(json_get_str(properties, 'sentiment'))) as label,
        json_get_float(properties, 'sentiment') as upstream_score,
        json_get_str(properties, 'text') as text
    from stg_events
    where event_type = 'comment'
    {% if not run.full_refresh %}
      and event_date between date '{{ days_before(ds, run.late_days) }}' and date '{{ ds }}'
    {% else %}
      and event_date <= date '{{ ds }}'
    {% endif %}
),

read as (
    select
        community_id,
        dt,
        -- 1 positive, 0 neutral, -1 negative; NULL when nothing tells
        case
            when label = 'positive' then 1
            when label = 'negative' then -1
            when label = 'neutral' then 0
            when upstream_score between -1 and 1 then
                case when upstream_score >= {{ threshold }} then 1
                     when upstream_score <= -{{ threshold }} then -1 else 0 end
        end as upstream,
        case when text is not null then
            {%- if var.sentiment_lexicon is defined and var.sentiment_lexicon %}
            sentiment(text, '{{ var.sentiment_lexicon }}')
            {%- else %}
            sentiment(text)
            {%- endif %}
        end as lexicon_score
    from comments
),

polar as (
    select
        community_id,
        dt,
        upstream is not null as is_upstream,
        coalesce(
            upstream,
            case when lexicon_score >= {{ threshold }} then 1
                 when lexicon_score <= -{{ threshold }} then -1
                 when lexicon_score is not null then 0 end
        ) as polarity
    from read
),

final as (
    select
        community_id,
        dt,
        count(*) as comments,
        count(polarity) as scored,
        count(case when is_upstream then 1 end) as from_upstream,
        count(case when not is_upstream and polarity is not null then 1 end) as from_lexicon,
        count(case when polarity = 1 then 1 end) as positive,
        count(case when polarity = -1 then 1 end) as negative,
        count(case when polarity = 0 then 1 end) as neutral
    from polar
    group by community_id, dt
)

select * from final
