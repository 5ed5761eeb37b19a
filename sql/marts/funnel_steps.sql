/*---
materialized: daily
sort_by: [funnel, breakdown, breakdown_value, step]
description: >
  Users reaching each step of each configured funnel on ds
  (docs/metrics.md#funnel_steps), in total and broken down by the community
  and the channel of the user's first step-1 event in the window. Every step
  has a row in every breakdown group, 0 users included.
columns:
  funnel: funnel name
  dt: the run day
  breakdown: total, community_id or channel
  breakdown_value: the community or channel (NULL for total, and for the NULL community/channel)
  step: 1-based step number
  step_name: the step's event type
  users: users whose level is at least step
  conversion_from_start: users / users of step 1
  conversion_from_previous: users / users of the previous step; NULL for step 1 and after an empty step
tests:
  - { unique: [funnel, breakdown, breakdown_value, step] }
  - { not_null: [funnel, dt, breakdown, step, step_name, users] }
  - { accepted_values: { column: breakdown, values: [total, community_id, channel] } }
  - { expression: "conversion_from_start between 0 and 1 and conversion_from_previous between 0 and 1" }
  - { expression: "breakdown <> 'total' or breakdown_value is null" }
---*/
with levels as (
    select funnel, user_id, level, first_community_id, first_channel
    from funnel_users
    where dt = date '{{ ds }}'
),

steps as (
    select funnel, step, step_name
    from (values
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

groups as (
    select distinct funnel, breakdown, breakdown_value from grouped
),

reached as (
    select
        g.funnel,
        g.breakdown,
        g.breakdown_value,
        s.step,
        s.step_name,
        count(u.level) as users
    from groups g
    join steps s on s.funnel = g.funnel
    left join grouped u
        on u.funnel = g.funnel
       and u.breakdown = g.breakdown
       and (u.breakdown_value is not distinct from g.breakdown_value)
       and u.level >= s.step
    group by g.funnel, g.breakdown, g.breakdown_value, s.step, s.step_name
),

final as (
    select
        funnel,
        date '{{ ds }}' as dt,
        breakdown,
        breakdown_value,
        step,
        step_name,
        users,
        -- conversion_from_start = users / users of step 1
        cast(users as double) / nullif(first_value(users) over w, 0) as conversion_from_start,
        -- conversion_from_previous = users / users of step - 1
        cast(users as double) / nullif(lag(users) over w, 0) as conversion_from_previous
    from reached
    window w as (partition by funnel, breakdown, breakdown_value order by step)
)

select * from final
