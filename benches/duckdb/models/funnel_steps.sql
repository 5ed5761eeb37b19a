-- funnel_steps (docs/metrics.md#funnel_steps), dt = ds. Differs from shoal's SQL: per group,
-- users per exact level then a running sum from the top level down (instead
-- of a join on level >= step); every step of every group gets a row.
-- sort_by: funnel, breakdown, breakdown_value, step
with levels as (
    select funnel, level, first_community_id, first_channel from funnel_users
),
steps as (
    select * from (values
    {%- for f in funnels %}{% set outer = loop %}{% for s in f.steps %}
        ('{{ f.name }}', {{ loop.index }}, '{{ s }}'){% if not (loop.last and outer.last) %},{% endif %}
    {%- endfor %}{% endfor %}
    ) as s(funnel, step, step_name)
),
grouped as (
    select funnel, 'total' as breakdown, cast(null as varchar) as breakdown_value, level from levels
    union all
    select funnel, 'community_id', first_community_id, level from levels
    union all
    select funnel, 'channel', first_channel, level from levels
),
per_level as (
    select funnel, breakdown, breakdown_value, level, count(*) as n from grouped group by all
),
groups as (
    select distinct funnel, breakdown, breakdown_value from grouped
),
reached as (
    select g.funnel, g.breakdown, g.breakdown_value, s.step, s.step_name,
           coalesce((select sum(p.n) from per_level p
                     where p.funnel = g.funnel and p.breakdown = g.breakdown
                       and p.breakdown_value is not distinct from g.breakdown_value
                       and p.level >= s.step), 0)::bigint as users
    from groups g join steps s on s.funnel = g.funnel
)
select
    funnel,
    date '{{ ds }}' as dt,
    breakdown,
    breakdown_value,
    cast(step as bigint) as step,
    step_name,
    users,
    cast(users as double) / nullif(first_value(users) over w, 0) as conversion_from_start,
    cast(users as double) / nullif(lag(users) over w, 0) as conversion_from_previous
from reached
window w as (partition by funnel, breakdown, breakdown_value order by step)
