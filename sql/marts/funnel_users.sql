/*---
materialized: daily
sort_by: [funnel, user_id]
description: >
  Per configured funnel (config `funnels`), the level each user reached on
  ds (SPEC §5.5), with ClickHouse windowFunnel semantics: a chain starts at
  a step-1 event, each next step occurs at or after the previous matched
  step (strictly after with mode strict_increase) and within `window` of the
  chain's step-1 event; the level is the longest chain. Events with a date
  in [ds - window_days + 1, ds]. One row per funnel and user with at least
  one step-1 event in that range. match_by invitee: steps 2.. are events of
  one user whose referrer_id is the step-1 user. Pure SQL for now (greedy
  earliest next step per chain start, which finds the longest chain); the
  window_funnel aggregate will replace it.
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
{%- if 'strict_order' in f.mode or 'strict_deduplication' in f.mode %}
{{ funnel_mode_strict_order_and_strict_deduplication_need_window_funnel }}
{%- endif %}
{%- set unit = f.window[-1] %}
{%- if unit == 'd' %}{% set secs = f.window[:-1]|int * 86400 %}
{%- elif unit == 'h' %}{% set secs = f.window[:-1]|int * 3600 %}
{%- elif unit == 'm' %}{% set secs = f.window[:-1]|int * 60 %}
{%- elif unit == 's' %}{% set secs = f.window[:-1]|int %}
{%- else %}{% set secs = f.window|int %}{% endif %}
{%- set days = ((secs + 86399) // 86400) %}
{%- set after = '>' if 'strict_increase' in f.mode else '>=' %}
{%- set n = f.steps|length %}
f{{ loop.index }}_events as (
    -- SPEC §5.5: events with date in [D - window_days + 1, D]
    select *
    from funnel_events
    where dt between date '{{ days_before(ds, days - 1) }}' and date '{{ ds }}'
),
f{{ loop.index }}_c1 as (
    -- every step-1 event starts a chain
    select
        event_id as start_id,
        user_id,
        {% if f.match_by == 'invitee' %}cast(null as varchar){% else %}user_id{% endif %} as actor,
        event_time as t1,
        event_time as t_last,
        1 as level
    from f{{ loop.index }}_events
    where event_type = '{{ f.steps[0] }}'
),
{%- set outer = loop.index %}
{%- for k in range(2, n + 1) %}
f{{ outer }}_c{{ k }} as (
    -- step {{ k }} ({{ f.steps[k - 1] }}): the earliest matching event at or after the
    -- previous step and within the window of t1 (the earliest is always the best continuation)
    select
        c.start_id,
        c.user_id,
        coalesce(c.actor, min(e.user_id)) as actor,
        c.t1,
        coalesce(min(e.event_time), c.t_last) as t_last,
        c.level + case when min(e.event_time) is null then 0 else 1 end as level
    from f{{ outer }}_c{{ k - 1 }} c
    left join f{{ outer }}_events e
        on e.event_type = '{{ f.steps[k - 1] }}'
        {%- if f.match_by == 'invitee' and k == 2 %}
       and e.referrer_id = c.user_id
        {%- else %}
       and e.user_id = c.actor
        {%- endif %}
       and c.level = {{ k - 1 }}
       and e.event_time {{ after }} c.t_last
       and e.event_time <= c.t1 + interval '{{ secs }} seconds'
    group by c.start_id, c.user_id, c.actor, c.t1, c.t_last, c.level
    {%- if f.match_by == 'invitee' and k == 2 %}, e.user_id{% endif %}
),
{%- endfor %}
f{{ outer }}_levels as (
    select user_id, max(level) as level
    from f{{ outer }}_c{{ n }}
    group by user_id
),
f{{ outer }}_first as (
    -- the user's first step-1 event in the range: its community and channel
    select distinct on (user_id) user_id, community_id, channel
    from f{{ outer }}_events
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
        l.level,
        s.community_id as first_community_id,
        s.channel as first_channel
    from f{{ loop.index }}_levels l
    join f{{ loop.index }}_first s on s.user_id = l.user_id
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
)

select * from final
