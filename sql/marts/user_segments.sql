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
  spending_power: 消费力, 0-100, the mean of the percent_rank of revenue_90 and of AOV (revenue_90 / orders_90) among scored users, x 100, rounded to 0.1
  social_power: 社交力, 0-100, the mean of the percent_ranks of shares_30, invites_30, referred_joins_30 and messages_30, x 100
  decision_power: 决策力, 0-100, 100 x cume_dist of decision_minutes_90 descending among users with one (the fastest decider 100); 0 without one
  demand_sensitivity: 需求敏感度, 0-100, 50 x coupon_orders_90 / orders_90 (0 without orders) + 50 x min(campaign_days_90, 4) / 4
  four_d_score: the sum of the four weighted by vars.four_dimensions (spending, social, decision, demand), rounded to 0.1
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
  - { expression: "spending_power between 0 and 100 and social_power between 0 and 100 and decision_power between 0 and 100 and demand_sensitivity between 0 and 100" }
  - { not_null: [spending_power, social_power, decision_power, demand_sensitivity, four_d_score] }
---*/
{%- set life = segments.lifecycle_stage | default({}) %}
{%- set pyr = segments.pyramid | default({}) %}
{%- set vg = segments.value_group | default({}) %}
{%- set w = var.four_dimensions | default({'spending': 0.25, 'social': 0.25, 'decision': 0.25, 'demand': 0.25}) %}
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
        cast(rank() over (order by f.interactions_30) as bigint) - 1 as i_rank,
        -- the four dimensions' percentiles (docs/metrics.md#user_segments):
        -- spending (revenue and AOV, money to the 1e-6), social (shares,
        -- invites, referred joins, messages), decision (the median minutes
        -- from cart to order, faster ranking higher, among users with one)
        percent_rank() over (order by round(f.revenue_90, 6)) as pr_revenue,
        percent_rank() over (
            order by case when f.orders_90 > 0 then round(f.revenue_90 / f.orders_90, 6) else 0 end) as pr_aov,
        percent_rank() over (order by f.shares_30) as pr_shares,
        percent_rank() over (order by f.invites_30) as pr_invites,
        percent_rank() over (order by f.referred_joins_30) as pr_referred,
        percent_rank() over (order by f.messages_30) as pr_messages,
        cume_dist() over (
            partition by f.decision_minutes_90 is null
            order by round(f.decision_minutes_90, 6) desc) as cd_decision
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
        -- top segments.pyramid.core_koc_top_percent (1 %) by interactions_30:
        -- percent_rank() >= 0.99, with any interaction
        population > 1 and interactions_30 > 0
            and i_rank * 100 >= {{ 100 - pyr.core_koc_top_percent | default(1) }} * (population - 1) as is_top_interactor
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
        -- lifecycle_stage, first match in this order; thresholds from
        -- segments.lifecycle_stage (shipped values when absent)
        case
            when age_days <= {{ life.acquisition_days | default(1) }} and core_actions_90 = 0 then 'acquisition'
            when age_days <= {{ life.activation_days | default(7) }} then 'activation'
            when recency_days >= {{ life.churn_recency_days | default(30) }} then 'churn'
            when recency_days >= {{ life.at_risk_recency_days | default(14) }} then 'at_risk'
            when purchases_90 >= {{ life.growth_purchases_90 | default(2) }}
              or referred_joins_30 >= {{ life.growth_referred_joins_30 | default(1) }} then 'growth'
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
        -- shares in 30 days >= 5), 3 active member (active_days_30 >= 8), 2 member, 1 potential;
        -- the thresholds are segments.pyramid's (shipped values shown)
        case
            when (comments_30 + shares_30 >= {{ pyr.contributor_interactions_30 | default(5) }}
                  and referred_joins_30 >= {{ pyr.core_koc_referred_joins_30 | default(1) }}) or is_top_interactor then 5
            when comments_30 + shares_30 >= {{ pyr.contributor_interactions_30 | default(5) }} then 4
            when is_member and active_days_30 >= {{ pyr.active_member_days_30 | default(8) }} then 3
            when is_member then 2
            else 1
        end as pyramid_level,
        -- value_group, first match
        case
            when uvi_tier = 'high' then 'high_value'
            when active_days_7 >= {{ vg.high_activity_days_7 | default(3) }} then 'high_activity'
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

dimensions as (
    select
        s.*,
        -- 消费力 spending power: the mean of the revenue and AOV percentiles
        round(100 * (r.pr_revenue + r.pr_aov) / 2, 1) as spending_power,
        -- 社交力 social power: the mean of four percentiles
        round(100 * (r.pr_shares + r.pr_invites + r.pr_referred + r.pr_messages) / 4, 1) as social_power,
        -- 决策力 decision power: the share of deciders no faster than the user
        -- (cume_dist, fastest = 100); 0 without an order after a cart
        case when r.decision_minutes_90 is null then 0.0 else round(100 * r.cd_decision, 1) end as decision_power,
        -- 需求敏感度 demand sensitivity: half the coupon share of orders, half
        -- campaign participation (days in 90, capped at 4)
        round(100 * (0.5 * coalesce(cast(r.coupon_orders_90 as double) / nullif(r.orders_90, 0), 0)
                     + 0.5 * least(r.campaign_days_90, 4) / 4.0), 1) as demand_sensitivity
    from segmented s
    join ranked r on r.user_id = s.user_id
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
        lifecycle_band,
        spending_power,
        social_power,
        decision_power,
        demand_sensitivity,
        -- four_d_score = the weighted sum of the four (vars.four_dimensions)
        round({{ w.spending }} * spending_power + {{ w.social }} * social_power
              + {{ w.decision }} * decision_power + {{ w.demand }} * demand_sensitivity, 1) as four_d_score
    from dimensions
)

select * from final
