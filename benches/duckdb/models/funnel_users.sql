-- funnel_users (docs/metrics.md#funnel_users), dt = ds. DuckDB has no windowFunnel; this is the
-- ASOF-join formulation of benches/funnel/duckdb.sql (its faster one on the
-- small set): for each step-1 event the earliest step-2 event at or after
-- it, then the earliest step-3 event at or after that, ... (the greedy chain,
-- optimal for a fixed start in mode []); the level counts the steps within
-- `window` of the step-1 event and a user's level is the best over step-1
-- events. Only mode [] is ported (the config's funnels use it), and steps
-- must be distinct event types. match_by invitee: step 2 is a join naming
-- the step-1 user as referrer_id, later steps are that invitee's events;
-- the inviter's level is the best over invitees (and 1 without any).
-- sort_by: funnel, user_id
with
{%- for f in funnels %}
{%- if f.mode %}{{ raise_only_mode_empty_is_ported }}{% endif %}
{%- set unit = f.window[-1] %}
{%- if unit == 'd' %}{% set secs = f.window[:-1]|int * 86400 %}
{%- elif unit == 'h' %}{% set secs = f.window[:-1]|int * 3600 %}
{%- elif unit == 'm' %}{% set secs = f.window[:-1]|int * 60 %}
{%- elif unit == 's' %}{% set secs = f.window[:-1]|int %}
{%- else %}{% set secs = f.window|int %}{% endif %}
{%- set days = ((secs + 86399) // 86400) %}
{%- set i = loop.index %}
{%- set w = secs * 1000000 %}
f{{ i }}_events as (
    select user_id, epoch_us(event_time) as t, event_type, event_id, community_id, channel, referrer_id
    from funnel_events
    where dt between date '{{ days_before(ds, days - 1) }}' and date '{{ ds }}'
      and event_type in ({% for s in f.steps %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %})
),
{%- if f.match_by == 'invitee' %}
f{{ i }}_s1 as (
    -- each step-1 event of the inviter, once per invitee and once alone
    select e.user_id as owner, p.invitee, e.t as t1
    from f{{ i }}_events e
    left join (select distinct referrer_id as owner, user_id as invitee
               from f{{ i }}_events where event_type = '{{ f.steps[1] }}' and referrer_id is not null) p
        on p.owner = e.user_id
    where e.event_type = '{{ f.steps[0] }}'
),
f{{ i }}_e2 as (
    select referrer_id as owner, user_id as invitee, t
    from f{{ i }}_events where event_type = '{{ f.steps[1] }}' and referrer_id is not null
),
f{{ i }}_c2 as (
    select s.*, e.t as t2
    from f{{ i }}_s1 s asof left join f{{ i }}_e2 e
        on e.owner = s.owner and e.invitee = s.invitee and e.t >= s.t1
),
{%- for k in range(3, f.steps|length + 1) %}
f{{ i }}_c{{ k }} as (
    -- guarded: DuckDB's ASOF LEFT JOIN matched a NULL t{{ k - 1 }} here
    select c.*, case when c.t{{ k - 1 }} is not null then e.t end as t{{ k }}
    from f{{ i }}_c{{ k - 1 }} c asof left join
        (select user_id, t from f{{ i }}_events where event_type = '{{ f.steps[k - 1] }}') e
        on e.user_id = c.invitee and e.t >= c.t{{ k - 1 }}
),
{%- endfor %}
f{{ i }}_levels as (
    select owner as user_id,
           max(case {% for k in range(f.steps|length, 1, -1) %}when t{{ k }} <= t1 + {{ w }} then {{ k }} {% endfor %}else 1 end) as level
    from f{{ i }}_c{{ f.steps|length }}
    group by owner
),
{%- else %}
f{{ i }}_c1 as (
    select user_id, t as t1 from f{{ i }}_events where event_type = '{{ f.steps[0] }}'
),
{%- for k in range(2, f.steps|length + 1) %}
f{{ i }}_c{{ k }} as (
    -- guarded: DuckDB's ASOF LEFT JOIN matched a NULL t{{ k - 1 }} here
    select c.*, case when c.t{{ k - 1 }} is not null then e.t end as t{{ k }}
    from f{{ i }}_c{{ k - 1 }} c asof left join
        (select user_id, t from f{{ i }}_events where event_type = '{{ f.steps[k - 1] }}') e
        on e.user_id = c.user_id and e.t >= c.t{{ k - 1 }}
),
{%- endfor %}
f{{ i }}_levels as (
    select user_id,
           max(case {% for k in range(f.steps|length, 1, -1) %}when t{{ k }} <= t1 + {{ w }} then {{ k }} {% endfor %}else 1 end) as level
    from f{{ i }}_c{{ f.steps|length }}
    group by user_id
),
{%- endif %}
f{{ i }}_first as (
    -- the user's first step-1 event in the range: its community and channel
    -- one arg_min of a struct: arg_min skips rows whose value is NULL, and a NULL
    -- community or channel of the first event must stay NULL
    select user_id, first.community_id, first.channel
    from (select user_id, arg_min({'community_id': community_id, 'channel': channel}, (t, event_id)) as first
          from f{{ i }}_events
          where event_type = '{{ f.steps[0] }}'
          group by user_id)
),
{%- endfor %}
final as (
{%- for f in funnels %}
    select '{{ f.name }}' as funnel, l.user_id, date '{{ ds }}' as dt, cast(l.level as bigint) as level,
           s.community_id as first_community_id, s.channel as first_channel
    from f{{ loop.index }}_levels l join f{{ loop.index }}_first s using (user_id)
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
)
select * from final
