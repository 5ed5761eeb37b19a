/*---
materialized: daily
sort_by: [funnel, user_id]
description: >
  Per configured funnel (config `funnels`), the level each user reached on ds
  (docs/metrics.md#funnel_users), computed by the window_funnel aggregate with
  ClickHouse windowFunnel semantics: a chain starts at a step-1 event, each
  next step occurs after the previous matched step and within `window` of the
  chain's step-1 event, the level is the longest chain; `mode` is passed
  through (strict_order, strict_deduplication, strict_increase). Events with a
  date in [ds - window_days + 1, ds]. One row per funnel and user with at
  least one step-1 event in that range. match_by invitee: step 2 is a join
  whose referrer_id is the step-1 user and the later steps are events of that
  one invitee; the inviter's level is the best over their invitees.
columns:
  funnel: funnel name
  user_id: the user (for match_by invitee, the inviter)
  dt: the run day
  level: steps reached, 1 .. number of steps
  first_community_id: community of the user's first step-1 event in the range
  first_channel: channel of that event
tests:
  - { unique: [funnel, user_id] }
  - { not_null: [funnel, user_id, dt, level] }
  - { expression: "level >= 1" }
---*/
with
{%- for f in funnels %}
{%- set unit = f.window[-1] %}
{%- if unit == 'd' %}{% set secs = f.window[:-1]|int * 86400 %}
{%- elif unit == 'h' %}{% set secs = f.window[:-1]|int * 3600 %}
{%- elif unit == 'm' %}{% set secs = f.window[:-1]|int * 60 %}
{%- elif unit == 's' %}{% set secs = f.window[:-1]|int %}
{%- else %}{% set secs = f.window|int %}{% endif %}
{%- set days = ((secs + 86399) // 86400) %}
{%- set i = loop.index %}
f{{ i }}_events as (
    -- events with date in [D - window_days + 1, D]
    select *
    from funnel_events
    where dt between date '{{ days_before(ds, days - 1) }}' and date '{{ ds }}'
      and event_type in ({% for s in f.steps %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %})
),
{%- if f.match_by == 'invitee' %}
f{{ i }}_pairs as (
    -- one chain per (inviter, invitee): the invitee's join names the inviter
    select distinct referrer_id as owner, user_id as invitee
    from f{{ i }}_events
    where event_type = '{{ f.steps[1] }}' and referrer_id is not null
),
f{{ i }}_rows as (
    -- step 1: the inviter's events, once per invitee (and once alone, so an
    -- inviter without any invitee still reaches level 1)
    select e.user_id as owner, p.invitee, e.event_time, 1 as step
    from f{{ i }}_events e
    join (
        select owner, invitee from f{{ i }}_pairs
        union all
        select distinct user_id, cast(null as varchar) from f{{ i }}_events
        where event_type = '{{ f.steps[0] }}'
    ) p on p.owner = e.user_id
    where e.event_type = '{{ f.steps[0] }}'
    union all
    -- step 2: the invitee's join naming the inviter
    select referrer_id, user_id, event_time, 2
    from f{{ i }}_events
    where event_type = '{{ f.steps[1] }}' and referrer_id is not null
    {%- for k in range(3, f.steps|length + 1) %}
    union all
    -- step {{ k }}: the invitee's own {{ f.steps[k - 1] }} events
    select p.owner, e.user_id, e.event_time, {{ k }}
    from f{{ i }}_events e
    join f{{ i }}_pairs p on p.invitee = e.user_id
    where e.event_type = '{{ f.steps[k - 1] }}'
    {%- endfor %}
),
f{{ i }}_levels as (
    select owner as user_id, max(level) as level
    from (
        select owner, invitee,
               window_funnel({{ secs }}, '{{ f.mode|join(",") }}', event_time
                   {%- for s in f.steps %}, step = {{ loop.index }}{% endfor %}) as level
        from f{{ i }}_rows
        group by owner, invitee
    ) chains
    group by owner
),
{%- else %}
f{{ i }}_levels as (
    select user_id,
           window_funnel({{ secs }}, '{{ f.mode|join(",") }}', event_time
               {%- for s in f.steps %}, event_type = '{{ s }}'{% endfor %}) as level
    from f{{ i }}_events
    group by user_id
),
{%- endif %}
f{{ i }}_first as (
    -- the user's first step-1 event in the range: its community and channel
    select distinct on (user_id) user_id, community_id, channel
    from f{{ i }}_events
    where event_type = '{{ f.steps[0] }}'
    order by user_id, event_time, event_id
),
{%- endfor %}

final as (
{%- for f in funnels %}
    select
        '{{ f.name }}' as funnel,
        l.user_id,
        date '{{ ds }}' as dt,
        cast(l.level as bigint) as level,
        s.community_id as first_community_id,
        s.channel as first_channel
    from f{{ loop.index }}_levels l
    join f{{ loop.index }}_first s on s.user_id = l.user_id
    where l.level >= 1
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
)

select * from final
