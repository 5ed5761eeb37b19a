-- member_comparison (docs/metrics.md#member_comparison), dt = ds. Written from the definition, not from
-- shoal's SQL: membership on the three days (ds, ds - 7, ds - 30) is one
-- arg_max over the join/quit history crossed with those days; each
-- population (the 30 days ending ds, the two retention bases) is its own
-- set of (community, user, group) rows, aggregated in long form
-- (community x group) and pivoted to one row per community at the end.
-- sort_by: community_id
with cuts(cut, cut_day) as (
    values ('d0', date '{{ ds }}'), ('d7', date '{{ ds }}' - 7), ('d30', date '{{ ds }}' - 30)
),
status as (
    -- the latest join/quit up to the cut; a day's row already holds that
    -- day's latest (a quit winning a tie), and days never tie in time
    select c.cut, m.community_id, m.user_id,
           arg_max(m.last_membership_event, m.last_membership_time) = 'join' as is_member
    from community_user_daily m
    join cuts c on m.dt <= c.cut_day
    where m.last_membership_event is not null
    group by all
),
days as (
    select * from community_user_daily
    where dt between date '{{ ds }}' - 59 and date '{{ ds }}'
),
last30 as (
    select community_id, user_id,
           count(*) as active_days,
           sum(likes + comments + shares) as interactions,
           sum(views) as views,
           sum(purchases) > 0 as bought,
           sum(cast(revenue as decimal(38, 6))) as revenue
    from days where dt >= date '{{ ds }}' - 29
    group by all
),
group_of as (
    -- the group of a (community, user) on a cut: member or non_member
    select x.*, case when coalesce(s.is_member, false) then 'member' else 'non_member' end as grp
    from (
        select distinct community_id, user_id, c.cut from days, cuts c
    ) x
    left join status s
      on s.cut = x.cut and s.community_id is not distinct from x.community_id and s.user_id = x.user_id
),
pop30 as (
    select g.community_id, g.grp,
           count(*) as users,
           sum(l.active_days) as active_days,
           sum(l.interactions) as interactions,
           sum(l.views) as views,
           count(*) filter (where l.bought) as buyers,
           cast(sum(l.revenue) as double) as revenue
    from last30 l
    join group_of g on g.cut = 'd0' and g.community_id is not distinct from l.community_id and g.user_id = l.user_id
    group by all
),
bases as (
    -- (n, base period, return period) of the two retention figures
    select * from (values
        (7, 'd7', date '{{ ds }}' - 13, date '{{ ds }}' - 7, date '{{ ds }}' - 6),
        (30, 'd30', date '{{ ds }}' - 59, date '{{ ds }}' - 30, date '{{ ds }}' - 29)
    ) b(n, cut, base_from, base_to, back_from)
),
base_users as (
    select distinct b.n, b.cut, b.back_from, d.community_id, d.user_id
    from days d join bases b on d.dt between b.base_from and b.base_to
),
retention as (
    select u.community_id, g.grp, u.n,
           count(*) as base,
           count(*) filter (where exists (
               select 1 from days d
               where d.community_id is not distinct from u.community_id and d.user_id = u.user_id
                 and d.dt >= u.back_from)) as retained
    from base_users u
    join group_of g on g.cut = u.cut and g.community_id is not distinct from u.community_id and g.user_id = u.user_id
    group by all
),
communities as (
    select distinct community_id from days
),
long as (
    select c.community_id, grp.grp,
           coalesce(p.users, 0) as users,
           p.active_days / p.users as active_days,
           p.interactions / nullif(p.views, 0) as interaction_rate,
           r7.retained / r7.base as retention_7d,
           r30.retained / r30.base as retention_30d,
           p.buyers / p.users as purchase_conversion,
           p.revenue / p.users as arpu
    from communities c
    cross join (values ('member'), ('non_member')) grp(grp)
    left join pop30 p on p.community_id is not distinct from c.community_id and p.grp = grp.grp
    left join retention r7 on r7.n = 7 and r7.community_id is not distinct from c.community_id and r7.grp = grp.grp
    left join retention r30 on r30.n = 30 and r30.community_id is not distinct from c.community_id and r30.grp = grp.grp
),
wide as (
    select community_id,
           {%- for m in ['users', 'active_days', 'interaction_rate', 'retention_7d', 'retention_30d', 'purchase_conversion', 'arpu'] %}
           max({{ m }}) filter (where grp = 'member') as m_{{ m }},
           max({{ m }}) filter (where grp = 'non_member') as n_{{ m }},
           {%- endfor %}
    from long
    group by community_id
)
select
    community_id,
    date '{{ ds }}' as dt,
    m_users as members,
    n_users as non_members,
    {%- for m in ['active_days', 'interaction_rate', 'retention_7d', 'retention_30d', 'purchase_conversion', 'arpu'] %}
    m_{{ m }} as member_{{ m }},
    n_{{ m }} as non_member_{{ m }},
    m_{{ m }} / nullif(n_{{ m }}, 0) as {{ m }}_ratio,
    {%- endfor %}
from wide
