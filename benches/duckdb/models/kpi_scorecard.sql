-- kpi_scorecard: shoal's SQL (sql/marts/kpi_scorecard.sql), but for DuckDB syntax; the
-- retention, community_activity and k_factor parts are written from
-- docs/metrics.md#kpi_scorecard (count(distinct), a semi join per window).
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
           user_id, dt, views, likes, comments, shares, purchases, sessions, bounced_sessions, invites
    from user_daily
    where dt <= date '{{ ds }}'
    union all
    select 'community', community_id,
           user_id, dt, views, likes, comments, shares, purchases, sessions, bounced_sessions, 0
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
        count(distinct s.user_id) filter (where s.invites > 0) as inviters,
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
    -- cohorts whose day 7 falls in the period: back within days 1-7, back on day 7
    select
        f.scope,
        f.community_id,
        p.period,
        count(*) as cohort_users,
        count(*) filter (where exists (
            select 1 from scoped b
            where b.scope = f.scope and b.community_id is not distinct from f.community_id
              and b.user_id = f.user_id and b.dt between f.first_day + 1 and f.first_day + 7)) as retained_within_7,
        count(*) filter (where exists (
            select 1 from scoped b
            where b.scope = f.scope and b.community_id is not distinct from f.community_id
              and b.user_id = f.user_id and b.dt = f.first_day + 7)) as retained_day_7
    from first_days f
    join periods p
        on f.first_day + 7 between p.period_start and date '{{ ds }}'
    group by f.scope, f.community_id, p.period
),

members as (
    select 'community' as scope, community_id, user_id
    from community_membership where last_membership_event = 'join'
    union
    select 'platform', null, user_id
    from community_membership where last_membership_event = 'join'
),

member_activity as (
    select m.scope, m.community_id, p.period,
           count(distinct m.user_id) as members,
           count(distinct m.user_id) filter (where exists (
               select 1 from scoped s
               where s.scope = m.scope and s.community_id is not distinct from m.community_id
                 and s.user_id = m.user_id and s.dt between p.period_start and date '{{ ds }}')) as active_members
    from members m, periods p
    group by all
),

repurchases as (
    -- docs/metrics.md#kpi_scorecard: buyers with 2+ orders in the period / buyers
    select scope, community_id, period,
           count(*) as buyers,
           count(*) filter (where n >= 2) as repeat_buyers
    from (
        select x.scope, x.community_id, p.period, x.user_id, count(*) as n
        from (
            -- a refund (negative amount) is no order
            select 'platform' as scope, null::varchar as community_id, user_id, dt from orders where amount >= 0
            union all
            select 'community', community_id, user_id, dt from orders where amount >= 0
        ) x
        join periods p on x.dt between p.period_start and date '{{ ds }}'
        group by all
    )
    group by all
),

invited_joins as (
    select p.period, count(*) as invited_joins
    from referrals r join periods p on r.dt between p.period_start and date '{{ ds }}'
    where r.event_type = 'join'
    group by p.period
),

actuals as (
    select
        i.scope,
        i.community_id,
        i.period,
        p.period_start,
        cast(i.interactions as double) / nullif(i.views, 0) as interaction_rate,
        cast(c.retained_within_7 as double) / nullif(c.cohort_users, 0) as retention_7d,
        cast(c.retained_day_7 as double) / nullif(c.cohort_users, 0) as retention_day_7,
        cast(i.buyers as double) / nullif(i.viewers, 0) as purchase_conversion,
        cast(i.bounced_sessions as double) / nullif(i.sessions, 0) as bounce_rate,
        cast(i.active_users as double) / nullif(v.active_users, 0) - 1.0 as active_user_growth,
        cast(i.user_days as double) / p.days / nullif(m.mau, 0) as stickiness,
        ma.active_members / nullif(ma.members, 0)::double as community_activity,
        case when i.scope = 'platform' then coalesce(j.invited_joins, 0) / nullif(i.inviters, 0)::double end as k_factor,
        rp.repeat_buyers / nullif(rp.buyers, 0)::double as repurchase_rate
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
    left join member_activity ma
        on ma.scope = i.scope and ma.community_id is not distinct from i.community_id and ma.period = i.period
    left join invited_joins j on j.period = i.period
    left join repurchases rp
        on rp.scope = i.scope and rp.community_id is not distinct from i.community_id and rp.period = i.period
),

final as (
{%- for kpi, t in var.kpi_targets | items %}
{%- set last_kpi = loop.last %}
{%- for period in ['7d', 'qtd'] %}
{%- set target = t.target[period] if t.target is mapping else t.target %}
    select
        scope,
        community_id,
        period,
        date '{{ ds }}' as dt,
        period_start,
        '{{ kpi }}' as kpi,
        {{ kpi }} as actual,
        {%- if t.direction == 'between' %}
        cast({{ target[0] }} as double) as target,
        cast({{ target[1] }} as double) as target_high,
        '{{ t.direction }}' as direction,
        {{ kpi }} between {{ target[0] }} and {{ target[1] }} as met,
        least({{ kpi }} - {{ target[0] }}, {{ target[1] }} - {{ kpi }}) as gap
        {%- else %}
        cast({{ target }} as double) as target,
        null::double as target_high,
        '{{ t.direction }}' as direction,
        {%- if t.direction == '>=' %}
        {{ kpi }} >= {{ target }} as met,
        {{ kpi }} - {{ target }} as gap
        {%- elif t.direction == '<=' %}
        {{ kpi }} <= {{ target }} as met,
        {{ target }} - {{ kpi }} as gap
        {%- else %}
        {{ kpi_direction_must_be_ge_le_or_between }}
        {%- endif %}
        {%- endif %}
    from actuals
    where period = '{{ period }}'
    {% if not (loop.last and last_kpi) %}union all{% endif %}
{%- endfor %}
{%- endfor %}
)

select * from final
