/*---
materialized: daily
sort_by: [breakdown, breakdown_value, segment, value]
description: >
  Size and revenue of every segment value on ds
  (docs/metrics.md#segment_summary), one row per segment column
  (activity_layer, lifecycle_stage, lifecycle_band, rfm_segment,
  pyramid_level, value_group, and the four dimensions and four_d_score in
  bands of 20: [0,20) .. [80,100]) and value present: for all scored users
  (breakdown all) and within every value of each user attribute (gender,
  generation, gen_z, region, city_tier, occupation from user_features; a
  missing value is its own group with breakdown_value NULL), and within
  every community among its members (breakdown community; a member of two
  communities counts in both). Shares are within the breakdown value.
columns:
  dt: the run day
  segment: the user_segments column
  value: the segment value (pyramid_level as text)
  users: scored users with that value (and the breakdown value)
  share_of_users: users / scored users of the breakdown value
  revenue_90: their purchase amounts in the 90 days ending ds
  share_of_revenue: revenue_90 / revenue_90 of the breakdown value's scored users (net of refunds, so outside 0 .. 1 when some value's refunds outweigh its orders); NULL when that is 0
  breakdown: all, the attribute (gender, generation, gen_z, region, city_tier, occupation), or community
  breakdown_value: the attribute's value as text, or the community_id; NULL for all, for a missing value and for the NULL community
tests:
  - { unique: [breakdown, breakdown_value, segment, value] }
  - { not_null: [dt, segment, value, users, revenue_90, breakdown] }
  - { expression: "share_of_users between 0 and 1" }
  - { accepted_values: { column: breakdown, values: [all, gender, generation, gen_z, region, city_tier, occupation, community] } }
  - { expression: "breakdown <> 'all' or breakdown_value is null" }
---*/
{%- set breakdowns = [('all', 'cast(null as varchar)'), ('gender', 'u.gender'), ('generation', 'u.generation'),
    ('gen_z', 'cast(u.gen_z as varchar)'), ('region', 'u.region'), ('city_tier', 'cast(u.city_tier as varchar)'),
    ('occupation', 'u.occupation'), ('community', 'm.community_id')] %}
{%- set segments = [('activity_layer', 's.activity_layer'), ('lifecycle_stage', 's.lifecycle_stage'),
    ('lifecycle_band', 's.lifecycle_band'), ('rfm_segment', 's.rfm_segment'),
    ('pyramid_level', 'cast(s.pyramid_level as varchar)'), ('value_group', 's.value_group'),
    ('spending_power', "case when s.spending_power < 20 then '[0,20)' when s.spending_power < 40 then '[20,40)' when s.spending_power < 60 then '[40,60)' when s.spending_power < 80 then '[60,80)' else '[80,100]' end"), ('social_power', "case when s.social_power < 20 then '[0,20)' when s.social_power < 40 then '[20,40)' when s.social_power < 60 then '[40,60)' when s.social_power < 80 then '[60,80)' else '[80,100]' end"),
    ('decision_power', "case when s.decision_power < 20 then '[0,20)' when s.decision_power < 40 then '[20,40)' when s.decision_power < 60 then '[40,60)' when s.decision_power < 80 then '[60,80)' else '[80,100]' end"), ('demand_sensitivity', "case when s.demand_sensitivity < 20 then '[0,20)' when s.demand_sensitivity < 40 then '[20,40)' when s.demand_sensitivity < 60 then '[40,60)' when s.demand_sensitivity < 80 then '[60,80)' else '[80,100]' end"),
    ('four_d_score', "case when s.four_d_score < 20 then '[0,20)' when s.four_d_score < 40 then '[20,40)' when s.four_d_score < 60 then '[40,60)' when s.four_d_score < 80 then '[60,80)' else '[80,100]' end")] %}
with users as (
    select s.*, f.revenue_90, f.gender, f.generation, f.gen_z, f.region, f.city_tier, f.occupation
    from user_segments s
    join user_features f on f.user_id = s.user_id and f.dt = s.dt
    where s.dt = date '{{ ds }}'
),

breakdowns as (
    select idx, breakdown
    from (values
    {%- for b in breakdowns %}
        ({{ loop.index }}, '{{ b[0] }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as t(idx, breakdown)
),

segmented as (
    -- every scored user once per breakdown: all, and each attribute's value
    -- (a cross join with the breakdowns: one pass over users, not one per breakdown)
    select
        b.breakdown,
        case b.idx
        {%- for b in breakdowns %}
            when {{ loop.index }} then {{ b[1] }}
        {%- endfor %}
        end as breakdown_value,
        u.*
    from users u
    cross join breakdowns b
    -- the community breakdown: once per community the user is a member of
    -- (latest join or quit up to ds is a join), not at all without one
    left join community_membership m
        on b.breakdown = 'community' and m.user_id = u.user_id and m.last_membership_event = 'join'
    where b.breakdown <> 'community' or m.user_id is not null
),

segment_columns as (
    select idx, segment
    from (values
    {%- for g in segments %}
        ({{ loop.index }}, '{{ g[0] }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as t(idx, segment)
),

long as (
    select
        s.breakdown,
        s.breakdown_value,
        c.segment,
        case c.idx
        {%- for g in segments %}
            when {{ loop.index }} then {{ g[1] }}
        {%- endfor %}
        end as value,
        s.revenue_90
    from segmented s
    cross join segment_columns c
),

totals as (
    -- money is summed as decimal(38, 6): exact in any order, so a rerun
    -- (or another partitioning) gives the same bits
    select breakdown, breakdown_value, count(*) as users,
        coalesce(cast(sum(cast(revenue_90 as decimal(38, 6))) as double), 0.0) as revenue_90
    from segmented
    group by breakdown, breakdown_value
),

per_value as (
    select breakdown, breakdown_value, segment, value, count(*) as users,
        cast(sum(cast(revenue_90 as decimal(38, 6))) as double) as revenue_90
    from long
    group by breakdown, breakdown_value, segment, value
),

final as (
    select
        date '{{ ds }}' as dt,
        p.segment,
        p.value,
        p.users,
        -- share = users / scored users of the breakdown value
        cast(p.users as double) / nullif(t.users, 0) as share_of_users,
        p.revenue_90,
        -- revenue share = revenue_90 / all revenue_90 of the breakdown value
        -- (both exact decimal sums: a value holding every user gives exactly
        -- 1); revenue is net of refunds, so a value whose refunds outweigh its
        -- orders has a negative share, and the others then add up to more than 1
        p.revenue_90 / nullif(t.revenue_90, 0.0) as share_of_revenue,
        p.breakdown,
        p.breakdown_value
    from per_value p
    join totals t
        on t.breakdown = p.breakdown and (t.breakdown_value is not distinct from p.breakdown_value)
)

select * from final
