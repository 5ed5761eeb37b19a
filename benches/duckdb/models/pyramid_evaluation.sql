-- pyramid_evaluation (docs/metrics.md#pyramid_evaluation): shoal's SQL (sql/marts/pyramid_evaluation.sql), but
-- the ds - 1 segments come from user_segments_prev (pack.py builds it first, as for segment_transitions).
-- sort_by: community_id, pyramid_level
{%- set grades = segments.maturity_grades | default({"A": 85, "B": 70, "C": 55}) %}
with members as (
    select community_id, user_id
    from community_membership
    where last_membership_event = 'join'
),

today as (
    select user_id, pyramid_level from user_segments where dt = date '{{ ds }}'
),

yesterday as (
    select user_id, pyramid_level from user_segments_prev where dt = date '{{ days_before(ds, 1) }}'
),

levels as (
    select pyramid_level from (values (1), (2), (3), (4), (5)) as t(pyramid_level)
),

member_levels as (
    select
        m.community_id,
        m.user_id,
        t.pyramid_level,
        y.pyramid_level as prev_level
    from members m
    join today t on t.user_id = m.user_id
    left join yesterday y on y.user_id = m.user_id
),

revenue as (
    -- money summed as decimal(38, 6): exact, so a rerun gives the same bits
    select community_id, user_id, sum(cast(amount as decimal(38, 6))) as revenue_30
    from orders
    where dt between date '{{ days_before(ds, 29) }}' and date '{{ ds }}'
    group by community_id, user_id
),

member_revenue as (
    select
        ml.community_id,
        ml.pyramid_level,
        sum(r.revenue_30) as revenue_30
    from member_levels ml
    join revenue r on (r.community_id is not distinct from ml.community_id) and r.user_id = ml.user_id
    group by ml.community_id, ml.pyramid_level
),

communities as (
    select distinct community_id from member_levels
),

grid as (
    select c.community_id, l.pyramid_level
    from communities c
    cross join levels l
),

now_counts as (
    select community_id, pyramid_level, count(*) as members
    from member_levels
    group by community_id, pyramid_level
),

prev_counts as (
    select
        community_id,
        prev_level as pyramid_level,
        count(*) as members_prev,
        count(case when pyramid_level > prev_level then 1 end) as moved_up
    from member_levels
    where prev_level is not null
    group by community_id, prev_level
),

health as (
    select community_id, health_score
    from community_health_weekly
    where dt = date '{{ ds }}'
),

joined as (
    select
        g.community_id,
        g.pyramid_level,
        coalesce(n.members, 0) as members,
        coalesce(p.members_prev, 0) as members_prev,
        coalesce(p.moved_up, 0) as moved_up,
        coalesce(r.revenue_30, cast(0 as decimal(38, 6))) as revenue_30
    from grid g
    left join now_counts n on (n.community_id is not distinct from g.community_id) and n.pyramid_level = g.pyramid_level
    left join prev_counts p on (p.community_id is not distinct from g.community_id) and p.pyramid_level = g.pyramid_level
    left join member_revenue r on (r.community_id is not distinct from g.community_id) and r.pyramid_level = g.pyramid_level
),

final as (
    select
        j.community_id,
        date '{{ ds }}' as dt,
        j.pyramid_level,
        j.members,
        j.members * 1.0 / sum(j.members) over (partition by j.community_id) as share_of_members,
        j.members_prev,
        j.moved_up,
        j.moved_up * 1.0 / nullif(j.members_prev, 0) as upward_rate,
        cast(j.revenue_30 as double) as revenue_30,
        cast(j.revenue_30 as double)
            / nullif(cast(sum(j.revenue_30) over (partition by j.community_id) as double), 0.0) as share_of_revenue,
        h.health_score,
        -- the grade whose minimum the score reaches and no higher minimum does
        case
        {%- for grade, minimum in grades | items %}
            when h.health_score >= {{ minimum }}
            {%- for other, higher in grades | items %}{% if higher > minimum %} and h.health_score < {{ higher }}{% endif %}{% endfor %} then '{{ grade }}'
        {%- endfor %}
            when h.health_score is not null then 'D'
        end as maturity_grade
    from joined j
    left join health h on h.community_id is not distinct from j.community_id
)

select * from final
