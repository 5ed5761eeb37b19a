/*---
materialized: daily
sort_by: [cohort_kind, cohort_week, scope, value, window_days]
description: >
  Lifetime value of weekly cohorts on ds (docs/metrics.md#ltv_cohorts). A
  user's cohort is the ISO week (from its Monday) of their first order
  (cohort_kind first_order) or of their first active day (first_active),
  over all history up to ds. For each window of vars.ltv_windows days
  (shipped 7, 14, 30, 60, 90, 180, 365) the cohort's revenue is the sum of
  its users' orders in their own first window_days days from that first
  day; refunds are not orders and are not subtracted. Rows for the whole
  cohort (scope all), per acquisition channel (the channel of the user's
  first event) and per acquisition (referred: a referred signup or join on
  the first active day; organic otherwise). A figure is NULL until every
  member's window has closed (ds >= cohort_week + 6 + window_days - 1), so
  it appears once and never changes afterwards.
columns:
  dt: the run day
  cohort_kind: first_order or first_active
  cohort_week: Monday of the ISO week of the users' first order / first active day
  scope: all, channel or acquisition
  value: NULL for all; the acquisition channel (NULL is its own group) for channel; referred or organic for acquisition
  window_days: w, from vars.ltv_windows
  cohort_users: users in the cohort and group
  revenue: the sum of the cohort users' order amounts on days first_day .. first_day + w - 1 (refunds excluded); NULL until the window has closed for every member
  ltv: revenue / cohort_users, the cumulative revenue per user at w days; NULL while revenue is
tests:
  - { unique: [cohort_kind, cohort_week, scope, value, window_days] }
  - { not_null: [dt, cohort_kind, cohort_week, scope, window_days, cohort_users] }
  - { accepted_values: { column: cohort_kind, values: [first_order, first_active] } }
  - { accepted_values: { column: scope, values: [all, channel, acquisition] } }
  - { expression: "cohort_users >= 1 and revenue >= 0 and ltv >= 0" }
  - { expression: "(revenue is null) = (dt - cohort_week < 5 + window_days)" }
  - { expression: "scope <> 'acquisition' or value in ('referred', 'organic')" }
---*/
{%- set ltv_windows = var.ltv_windows | default([7, 14, 30, 60, 90, 180, 365]) %}
with activity as (
    select user_id, dt, first_channel
    from user_daily
    where dt <= date '{{ ds }}'
),

first_active as (
    select user_id, min(dt) as first_day
    from activity
    group by user_id
),

referred as (
    -- invitees whose signup or join carried a referrer_id, per day
    select distinct invitee_id as user_id, dt
    from referrals
    where dt <= date '{{ ds }}'
),

acquired as (
    -- the first active day, the channel of that day's first event, and
    -- whether the user arrived by an invite (a referred signup or join that day)
    select
        f.user_id,
        f.first_day,
        a.first_channel as channel,
        case when r.user_id is not null then 'referred' else 'organic' end as acquisition
    from first_active f
    join activity a on a.user_id = f.user_id and a.dt = f.first_day
    left join referred r on r.user_id = f.user_id and r.dt = f.first_day
),

sales as (
    -- orders only: a refund (negative amount) is no order (docs/metrics.md#orders)
    select user_id, dt, amount
    from orders
    where dt <= date '{{ ds }}' and amount >= 0
),

anchors as (
    -- each user once per cohort kind, with the day their cohort starts
    select 'first_active' as cohort_kind, user_id, first_day as anchor_day
    from acquired
    union all
    select 'first_order', user_id, min(dt)
    from sales
    group by user_id
),

windowed as (
    -- a user's revenue in each window w: orders on anchor_day .. anchor_day + w - 1
    -- (money as decimal(38, 6): exact in any order, so reruns give the same
    -- bits); an inner join, so users without an order have no row here
    select
        a.cohort_kind,
        a.user_id
        {%- for w in ltv_windows %},
        sum(cast(s.amount as decimal(38, 6))) filter (where s.dt - a.anchor_day < {{ w }}) as revenue_{{ loop.index }}
        {%- endfor %}
    from anchors a
    join sales s on s.user_id = a.user_id and s.dt >= a.anchor_day
    group by a.cohort_kind, a.user_id
),

per_user as (
    -- every anchored user, 0 without an order in a window (joined on keys
    -- only: a Ballista cluster mishandles a left join carrying a range)
    select
        a.cohort_kind,
        a.user_id,
        a.anchor_day
        {%- for w in ltv_windows %},
        coalesce(r.revenue_{{ loop.index }}, 0) as revenue_{{ loop.index }}
        {%- endfor %}
    from anchors a
    left join windowed r on r.cohort_kind = a.cohort_kind and r.user_id = a.user_id
),

cells as (
    -- the cohorts split by both channel and acquisition: small enough to
    -- roll up and unpivot below
    select
        p.cohort_kind,
        cast(date_trunc('week', p.anchor_day) as date) as cohort_week,
        q.channel,
        q.acquisition,
        count(*) as cohort_users
        {%- for w in ltv_windows %},
        sum(p.revenue_{{ loop.index }}) as revenue_{{ loop.index }}
        {%- endfor %}
    from per_user p
    join acquired q on q.user_id = p.user_id
    group by 1, 2, 3, 4
),

scopes as (
    select scope
    from (values ('all'), ('channel'), ('acquisition')) as t(scope)
),

scoped as (
    -- every cell once per scope: a cross join with the scopes (a union of
    -- three selects would compute cells three times)
    select
        c.cohort_kind,
        c.cohort_week,
        s.scope,
        case s.scope when 'channel' then c.channel when 'acquisition' then c.acquisition end as value,
        c.cohort_users
        {%- for w in ltv_windows %}, c.revenue_{{ loop.index }}{% endfor %}
    from cells c
    cross join scopes s
),

grouped as (
    select
        cohort_kind,
        cohort_week,
        scope,
        value,
        sum(cohort_users) as cohort_users
        {%- for w in ltv_windows %},
        sum(revenue_{{ loop.index }}) as revenue_{{ loop.index }}
        {%- endfor %}
    from scoped
    group by cohort_kind, cohort_week, scope, value
),

windows as (
    select idx, window_days
    from (values
    {%- for w in ltv_windows %}
        ({{ loop.index }}, {{ w }}){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as t(idx, window_days)
),

long as (
    -- one row per window: a cross join with the windows, the revenue column
    -- picked by position (not a union, which would compute grouped per window)
    select
        g.cohort_kind,
        g.cohort_week,
        g.scope,
        g.value,
        w.window_days,
        g.cohort_users,
        cast(case w.idx
        {%- for w in ltv_windows %}
            when {{ loop.index }} then g.revenue_{{ loop.index }}
        {%- endfor %}
        end as double) as revenue
    from grouped g
    cross join windows w
),

final as (
    select
        date '{{ ds }}' as dt,
        cohort_kind,
        cohort_week,
        scope,
        value,
        cast(window_days as bigint) as window_days,
        cohort_users,
        -- closed when the cohort's last possible first day (cohort_week + 6)
        -- has had its w days: ds >= cohort_week + 6 + w - 1
        case when date '{{ ds }}' - cohort_week >= 5 + window_days then revenue end as revenue,
        -- ltv = revenue / cohort_users
        case when date '{{ ds }}' - cohort_week >= 5 + window_days
            then revenue / cast(cohort_users as double) end as ltv
    from long
)

select * from final
