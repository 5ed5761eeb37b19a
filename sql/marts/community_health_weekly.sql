/*---
materialized: daily
sort_by: [community_id]
description: >
  Per community with an event in the ISO week of ds, from its Monday to ds
  (the whole week when ds is a Sunday): membership, activity, conversation,
  content, satisfaction and money, and a 0-100 health score built from the
  indicators and targets of vars.health (the seed's community evaluation
  table; docs/metrics.md#community_health_weekly). Each indicator is scored
  0-10 against its target; the health score is the mean score x 10 over the
  indicators that have a value; the weakest indicator (lowest score, the first
  in config order on a tie) comes with its suggested action.
columns:
  community_id: the community (NULL is its own group)
  dt: the run day (the last day covered)
  iso_week: ISO year and week of ds, e.g. 2026-W44
  week_start: Monday of that week
  days_covered: days from week_start to ds (1-7)
  members_start: members before the week (latest join/quit up to week_start - 1 is a join)
  members_end: members at the end of ds
  joins: join events in the week
  quits: quit events in the week
  quit_rate: quits / members_start
  member_growth: (members_end - members_start) / members_start
  avg_dau: mean over the days covered of the day's active users (a day without activity counts 0)
  mau: distinct active users in the 30 days ending ds
  stickiness: avg_dau / mau
  active_users: distinct users with an event in the week
  active_members: members at the end of ds with an event in the week
  activity_rate: active_members / members_end
  messages: message events in the week
  messages_per_active_member: messages / active_members
  peak_hour: UTC hour of day with the most messages in the week (the earliest on a tie); NULL without messages
  top_content_1: content with the most likes + comments + shares in the week (ties by content_id)
  top_content_2: the second
  top_content_3: the third
  views: view events in the week
  interactions: likes + comments + shares in the week
  interaction_rate: interactions / views
  nps_responses: nps answers (properties.nps_score 0-10) in the week
  nps: 100 x (promoters (9-10) - detractors (0-6)) / nps_responses
  revenue: purchase amounts in the week
  arpu: revenue / active_users
  activity_users: distinct users with a checkin or activity_join in the week
  activity_conversion: activity_users / members_end
  sessions: sessions with an event in the community in the week
  bounce_rate: sessions without a core action / sessions
  score_member_growth: member_growth scored 0-10 against its vars.health target
  score_quit_rate: quit_rate scored 0-10 against its vars.health target
  score_stickiness: stickiness scored 0-10 against its vars.health target
  score_activity_rate: activity_rate scored 0-10 against its vars.health target
  score_messages_per_active_member: messages_per_active_member scored 0-10 against its vars.health target
  score_interaction_rate: interaction_rate scored 0-10 against its vars.health target
  score_nps: nps scored 0-10 against its vars.health target
  score_arpu: arpu scored 0-10 against its vars.health target
  score_activity_conversion: activity_conversion scored 0-10 against its vars.health target
  score_bounce_rate: bounce_rate scored 0-10 against its vars.health target
  health_score: mean indicator score x 10, 0-100
  weakest_indicator: the indicator with the lowest score
  suggested_action: its action from vars.health
tests:
  - { unique: [community_id] }
  - { not_null: [dt, iso_week, week_start, days_covered, members_start, members_end, joins, quits, avg_dau, mau, active_users, messages, revenue] }
  - { expression: "days_covered between 1 and 7" }
  - { expression: "health_score between 0 and 100" }
  - { expression: "peak_hour between 0 and 23" }
  - { expression: "stickiness between 0 and 1 and activity_rate between 0 and 1 and bounce_rate between 0 and 1" }
  - { expression: "nps between -100 and 100" }
  - { expression: "(health_score is null) = (weakest_indicator is null)" }
---*/
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
        -- money is summed as decimal(38, 6): exact, so a rerun gives the same bits
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
        to_char(date '{{ ds }}', '%G-W%V') as iso_week,
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
