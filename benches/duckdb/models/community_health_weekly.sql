-- community_health_weekly: shoal's SQL (sql/marts/community_health_weekly.sql), unchanged but for DuckDB syntax.
-- sort_by: community_id
{%- set ws = week_start(ds) %}
{%- set ndays = days_between(ws, ds) + 1 %}
with week as (
    select *
    from community_user_daily
    where dt between date '{{ ws }}' and date '{{ ds }}'
),

weekly as (
    select
        community_id,
        sum(joins) as joins,
        sum(quits) as quits,
        -- one row per community, user and day: the sum of the daily active users
        count(*) as user_days,
        count(distinct user_id) as active_users,
        sum(messages) as messages,
        sum(views) as views,
        sum(likes + comments + shares) as interactions,
        sum(nps_responses) as nps_responses,
        sum(nps_promoters) as nps_promoters,
        sum(nps_detractors) as nps_detractors,
        cast(sum(cast(revenue as decimal(38, 6))) as double) as revenue,
        count(distinct user_id) filter (where checkins > 0 or activity_joins > 0) as activity_users,
        sum(sessions) as sessions,
        sum(bounced_sessions) as bounced_sessions
    from week
    group by community_id
),

monthly as (
    select community_id, count(distinct user_id) as mau
    from community_user_daily
    where dt between date '{{ days_before(ds, 29) }}' and date '{{ ds }}'
    group by community_id
),

start_membership as (
    -- the latest join/quit before the week (a quit wins a tie, as in community_membership)
    select distinct on (community_id, user_id)
        community_id,
        user_id,
        last_membership_event
    from community_user_daily
    where dt < date '{{ ws }}'
      and last_membership_event is not null
    order by community_id, user_id, last_membership_time desc,
             case when last_membership_event = 'quit' then 0 else 1 end
),

members_start as (
    select community_id, count(*) as members_start
    from start_membership
    where last_membership_event = 'join'
    group by community_id
),

members_end as (
    select
        m.community_id,
        count(*) as members_end,
        count(a.user_id) as active_members
    from community_membership m
    left join (select distinct community_id, user_id from week) a
        on (a.community_id is not distinct from m.community_id) and a.user_id = m.user_id
    where m.last_membership_event = 'join'
    group by m.community_id
),

message_hours as (
    select community_id, hour, sum(events) as messages
    from community_hourly
    where dt between date '{{ ws }}' and date '{{ ds }}'
      and event_type = 'message'
    group by community_id, hour
),

peak as (
    select distinct on (community_id) community_id, hour as peak_hour
    from message_hours
    order by community_id, messages desc, hour
),

content_ranked as (
    select
        community_id,
        content_id,
        row_number() over (
            partition by community_id
            order by sum(likes + comments + shares) desc, content_id
        ) as rank
    from content_daily
    where dt between date '{{ ws }}' and date '{{ ds }}'
    group by community_id, content_id
    having sum(likes + comments + shares) > 0
),

top_content as (
    select
        community_id,
        max(content_id) filter (where rank = 1) as top_content_1,
        max(content_id) filter (where rank = 2) as top_content_2,
        max(content_id) filter (where rank = 3) as top_content_3
    from content_ranked
    where rank <= 3
    group by community_id
),

indicators as (
    select
        w.community_id,
        date '{{ ds }}' as dt,
        '{{ iso_week(ds) }}' as iso_week,
        date '{{ ws }}' as week_start,
        {{ ndays }} as days_covered,
        coalesce(s.members_start, 0) as members_start,
        coalesce(e.members_end, 0) as members_end,
        w.joins,
        w.quits,
        cast(w.quits as double) / nullif(s.members_start, 0) as quit_rate,
        cast(coalesce(e.members_end, 0) - s.members_start as double) / nullif(s.members_start, 0) as member_growth,
        cast(w.user_days as double) / {{ ndays }} as avg_dau,
        m.mau,
        cast(w.user_days as double) / {{ ndays }} / nullif(m.mau, 0) as stickiness,
        w.active_users,
        coalesce(e.active_members, 0) as active_members,
        cast(e.active_members as double) / nullif(e.members_end, 0) as activity_rate,
        w.messages,
        cast(w.messages as double) / nullif(e.active_members, 0) as messages_per_active_member,
        p.peak_hour,
        t.top_content_1,
        t.top_content_2,
        t.top_content_3,
        w.views,
        w.interactions,
        cast(w.interactions as double) / nullif(w.views, 0) as interaction_rate,
        w.nps_responses,
        100.0 * (w.nps_promoters - w.nps_detractors) / nullif(w.nps_responses, 0) as nps,
        w.revenue,
        w.revenue / nullif(w.active_users, 0) as arpu,
        w.activity_users,
        cast(w.activity_users as double) / nullif(e.members_end, 0) as activity_conversion,
        w.sessions,
        cast(w.bounced_sessions as double) / nullif(w.sessions, 0) as bounce_rate
    from weekly w
    join monthly m on (m.community_id is not distinct from w.community_id)
    left join members_start s on (s.community_id is not distinct from w.community_id)
    left join members_end e on (e.community_id is not distinct from w.community_id)
    left join peak p on (p.community_id is not distinct from w.community_id)
    left join top_content t on (t.community_id is not distinct from w.community_id)
),

scored as (
    select
        *,
        {%- for h in var.health %}
        -- {{ h.indicator }} {{ h.direction }} {{ h.target }}
        case
            when {{ h.indicator }} is null then null
            {%- if h.direction == '>=' and h.target > 0 %}
            when {{ h.indicator }} <= 0 then 0.0
            else 10.0 * least(1.0, {{ h.indicator }} / {{ h.target }})
            {%- elif h.direction == '>=' %}
            when {{ h.indicator }} >= {{ h.target }} then 10.0 else 0.0
            {%- elif h.direction == '<=' %}
            when {{ h.indicator }} <= {{ h.target }} then 10.0
            else 10.0 * {{ h.target }} / {{ h.indicator }}
            {%- else %}
            {{ health_direction_must_be_ge_or_le }}
            {%- endif %}
        end as score_{{ h.indicator }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from indicators
),

final as (
    select
        *,
        10.0 * ({% for h in var.health %}coalesce(score_{{ h.indicator }}, 0.0){% if not loop.last %} + {% endif %}{% endfor %})
            / nullif({% for h in var.health %}(case when score_{{ h.indicator }} is null then 0 else 1 end){% if not loop.last %} + {% endif %}{% endfor %}, 0)
            as health_score,
        case least({% for h in var.health %}score_{{ h.indicator }}{% if not loop.last %}, {% endif %}{% endfor %})
            {%- for h in var.health %}
            when score_{{ h.indicator }} then '{{ h.indicator }}'
            {%- endfor %}
        end as weakest_indicator,
        case least({% for h in var.health %}score_{{ h.indicator }}{% if not loop.last %}, {% endif %}{% endfor %})
            {%- for h in var.health %}
            when score_{{ h.indicator }} then '{{ h.action | replace("'", "''") }}'
            {%- endfor %}
        end as suggested_action
    from scored
)

select * from final
