-- kpi_scorecard: shoal's SQL (sql/marts/kpi_scorecard.sql), unchanged but for DuckDB syntax.
-- sort_by: scope, community_id, period, kpi
{%- set q0 = quarter_start(ds) %}
{%- set qdays = days_between(q0, ds) + 1 %}
{%- set pq0 = quarter_start(ds, 1) %}
{%- set pq1 = days_after(pq0, qdays - 1) %}
{%- if pq1 >= q0 %}{% set pq1 = days_before(q0, 1) %}{% endif %}
with periods as (
    select '7d' as period,
           date '{{ days_before(ds, 6) }}' as period_start,
           date '{{ days_before(ds, 13) }}' as prev_start,
           date '{{ days_before(ds, 7) }}' as prev_end,
           7 as days
    union all
    select 'qtd',
           date '{{ q0 }}',
           date '{{ pq0 }}',
           date '{{ pq1 }}',
           {{ qdays }}
),

scoped as (
    -- every user-day twice: once for the platform, once for its community
    select 'platform' as scope, cast(null as varchar) as community_id,
           user_id, dt, views, likes, comments, shares, purchases, sessions, bounced_sessions
    from user_daily
    where dt <= date '{{ ds }}'
    union all
    select 'community', community_id,
           user_id, dt, views, likes, comments, shares, purchases, sessions, bounced_sessions
    from community_user_daily
    where dt <= date '{{ ds }}'
),

in_period as (
    select
        s.scope,
        s.community_id,
        p.period,
        sum(s.views) as views,
        sum(s.likes + s.comments + s.shares) as interactions,
        sum(s.sessions) as sessions,
        sum(s.bounced_sessions) as bounced_sessions,
        count(distinct s.user_id) filter (where s.purchases > 0) as buyers,
        count(distinct s.user_id) filter (where s.views > 0) as viewers,
        count(distinct s.user_id) as active_users,
        -- one row per scope, user and day: the sum of the daily active users
        count(*) as user_days
    from scoped s
    join periods p on s.dt between p.period_start and date '{{ ds }}'
    group by s.scope, s.community_id, p.period
),

in_previous as (
    select s.scope, s.community_id, p.period, count(distinct s.user_id) as active_users
    from scoped s
    join periods p on s.dt between p.prev_start and p.prev_end
    group by s.scope, s.community_id, p.period
),

monthly as (
    select scope, community_id, count(distinct user_id) as mau
    from scoped
    where dt between date '{{ days_before(ds, 29) }}' and date '{{ ds }}'
    group by scope, community_id
),

first_days as (
    select scope, community_id, user_id, min(dt) as first_day
    from scoped
    group by scope, community_id, user_id
),

cohorts as (
    -- cohorts whose day 7 falls in the period
    select
        f.scope,
        f.community_id,
        p.period,
        count(*) as cohort_users,
        count(back.user_id) as retained
    from first_days f
    join periods p
        on f.first_day + 7 between p.period_start and date '{{ ds }}'
    left join scoped back
        on back.scope = f.scope
       and (back.community_id is not distinct from f.community_id)
       and back.user_id = f.user_id
       and back.dt = f.first_day + 7
    group by f.scope, f.community_id, p.period
),

actuals as (
    select
        i.scope,
        i.community_id,
        i.period,
        p.period_start,
        cast(i.interactions as double) / nullif(i.views, 0) as interaction_rate,
        cast(c.retained as double) / nullif(c.cohort_users, 0) as retention_7d,
        cast(i.buyers as double) / nullif(i.viewers, 0) as purchase_conversion,
        cast(i.bounced_sessions as double) / nullif(i.sessions, 0) as bounce_rate,
        cast(i.active_users as double) / nullif(v.active_users, 0) - 1.0 as active_user_growth,
        cast(i.user_days as double) / p.days / nullif(m.mau, 0) as stickiness
    from in_period i
    join periods p on p.period = i.period
    left join in_previous v
        on v.scope = i.scope
       and (v.community_id is not distinct from i.community_id)
       and v.period = i.period
    left join monthly m
        on m.scope = i.scope
       and (m.community_id is not distinct from i.community_id)
    left join cohorts c
        on c.scope = i.scope
       and (c.community_id is not distinct from i.community_id)
       and c.period = i.period
),

final as (
{%- for kpi, t in var.kpi_targets | items %}
    select
        scope,
        community_id,
        period,
        date '{{ ds }}' as dt,
        period_start,
        '{{ kpi }}' as kpi,
        {{ kpi }} as actual,
        cast({{ t.target }} as double) as target,
        '{{ t.direction }}' as direction,
        {%- if t.direction == '>=' %}
        {{ kpi }} >= {{ t.target }} as met,
        {{ kpi }} - {{ t.target }} as gap
        {%- elif t.direction == '<=' %}
        {{ kpi }} <= {{ t.target }} as met,
        {{ t.target }} - {{ kpi }} as gap
        {%- else %}
        {{ kpi_direction_must_be_ge_or_le }}
        {%- endif %}
    from actuals
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
)

select * from final
