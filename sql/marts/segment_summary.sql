/*---
materialized: daily
sort_by: [segment, value]
description: >
  Size and revenue of every segment value on ds
  (docs/metrics.md#segment_summary), one row per segment column
  (activity_layer, lifecycle_stage, rfm_segment, pyramid_level, value_group)
  and value present.
columns:
  dt: the run day
  segment: the user_segments column
  value: the segment value (pyramid_level as text)
  users: scored users with that value
  share_of_users: users / scored users
  revenue_90: their purchase amounts in the 90 days ending ds
  share_of_revenue: revenue_90 / revenue_90 of all scored users; NULL when that is 0
tests:
  - { unique: [segment, value] }
  - { not_null: [dt, segment, value, users, revenue_90] }
  - { expression: "share_of_users between 0 and 1 and share_of_revenue between 0 and 1" }
---*/
with segmented as (
    select s.*, f.revenue_90
    from user_segments s
    join user_features f on f.user_id = s.user_id and f.dt = s.dt
    where s.dt = date '{{ ds }}'
),

long as (
    select 'activity_layer' as segment, activity_layer as value, revenue_90 from segmented
    union all
    select 'lifecycle_stage', lifecycle_stage, revenue_90 from segmented
    union all
    select 'rfm_segment', rfm_segment, revenue_90 from segmented
    union all
    select 'pyramid_level', cast(pyramid_level as varchar), revenue_90 from segmented
    union all
    select 'value_group', value_group, revenue_90 from segmented
),

totals as (
    -- money is summed as decimal(38, 6): exact in any order, so a rerun
    -- (or another partitioning) gives the same bits
    select count(*) as users,
        coalesce(cast(sum(cast(revenue_90 as decimal(38, 6))) as double), 0.0) as revenue_90
    from segmented
),

per_value as (
    select segment, value, count(*) as users,
        cast(sum(cast(revenue_90 as decimal(38, 6))) as double) as revenue_90
    from long
    group by segment, value
),

final as (
    select
        date '{{ ds }}' as dt,
        p.segment,
        p.value,
        p.users,
        -- share = users / scored users
        cast(p.users as double) / nullif(t.users, 0) as share_of_users,
        p.revenue_90,
        -- revenue share = revenue_90 / all revenue_90; the two sums
        -- add the same amounts in different orders, so a value holding all
        -- the revenue can come out as 1.0000000000000002: capped at 1
        least(p.revenue_90 / nullif(t.revenue_90, 0.0), 1.0) as share_of_revenue
    from per_value p
    cross join totals t
)

select * from final
