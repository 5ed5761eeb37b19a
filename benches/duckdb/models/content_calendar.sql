-- content_calendar (docs/metrics.md#content_calendar): shoal's SQL (sql/marts/content_calendar.sql), unchanged.
-- sort_by: community_id
{%- set min_interactions = var.interactive_post_min_interactions | default(5) %}
{%- set target = var.interactive_posts_target | default(3) %}
with today as (
    select
        content_id,
        community_id,
        likes + comments + shares as interactions,
        users_reached
    from content_daily
    where dt = date '{{ ds }}'
),

ranked as (
    select
        *,
        row_number() over (partition by community_id order by interactions desc, content_id) as rn
    from today
),

final as (
    select
        community_id,
        date '{{ ds }}' as dt,
        count(*) as contents,
        count(*) filter (where interactions >= {{ min_interactions }}) as interactive_posts,
        sum(interactions) as interactions,
        coalesce(sum(users_reached), 0) as users_reached,
        cast({{ target }} as bigint) as target,
        count(*) filter (where interactions >= {{ min_interactions }}) >= {{ target }} as met,
        count(*) filter (where interactions >= {{ min_interactions }}) - {{ target }} as gap,
        max(content_id) filter (where rn = 1) as top_content_id,
        max(interactions) filter (where rn = 1) as top_content_interactions
    from ranked
    group by community_id
)

select * from final
