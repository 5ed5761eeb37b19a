/*---
materialized: daily
sort_by: [community_id]
description: >
  Members against non-members of every community on ds
  (docs/metrics.md#member_comparison), one row per community with an event
  in the 60 days ending ds. A member is a user whose latest join/quit in the
  community (by event_time, a quit winning a tie) is a join, as in
  community_membership. The 30-day figures count the users active in the
  community in the 30 days ending ds, split by membership on ds; a
  retention figure splits its base by membership on the last day of the
  base period (ds - 7, ds - 30). Only the community's own events count.
columns:
  community_id: the community (NULL is its own group)
  dt: the run day
  members: members on ds active in the community in the 30 days ending ds
  non_members: other users active in the community in those 30 days
  member_active_days: active days in the community per member, 30 days ending ds
  non_member_active_days: the same per non-member
  active_days_ratio: member_active_days / non_member_active_days
  member_interaction_rate: (likes + comments + shares) / views of the members in the community, 30 days ending ds
  non_member_interaction_rate: the same of the non-members
  interaction_rate_ratio: member_interaction_rate / non_member_interaction_rate
  member_retention_7d: of the members on ds - 7 active in the community in [ds - 13, ds - 7], the share active in it in [ds - 6, ds]
  non_member_retention_7d: the same of the non-members on ds - 7
  retention_7d_ratio: member_retention_7d / non_member_retention_7d
  member_retention_30d: of the members on ds - 30 active in the community in [ds - 59, ds - 30], the share active in it in [ds - 29, ds]
  non_member_retention_30d: the same of the non-members on ds - 30
  retention_30d_ratio: member_retention_30d / non_member_retention_30d
  member_purchase_conversion: members with a purchase in the community in the 30 days ending ds / members
  non_member_purchase_conversion: the same of the non-members
  purchase_conversion_ratio: member_purchase_conversion / non_member_purchase_conversion
  member_arpu: purchase amounts in the community in the 30 days ending ds / members
  non_member_arpu: the same of the non-members
  arpu_ratio: member_arpu / non_member_arpu
tests:
  - { unique: community_id }
  - { not_null: [dt, members, non_members] }
  - { expression: "members >= 0 and non_members >= 0" }
  - { expression: "member_retention_7d between 0 and 1 and non_member_retention_7d between 0 and 1 and member_retention_30d between 0 and 1 and non_member_retention_30d between 0 and 1" }
  - { expression: "member_purchase_conversion between 0 and 1 and non_member_purchase_conversion between 0 and 1" }
  - { expression: "member_active_days between 1 and 30 and non_member_active_days between 1 and 30" }
  - { expression: "(members = 0) = (member_active_days is null) and (non_members = 0) = (non_member_active_days is null)" }
---*/
{%- set groups = [('member', ''), ('non_member', 'not ')] %}
with activity as (
    select *
    from community_user_daily
    where dt between date '{{ days_before(ds, 59) }}' and date '{{ ds }}'
),

membership_events as (
    select community_id, user_id, dt, last_membership_event, last_membership_time
    from community_user_daily
    where dt <= date '{{ ds }}'
      and last_membership_event is not null
),

-- membership on ds, ds - 7 and ds - 30: the latest join/quit up to that day
-- (the rule of community_membership, docs/metrics.md#community_membership),
-- all three in one pass over the membership events; NULL without any
status as (
    select
        community_id,
        user_id,
        {%- for name, back in [('d0', 0), ('d7', 7), ('d30', 30)] %}
        first_value(last_membership_event = 'join' order by last_membership_time desc,
                    case when last_membership_event = 'quit' then 0 else 1 end)
            filter (where dt <= date '{{ days_before(ds, back) }}') as is_member_{{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from membership_events
    group by community_id, user_id
),

per_user as (
    select
        community_id,
        user_id,
        count(*) filter (where dt >= date '{{ days_before(ds, 29) }}') as active_days_30,
        coalesce(sum(likes + comments + shares) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as interactions_30,
        coalesce(sum(views) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as views_30,
        coalesce(sum(purchases) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as purchases_30,
        -- money is summed as decimal(38, 6): exact, so a rerun gives the same bits
        coalesce(sum(cast(revenue as decimal(38, 6))) filter (where dt >= date '{{ days_before(ds, 29) }}'), 0) as revenue_30,
        -- the retention periods: base [ds - 13, ds - 7] then [ds - 6, ds];
        -- base [ds - 59, ds - 30] then [ds - 29, ds]
        count(*) filter (where dt between date '{{ days_before(ds, 13) }}' and date '{{ days_before(ds, 7) }}') > 0 as in_base_7,
        count(*) filter (where dt >= date '{{ days_before(ds, 6) }}') > 0 as in_last_7,
        count(*) filter (where dt <= date '{{ days_before(ds, 30) }}') > 0 as in_base_30
    from activity
    group by community_id, user_id
),

users as (
    -- a user without any join/quit in the community is not a member
    select
        u.*,
        coalesce(s.is_member_d0, false) as member_d0,
        coalesce(s.is_member_d7, false) as member_d7,
        coalesce(s.is_member_d30, false) as member_d30
    from per_user u
    left join status s
        on (s.community_id is not distinct from u.community_id) and s.user_id = u.user_id
),

groups as (
    select
        {%- for g, neg in groups %}
        -- {{ g }}s: the 30-day population ({{ neg }}a member on ds)
        count(*) filter (where active_days_30 > 0 and {{ neg }}member_d0) as {{ g }}s,
        sum(active_days_30) filter (where active_days_30 > 0 and {{ neg }}member_d0) as {{ g }}_active_day_sum,
        sum(interactions_30) filter (where active_days_30 > 0 and {{ neg }}member_d0) as {{ g }}_interactions,
        sum(views_30) filter (where active_days_30 > 0 and {{ neg }}member_d0) as {{ g }}_views,
        count(*) filter (where purchases_30 > 0 and {{ neg }}member_d0) as {{ g }}_buyers,
        cast(sum(revenue_30) filter (where active_days_30 > 0 and {{ neg }}member_d0) as double) as {{ g }}_revenue,
        count(*) filter (where in_base_7 and {{ neg }}member_d7) as {{ g }}_base_7,
        count(*) filter (where in_base_7 and in_last_7 and {{ neg }}member_d7) as {{ g }}_retained_7,
        count(*) filter (where in_base_30 and {{ neg }}member_d30) as {{ g }}_base_30,
        count(*) filter (where in_base_30 and active_days_30 > 0 and {{ neg }}member_d30) as {{ g }}_retained_30,
        {%- endfor %}
        community_id
    from users
    group by community_id
),

rates as (
    select
        {%- for g, neg in groups %}
        {{ g }}s,
        -- active days per user = Σ active days / users
        cast({{ g }}_active_day_sum as double) / nullif({{ g }}s, 0) as {{ g }}_active_days,
        -- interaction_rate = Σ (likes + comments + shares) / Σ views
        cast({{ g }}_interactions as double) / nullif({{ g }}_views, 0) as {{ g }}_interaction_rate,
        -- retention = retained / base
        cast({{ g }}_retained_7 as double) / nullif({{ g }}_base_7, 0) as {{ g }}_retention_7d,
        cast({{ g }}_retained_30 as double) / nullif({{ g }}_base_30, 0) as {{ g }}_retention_30d,
        -- purchase_conversion = buyers / users
        cast({{ g }}_buyers as double) / nullif({{ g }}s, 0) as {{ g }}_purchase_conversion,
        -- arpu = revenue / users
        {{ g }}_revenue / nullif({{ g }}s, 0) as {{ g }}_arpu,
        {%- endfor %}
        community_id
    from groups
),

final as (
    select
        community_id,
        date '{{ ds }}' as dt,
        members,
        non_members,
        {%- for m in ['active_days', 'interaction_rate', 'retention_7d', 'retention_30d', 'purchase_conversion', 'arpu'] %}
        member_{{ m }},
        non_member_{{ m }},
        -- {{ m }}_ratio = member / non-member
        member_{{ m }} / nullif(non_member_{{ m }}, 0) as {{ m }}_ratio{% if not loop.last %},{% endif %}
        {%- endfor %}
    from rates
)

select * from final
