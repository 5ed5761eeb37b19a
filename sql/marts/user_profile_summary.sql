/*---
materialized: daily
sort_by: [attribute, value]
description: >
  Who the scored users of ds are (docs/metrics.md#user_profile_summary): per
  attribute of the users source (gender, generation, gen_z, region,
  city_tier, occupation) and value, the users, the share active in the last
  30 days, purchase conversion and ARPU over 90 days, and the share of
  revenue. A missing value (or no users source at all) is its own group with
  value NULL. One row per attribute and value present.
columns:
  dt: the run day
  attribute: gender, generation, gen_z, region, city_tier or occupation (user_features columns)
  value: the attribute's value as text (gen_z true / false, city_tier 1 .. 5); NULL when missing
  users: scored users (user_features) with that value
  share_of_users: users / scored users
  active_users_30: of those, users active in the 30 days ending ds
  active_share_30: active_users_30 / users
  buyers_90: users with an order (docs/metrics.md#orders) in the 90 days ending ds
  conversion_90: buyers_90 / users
  revenue_90: their purchase amounts in the 90 days ending ds (net of refunds)
  arpu_90: revenue_90 / users
  share_of_revenue: revenue_90 / revenue_90 of all scored users; NULL when that is 0
tests:
  - { unique: [attribute, value] }
  - { not_null: [dt, attribute, users, share_of_users, active_users_30, buyers_90, revenue_90, arpu_90] }
  - { accepted_values: { column: attribute, values: [gender, generation, gen_z, region, city_tier, occupation] } }
  - { expression: "active_users_30 <= users and buyers_90 <= users and share_of_users between 0 and 1 and conversion_90 between 0 and 1" }
---*/
{%- set attributes = [('gender', 'f.gender'), ('generation', 'f.generation'), ('gen_z', 'cast(f.gen_z as varchar)'),
    ('region', 'f.region'), ('city_tier', 'cast(f.city_tier as varchar)'), ('occupation', 'f.occupation')] %}
with features as (
    select *
    from user_features
    where dt = date '{{ ds }}'
),

attributes as (
    select idx, attribute
    from (values
    {%- for a in attributes %}
        ({{ loop.index }}, '{{ a[0] }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as t(idx, attribute)
),

long as (
    -- every user once per attribute (a cross join: one pass over the features)
    select
        a.attribute,
        case a.idx
        {%- for a in attributes %}
            when {{ loop.index }} then {{ a[1] }}
        {%- endfor %}
        end as value,
        f.active_days_30,
        f.orders_90,
        f.revenue_90
    from features f
    cross join attributes a
),

totals as (
    -- money is summed as decimal(38, 6): exact in any order, so a rerun
    -- gives the same bits
    select count(*) as users, cast(sum(cast(revenue_90 as decimal(38, 6))) as double) as revenue_90
    from features
),

per_value as (
    select
        attribute,
        value,
        count(*) as users,
        count(*) filter (where active_days_30 >= 1) as active_users_30,
        count(*) filter (where orders_90 >= 1) as buyers_90,
        cast(sum(cast(revenue_90 as decimal(38, 6))) as double) as revenue_90
    from long
    group by attribute, value
),

final as (
    select
        date '{{ ds }}' as dt,
        p.attribute,
        p.value,
        p.users,
        -- share_of_users = users / scored users
        cast(p.users as double) / t.users as share_of_users,
        p.active_users_30,
        -- active_share_30 = active_users_30 / users
        cast(p.active_users_30 as double) / p.users as active_share_30,
        p.buyers_90,
        -- conversion_90 = buyers_90 / users
        cast(p.buyers_90 as double) / p.users as conversion_90,
        p.revenue_90,
        -- arpu_90 = revenue_90 / users
        p.revenue_90 / p.users as arpu_90,
        -- share_of_revenue = revenue_90 / all revenue_90
        p.revenue_90 / nullif(t.revenue_90, 0.0) as share_of_revenue
    from per_value p
    cross join totals t
)

select * from final
