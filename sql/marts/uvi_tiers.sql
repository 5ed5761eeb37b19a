/*---
materialized: daily
sort_by: [uvi_tier]
description: >
  Users and revenue per UVI tier on ds (docs/metrics.md#uvi_tiers): "the high
  tier drives X % of GMV". Always three rows (high, medium, low), empty tiers
  with 0 users.
columns:
  dt: the run day
  uvi_tier: high, medium or low
  users: scored users in the tier
  share_of_users: users / all scored users; NULL when nobody is scored
  revenue: purchase amounts of the tier's users in the 90 days ending ds
  share_of_revenue: revenue / revenue of all scored users; NULL when that is 0
tests:
  - { unique: uvi_tier }
  - { not_null: [dt, uvi_tier, users, revenue] }
  - { accepted_values: { column: uvi_tier, values: [high, medium, low] } }
  - { expression: "share_of_users between 0 and 1 and share_of_revenue between 0 and 1" }
---*/
with scores as (
    select user_id, uvi_tier, revenue
    from uvi_scores
    where dt = date '{{ ds }}'
),

tiers as (
    select uvi_tier
    from (values ('high'), ('medium'), ('low')) as t(uvi_tier)
),

per_tier as (
    select uvi_tier, count(*) as users, cast(sum(cast(revenue as decimal(38, 6))) as double) as revenue
    from scores
    group by uvi_tier
),

totals as (
    select count(*) as users, coalesce(cast(sum(cast(revenue as decimal(38, 6))) as double), 0.0) as revenue
    from scores
),

final as (
    select
        date '{{ ds }}' as dt,
        t.uvi_tier,
        coalesce(p.users, 0) as users,
        -- share of users = tier users / scored users
        cast(coalesce(p.users, 0) as double) / nullif(x.users, 0) as share_of_users,
        coalesce(p.revenue, 0.0) as revenue,
        -- share of revenue = tier revenue / all revenue in window;
        -- capped at 1: the two sums add in different orders (1 + 2e-16)
        least(coalesce(p.revenue, 0.0) / nullif(x.revenue, 0.0), 1.0) as share_of_revenue
    from tiers t
    cross join totals x
    left join per_tier p on p.uvi_tier = t.uvi_tier
)

select * from final
