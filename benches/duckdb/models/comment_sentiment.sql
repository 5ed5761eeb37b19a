-- comment_sentiment (docs/metrics.md#comment_sentiment): shoal's SQL (sql/intermediate/comment_sentiment.sql), json_get_* as json_extract_string; sentiment() is benches/duckdb/sentiment.py, a second implementation of docs/functions.md#sentiment registered as a Python function.
-- sort_by: community_id
{%- set threshold = var.sentiment_threshold | default(0.05) %}
with comments as (
    select
        community_id,
        event_date as dt,
        lower(trim(json_extract_string(properties, '$.sentiment'))) as label,
        try_cast(json_extract_string(properties, '$.sentiment') as double) as upstream_score,
        json_extract_string(properties, '$.text') as text
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
