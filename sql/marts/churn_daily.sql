/*---
materialized: daily
sort_by: [scope, community_id]
description: >
  Period churn on ds (docs/metrics.md#churn_daily), for the platform and for
  every community: of the users active in the previous 30 days (ds - 59 ..
  ds - 30), the share not active in the last 30 days (ds - 29 .. ds). One row
  per scope with a user active in either period.
columns:
  scope: platform or community
  community_id: the community (NULL for platform, and for the NULL community)
  dt: the run day
  previous_active: users active in the scope in ds - 59 .. ds - 30
  current_active: users active in the scope in ds - 29 .. ds
  retained: users active in both periods
  churned: previous_active - retained
  churn_rate: churned / previous_active; NULL when previous_active is 0
tests:
  - { unique: [scope, community_id] }
  - { not_null: [scope, dt, previous_active, current_active, retained, churned] }
  - { accepted_values: { column: scope, values: [platform, community] } }
  - { expression: "scope = 'community' or community_id is null" }
  - { expression: "retained <= previous_active and retained <= current_active and churned >= 0" }
  - { expression: "churn_rate between 0 and 1" }
---*/
with scoped as (
    -- every user-day of the 60 days ending ds twice: once for the platform,
    -- once for its community
    select 'platform' as scope, cast(null as varchar) as community_id, user_id, dt
    from user_daily
    where dt between date '{{ days_before(ds, 59) }}' and date '{{ ds }}'
    union all
    select 'community', community_id, user_id, dt
    from community_user_daily
    where dt between date '{{ days_before(ds, 59) }}' and date '{{ ds }}'
),

per_user as (
    select
        scope,
        community_id,
        user_id,
        max(case when dt <= date '{{ days_before(ds, 30) }}' then 1 else 0 end) as was_active,
        max(case when dt >= date '{{ days_before(ds, 29) }}' then 1 else 0 end) as is_active
    from scoped
    group by scope, community_id, user_id
),

counts as (
    select
        scope,
        community_id,
        sum(was_active) as previous_active,
        sum(is_active) as current_active,
        sum(was_active * is_active) as retained
    from per_user
    group by scope, community_id
),

final as (
    select
        scope,
        community_id,
        date '{{ ds }}' as dt,
        previous_active,
        current_active,
        retained,
        previous_active - retained as churned,
        -- churn_rate = (previous_active - retained) / previous_active
        cast(previous_active - retained as double) / nullif(previous_active, 0) as churn_rate
    from counts
)

select * from final
