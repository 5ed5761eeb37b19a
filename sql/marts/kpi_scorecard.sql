/*---
materialized: daily
sort_by: [scope, community_id, period, kpi]
description: >
  The seed's operating targets checked every day
  (docs/metrics.md#kpi_scorecard), for the whole platform and for every
  community active in the period, over two periods: `7d` (the 7 days ending
  ds) and `qtd` (the quarter to date). Targets and directions come from
  vars.kpi_targets. KPIs: interaction_rate = (likes + comments + shares) /
  views; retention_7d = cohort users active again within 7 days (days 1-7)
  / cohort users and retention_day_7 = those active exactly on day 7 / cohort
  users, over the cohorts whose day 7 falls in the period (a cohort is the
  first active day: on the platform, or in the community); purchase_conversion =
  distinct buyers / distinct viewers; bounce_rate = sessions without a core
  action / sessions; active_user_growth = distinct active users / those of the
  previous period - 1 (7d: the 7 days before; qtd: the same number of days
  from the start of the previous quarter); stickiness = mean daily active
  users over the period / active users of the 30 days ending ds;
  community_activity = members (on ds) active in the period / members;
  k_factor (platform only) = invited joins in the period / users who sent an
  invite in it; repurchase_rate = buyers with 2 or more orders in the period /
  buyers (an order in a community is one whose first line is there). A target is a number, a number per period ({7d: .., qtd: ..})
  or, with direction `between`, a band [low, high].
columns:
  scope: platform or community
  community_id: the community (NULL for platform, and for the NULL community)
  period: 7d or qtd
  dt: the run day
  period_start: first day of the period
  kpi: the indicator (a key of vars.kpi_targets)
  actual: its value over the period; NULL when its denominator is 0
  target: the target from vars.kpi_targets (for a band, its low end)
  target_high: the band's high end; NULL unless direction is between
  direction: ">= (at least the target), <= (at most) or between (target <= actual <= target_high)"
  met: whether actual meets the target; NULL when actual is NULL
  gap: how far actual is on the good side of the target (actual - target for >=, target - actual for <=, the distance to the nearer end of a band, negative outside it); negative when missed
tests:
  - { unique: [scope, community_id, period, kpi] }
  - { not_null: [scope, period, dt, period_start, kpi, target, direction] }
  - { accepted_values: { column: scope, values: [platform, community] } }
  - { accepted_values: { column: period, values: [7d, qtd] } }
  - { accepted_values: { column: direction, values: [">=", "<=", between] } }
  - { expression: "(direction = 'between') = (target_high is not null)" }
  - { expression: "scope = 'community' or community_id is null" }
  - { expression: "(met is null) = (actual is null)" }
  - { expression: "kpi <> 'interaction_rate' or actual >= 0" }
  - { expression: "kpi <> 'active_user_growth' or actual >= -1" }
  # buyers need not have viewed, and a quarter's mean dau can exceed the last 30 days' users
  - { expression: "kpi not in ('retention_7d', 'retention_day_7', 'bounce_rate', 'community_activity', 'repurchase_rate') or actual between 0 and 1" }
  - { expression: "kpi <> 'k_factor' or scope = 'platform' or actual is null" }
  - { expression: "kpi not in ('purchase_conversion', 'stickiness') or actual >= 0" }
---*/
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
    -- invites carry no community: k_factor is a platform KPI
    select 'community', community_id,
           user_id, dt, views, likes, comments, shares, purchases, sessions, bounced_sessions, 0
    from community_user_daily
    where dt <= date '{{ ds }}'
),

-- Distinct users are counted in two steps, one row per user first, then
-- rows: count(distinct user_id) keeps one set of ids per group in memory
-- that cannot spill (a scope of 640,000 users did not fit a 2 GiB limit).
period_users as (
    select
        s.scope,
        s.community_id,
        p.period,
        s.user_id,
        sum(s.views) as views,
        sum(s.likes + s.comments + s.shares) as interactions,
        sum(s.sessions) as sessions,
        sum(s.bounced_sessions) as bounced_sessions,
        max(s.purchases) as purchases,
        max(s.invites) as invites,
        -- one row per scope, user and day: the user's active days
        count(*) as user_days
    from scoped s
    join periods p on s.dt between p.period_start and date '{{ ds }}'
    group by s.scope, s.community_id, p.period, s.user_id
),

in_period as (
    select
        scope,
        community_id,
        period,
        sum(views) as views,
        sum(interactions) as interactions,
        sum(sessions) as sessions,
        sum(bounced_sessions) as bounced_sessions,
        count(*) filter (where purchases > 0) as buyers,
        count(*) filter (where views > 0) as viewers,
        count(*) filter (where invites > 0) as inviters,
        count(*) as active_users,
        -- the sum of the daily active users
        sum(user_days) as user_days
    from period_users
    group by scope, community_id, period
),

in_previous as (
    select scope, community_id, period, count(*) as active_users
    from (
        select distinct s.scope, s.community_id, p.period, s.user_id
        from scoped s
        join periods p on s.dt between p.prev_start and p.prev_end
    ) u
    group by scope, community_id, period
),

monthly as (
    select scope, community_id, count(*) as mau
    from (
        select distinct scope, community_id, user_id
        from scoped
        where dt between date '{{ days_before(ds, 29) }}' and date '{{ ds }}'
    ) u
    group by scope, community_id
),

first_days as (
    select scope, community_id, user_id, min(dt) as first_day
    from scoped
    group by scope, community_id, user_id
),

cohort_users as (
    -- the users of the cohorts whose day 7 falls in the period, each with
    -- whether they came back on days 1-7 and on day 7 itself
    select
        f.scope,
        f.community_id,
        p.period,
        f.user_id,
        count(back.user_id) as days_back,
        max(case when back.dt = f.first_day + interval '7 days' then 1 else 0 end) as back_on_day_7
    from first_days f
    join periods p
        on f.first_day + interval '7 days' between p.period_start and date '{{ ds }}'
    left join scoped back
        on back.scope = f.scope
       and (back.community_id is not distinct from f.community_id)
       and back.user_id = f.user_id
       and back.dt between f.first_day + interval '1 day' and f.first_day + interval '7 days'
    group by f.scope, f.community_id, p.period, f.user_id
),

cohorts as (
    select
        scope,
        community_id,
        period,
        count(*) as cohort_users,
        count(*) filter (where days_back > 0) as retained_within_7,
        sum(back_on_day_7) as retained_day_7
    from cohort_users
    group by scope, community_id, period
),

members as (
    -- members on ds: in each community, and on the platform (a member of any)
    select 'community' as scope, community_id, user_id
    from community_membership
    where last_membership_event = 'join'
    union all
    select distinct 'platform', cast(null as varchar), user_id
    from community_membership
    where last_membership_event = 'join'
),

member_activity as (
    -- members, and those of them active in the scope in the period
    select
        m.scope,
        m.community_id,
        p.period,
        count(*) as members,
        count(u.user_id) as active_members
    from members m
    cross join periods p
    left join period_users u
        on u.scope = m.scope
       and (u.community_id is not distinct from m.community_id)
       and u.period = p.period
       and u.user_id = m.user_id
    group by m.scope, m.community_id, p.period
),

buyer_orders as (
    -- orders (docs/metrics.md#orders) per buyer, scope and period: on the
    -- platform, and in the community of the order's first line
    select o.scope, o.community_id, p.period, o.user_id, count(*) as orders
    from (
        -- a refund (negative amount) is no order
        select 'platform' as scope, cast(null as varchar) as community_id, user_id, dt
        from orders
        where dt <= date '{{ ds }}' and amount >= 0
        union all
        select 'community', community_id, user_id, dt
        from orders
        where dt <= date '{{ ds }}' and amount >= 0
    ) o
    join periods p on o.dt between p.period_start and date '{{ ds }}'
    group by o.scope, o.community_id, p.period, o.user_id
),

repurchases as (
    select scope, community_id, period,
           count(*) as buyers,
           count(*) filter (where orders >= 2) as repeat_buyers
    from buyer_orders
    group by scope, community_id, period
),

invited_joins as (
    select p.period, count(*) as invited_joins
    from referrals r
    join periods p on r.dt between p.period_start and date '{{ ds }}'
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
        cast(ma.active_members as double) / nullif(ma.members, 0) as community_activity,
        case when i.scope = 'platform'
             then cast(coalesce(j.invited_joins, 0) as double) / nullif(i.inviters, 0) end as k_factor,
        cast(rp.repeat_buyers as double) / nullif(rp.buyers, 0) as repurchase_rate
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
        on ma.scope = i.scope
       and (ma.community_id is not distinct from i.community_id)
       and ma.period = i.period
    left join invited_joins j on j.period = i.period
    left join repurchases rp
        on rp.scope = i.scope
       and (rp.community_id is not distinct from i.community_id)
       and rp.period = i.period
),

kpis as (
    -- one row per KPI of vars.kpi_targets and period: a target is a number,
    -- a number per period ({7d: .., qtd: ..}), or for `between` a band [low, high]
{%- for kpi, t in var.kpi_targets | items %}
    {%- if t.direction not in ['>=', '<=', 'between'] %}{{ kpi_direction_must_be_ge_le_or_between }}{% endif %}
    {%- set last_kpi = loop.last %}
    {%- for period in ['7d', 'qtd'] %}
    {%- set target = t.target[period] if t.target is mapping else t.target %}
    {%- if t.direction == 'between' %}
    {%- if target is not sequence or target is string or target | length != 2 %}{{ kpi_between_target_must_be_a_low_high_pair }}{% endif %}
    select '{{ kpi }}' as kpi, '{{ period }}' as period, cast({{ target[0] }} as double) as target,
           cast({{ target[1] }} as double) as target_high, '{{ t.direction }}' as direction
    {%- else %}
    select '{{ kpi }}' as kpi, '{{ period }}' as period, cast({{ target }} as double) as target,
           cast(null as double) as target_high, '{{ t.direction }}' as direction
    {%- endif %}
    {% if not (loop.last and last_kpi) %}union all{% endif %}
    {%- endfor %}
{%- endfor %}
),

measured as (
    -- every KPI of every scope and period: actuals is computed once and
    -- joined with the (few) KPI rows of its period, which sit on the left,
    -- the side kept in memory
    select
        a.scope,
        a.community_id,
        a.period,
        a.period_start,
        k.kpi,
        case k.kpi
        {%- for kpi, t in var.kpi_targets | items %}
            when '{{ kpi }}' then a.{{ kpi }}
        {%- endfor %}
        end as actual,
        k.target,
        k.target_high,
        k.direction
    from kpis k
    join actuals a on a.period = k.period
),

final as (
    select
        scope,
        community_id,
        period,
        date '{{ ds }}' as dt,
        period_start,
        kpi,
        actual,
        target,
        target_high,
        direction,
        case direction
            when '>=' then actual >= target
            when '<=' then actual <= target
            else actual between target and target_high
        end as met,
        case direction
            when '>=' then actual - target
            when '<=' then target - actual
            -- a band: the distance to its nearer end, negative outside
            else least(actual - target, target_high - actual)
        end as gap
    from measured
)

select * from final
