/*---
materialized: daily
sort_by: [breakdown, breakdown_value, uvi_tier]
description: >
  Users and revenue per UVI tier on ds (docs/metrics.md#uvi_tiers): "the high
  tier drives X % of GMV", for all scored users (breakdown all) and within
  every value of each user attribute (gender, generation, gen_z, region,
  city_tier, occupation from user_features; a missing value is its own group
  with breakdown_value NULL). Always three rows (high, medium, low) per
  breakdown value, empty tiers with 0 users; shares are within the
  breakdown value.
columns:
  dt: the run day
  uvi_tier: high, medium or low
  users: scored users in the tier (and the breakdown value)
  share_of_users: users / scored users of the breakdown value; NULL when nobody is scored
  revenue: purchase amounts of the tier's users in the 90 days ending ds
  share_of_revenue: revenue / revenue of the breakdown value's scored users (net of refunds, so outside 0 .. 1 when a tier's refunds outweigh its orders); NULL when that is 0
  breakdown: all, or the attribute (gender, generation, gen_z, region, city_tier, occupation)
  breakdown_value: the attribute's value as text; NULL for all and for a missing value
tests:
  - { unique: [breakdown, breakdown_value, uvi_tier] }
  - { not_null: [dt, uvi_tier, users, revenue, breakdown] }
  - { accepted_values: { column: uvi_tier, values: [high, medium, low] } }
  - { accepted_values: { column: breakdown, values: [all, gender, generation, gen_z, region, city_tier, occupation] } }
  - { expression: "share_of_users between 0 and 1" }
  - { expression: "breakdown <> 'all' or breakdown_value is null" }
---*/
{%- set breakdowns = [('all', 'cast(null as varchar)'), ('gender', 'u.gender'), ('generation', 'u.generation'),
    ('gen_z', 'cast(u.gen_z as varchar)'), ('region', 'u.region'), ('city_tier', 'cast(u.city_tier as varchar)'),
    ('occupation', 'u.occupation')] %}
with users as (
    select u.uvi_tier, u.revenue, f.gender, f.generation, f.gen_z, f.region, f.city_tier, f.occupation
    from uvi_scores u
    join user_features f on f.user_id = u.user_id and f.dt = u.dt
    where u.dt = date '{{ ds }}'
),

breakdowns as (
    select idx, breakdown
    from (values
    {%- for b in breakdowns %}
        ({{ loop.index }}, '{{ b[0] }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as t(idx, breakdown)
),

scores as (
    -- every scored user once per breakdown: all, and each attribute's value
    -- (a cross join with the breakdowns: one pass over users, not one per breakdown)
    select
        b.breakdown,
        case b.idx
        {%- for b in breakdowns %}
            when {{ loop.index }} then {{ b[1] }}
        {%- endfor %}
        end as breakdown_value,
        u.uvi_tier,
        u.revenue
    from users u
    cross join breakdowns b
),

tiers as (
    select uvi_tier
    from (values ('high'), ('medium'), ('low')) as t(uvi_tier)
),

per_tier as (
    select breakdown, breakdown_value, uvi_tier, count(*) as users,
        cast(sum(cast(revenue as decimal(38, 6))) as double) as revenue
    from scores
    group by breakdown, breakdown_value, uvi_tier
),

totals as (
    -- per breakdown value; the all row is always there, even with nobody scored
    select 'all' as breakdown, cast(null as varchar) as breakdown_value, 0 as users, 0.0 as revenue
    union all
    select breakdown, breakdown_value, count(*) as users,
        coalesce(cast(sum(cast(revenue as decimal(38, 6))) as double), 0.0) as revenue
    from scores
    group by breakdown, breakdown_value
),

groups as (
    -- the placeholder all row adds 0 (exactly) to the real one
    select breakdown, breakdown_value, sum(users) as users, sum(revenue) as revenue
    from totals
    group by breakdown, breakdown_value
),

final as (
    select
        date '{{ ds }}' as dt,
        t.uvi_tier,
        coalesce(p.users, 0) as users,
        -- share of users = tier users / scored users of the breakdown value
        cast(coalesce(p.users, 0) as double) / nullif(x.users, 0) as share_of_users,
        coalesce(p.revenue, 0.0) as revenue,
        -- share of revenue = tier revenue / all revenue of the group (exact
        -- decimal sums: a tier holding every user gives exactly 1); net of
        -- refunds, so outside 0 .. 1 when a tier's refunds outweigh its orders
        coalesce(p.revenue, 0.0) / nullif(x.revenue, 0.0) as share_of_revenue,
        x.breakdown,
        x.breakdown_value
    from groups x
    cross join tiers t
    left join per_tier p
        on p.breakdown = x.breakdown and (p.breakdown_value is not distinct from x.breakdown_value)
       and p.uvi_tier = t.uvi_tier
)

select * from final
