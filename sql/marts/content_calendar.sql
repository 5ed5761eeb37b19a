/*---
materialized: daily
sort_by: [community_id]
description: >
  The content plan of ds against its target (docs/metrics.md#content_calendar):
  per community with a content event on ds, the contents that drew at least
  vars.interactive_post_min_interactions interactions (likes + comments +
  shares) that day - the "high-quality interactive posts" - against
  vars.interactive_posts_target a day (5 and 3 when absent, as shipped).
columns:
  community_id: the community (NULL is its own group)
  dt: the run day
  contents: contents with an event on ds in the community
  interactive_posts: contents with at least vars.interactive_post_min_interactions interactions on ds
  interactions: likes + comments + shares on contents on ds
  users_reached: the sum over contents of the distinct users each reached on ds (a user reached by two contents counts twice)
  target: vars.interactive_posts_target
  met: interactive_posts >= target
  gap: interactive_posts - target (negative when missed)
  top_content_id: the content with the most interactions on ds (on a tie, the smallest id)
  top_content_interactions: its interactions
tests:
  - { unique: community_id }
  - { not_null: [dt, contents, interactive_posts, interactions, users_reached, target, met, gap] }
  - { expression: "interactive_posts <= contents and gap = interactive_posts - target" }
---*/
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
