/*---
materialized: daily
sort_by: [user_id]
description: >
  Segments of every scored user on ds (docs/metrics.md#user_segments): the
  configurable activity layer (segments.activity_layer, first matching rule),
  lifecycle stage, RFM scores and segment (segments.rfm_map), pyramid level,
  value group and the recommended action of the layer
  (segments.recommended_action).
columns:
  user_id: the user
  dt: the run day
  activity_layer: first matching rule of segments.activity_layer
  lifecycle_stage: acquisition, activation, churn, at_risk, growth or retention (first match in that order)
  rfm_r: recency score 1-5 (5 = most recent), least(5, 1 + floor(5 * percent_rank())) by recency_days descending
  rfm_f: frequency score 1-5 by active_days_90 ascending
  rfm_m: monetary score 1-5 by revenue_90 ascending
  rfm_segment: first matching rule of segments.rfm_map on rfm_r and (rfm_f + rfm_m) / 2
  pyramid_level: 5 core KOC, 4 contributor, 3 active member, 2 member, 1 potential (highest that holds)
  value_group: high_value (uvi tier high), high_activity (active_days_7 >= 3), high_intent (add_to_cart in 7 days, no purchase after it), other
  recommended_action: segments.recommended_action of the activity layer
  lifecycle_band: "days since the first active day (age_days): 曝光期 0-1, 探索期 2-7, 转化期 8-30, 成熟期 31 and more"
tests:
  - { unique: user_id }
  - { not_null: [user_id, dt, activity_layer, lifecycle_stage, rfm_r, rfm_f, rfm_m, rfm_segment, pyramid_level, value_group] }
  - { accepted_values: { column: lifecycle_stage, values: [acquisition, activation, churn, at_risk, growth, retention] } }
  - { not_null: [lifecycle_band] }
  - { accepted_values: { column: lifecycle_band, values: [曝光期, 探索期, 转化期, 成熟期] } }
  - { accepted_values: { column: value_group, values: [high_value, high_activity, high_intent, other] } }
  - { accepted_values: { column: rfm_segment, values: [Champions, Loyal, Potential Loyalist, New Customers, Promising, Need Attention, About To Sleep, At Risk, Cannot Lose Them, Hibernating, Lost] } }
  - { expression: "rfm_r between 1 and 5 and rfm_f between 1 and 5 and rfm_m between 1 and 5" }
  - { expression: "pyramid_level between 1 and 5" }
---*/
with features as (
    select *
    from user_features
    where dt = date '{{ ds }}'
),

scores as (
    select user_id, uvi_tier
    from uvi_scores
    where dt = date '{{ ds }}'
),

ranked as (
    select
        f.*,
        s.uvi_tier,
        cast(count(*) over () as bigint) as population,
        -- rank() - 1 over (n - 1) is percent_rank(); kept as integers so a
        -- boundary (e.g. exactly 0.2) is never lost to rounding
        cast(rank() over (order by f.recency_days desc) as bigint) - 1 as r_rank,
        cast(rank() over (order by f.active_days_90) as bigint) - 1 as f_rank,
        -- money ranked to the 1e-6: sums of the same amounts in another order
        -- can differ in the last bit, and equal values must get equal scores
        cast(rank() over (order by round(f.revenue_90, 6)) as bigint) - 1 as m_rank,
        cast(rank() over (order by f.interactions_30) as bigint) - 1 as i_rank
    from features f
    left join scores s on s.user_id = f.user_id
),

scored as (
    select
        *,
        -- score = least(5, 1 + floor(5 × percent_rank())); equal values, equal scores;
        -- bigint / bigint is integer division, i.e. the floor
        case when population = 1 then 1 else least(5, 1 + (5 * r_rank) / (population - 1)) end as rfm_r,
        case when population = 1 then 1 else least(5, 1 + (5 * f_rank) / (population - 1)) end as rfm_f,
        case when population = 1 then 1 else least(5, 1 + (5 * m_rank) / (population - 1)) end as rfm_m,
        -- top 1 % by interactions_30: percent_rank() >= 0.99, with any interaction
        population > 1 and interactions_30 > 0 and i_rank * 100 >= 99 * (population - 1) as is_top_interactor
    from ranked
),

segmented as (
    select
        user_id,
        date '{{ ds }}' as dt,
        -- activity_layer: the first matching rule of segments.activity_layer
        case
        {%- for rule in segments.activity_layer %}
            when {{ rule.when }} then '{{ rule.name }}'
        {%- endfor %}
        end as activity_layer,
        -- lifecycle_stage, first match in this order
        case
            when age_days <= 1 and core_actions_90 = 0 then 'acquisition'
            when age_days <= 7 then 'activation'
            when recency_days >= 30 then 'churn'
            when recency_days >= 14 then 'at_risk'
            when purchases_90 >= 2 or referred_joins_30 >= 1 then 'growth'
            else 'retention'
        end as lifecycle_stage,
        rfm_r,
        rfm_f,
        rfm_m,
        -- rfm_segment: first rule of segments.rfm_map on r and fm = (f + m) / 2
        case
        {%- for s in segments.rfm_map %}
            when rfm_r between {{ s.r[0] }} and {{ s.r[1] }}
             and (rfm_f + rfm_m) / 2.0 between {{ s.fm[0] }} and {{ s.fm[1] }} then '{{ s.name }}'
        {%- endfor %}
        end as rfm_segment,
        -- pyramid: 5 core KOC (a contributor whose invites brought a join
        -- in 30 days, or top 1 % by interactions_30), 4 contributor (comments +
        -- shares in 30 days >= 5), 3 active member (active_days_30 >= 8), 2 member, 1 potential
        case
            when (comments_30 + shares_30 >= 5 and referred_joins_30 >= 1) or is_top_interactor then 5
            when comments_30 + shares_30 >= 5 then 4
            when is_member and active_days_30 >= 8 then 3
            when is_member then 2
            else 1
        end as pyramid_level,
        -- value_group, first match
        case
            when uvi_tier = 'high' then 'high_value'
            when active_days_7 >= 3 then 'high_activity'
            when last_add_to_cart_time_7 is not null
             and (last_purchase_time is null or last_purchase_time <= last_add_to_cart_time_7) then 'high_intent'
            else 'other'
        end as value_group,
        -- lifecycle_band on age_days = ds - first_seen, closed day ranges
        -- that do not overlap (docs/metrics.md#user_segments): 曝光期
        -- (exposure) days 0-1, 探索期 (exploration) 2-7, 转化期 (conversion)
        -- 8-30, 成熟期 (mature) from day 31
        case
            when age_days <= 1 then '曝光期'
            when age_days <= 7 then '探索期'
            when age_days <= 30 then '转化期'
            else '成熟期'
        end as lifecycle_band
    from scored
),

final as (
    select
        user_id,
        dt,
        activity_layer,
        lifecycle_stage,
        rfm_r,
        rfm_f,
        rfm_m,
        rfm_segment,
        pyramid_level,
        value_group,
        -- recommended_action per activity_layer, from segments.recommended_action
        case activity_layer
        {%- for layer, action in segments.recommended_action|items %}
            when '{{ layer }}' then '{{ action|replace("'", "''") }}'
        {%- endfor %}
        end as recommended_action,
        -- added after the first pack's columns, so their positions stay
        lifecycle_band
    from segmented
)

select * from final
