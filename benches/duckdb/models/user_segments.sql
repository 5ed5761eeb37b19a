-- user_segments (docs/metrics.md#user_segments): shoal's SQL (sql/marts/user_segments.sql), unchanged but for DuckDB syntax,
-- except lifecycle_band, written from the definition on the first active day
-- (first_seen) rather than on age_days.
-- sort_by: user_id
{%- set w = var.four_dimensions | default({'spending': 0.25, 'social': 0.25, 'decision': 0.25, 'demand': 0.25}) %}
{%- set life = segments.lifecycle_stage | default({}) %}
{%- set pyr = segments.pyramid | default({}) %}
{%- set vg = segments.value_group | default({}) %}
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
        cast(rank() over (order by round(f.revenue_90, 6)) as bigint) - 1 as m_rank,
        cast(rank() over (order by f.interactions_30) as bigint) - 1 as i_rank,
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
        -- // is integer division, i.e. the floor (DuckDB: / is float division)
        case when population = 1 then 1 else least(5, 1 + (5 * r_rank) // (population - 1)) end as rfm_r,
        case when population = 1 then 1 else least(5, 1 + (5 * f_rank) // (population - 1)) end as rfm_f,
        case when population = 1 then 1 else least(5, 1 + (5 * m_rank) // (population - 1)) end as rfm_m,
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
        first_seen
    from scored
),

dimensions as (
    select
        s.*,
        round(100 * (r.pr_revenue + r.pr_aov) / 2, 1) as spending_power,
        round(100 * (r.pr_shares + r.pr_invites + r.pr_referred + r.pr_messages) / 4, 1) as social_power,
        case when r.decision_minutes_90 is null then 0.0 else round(100 * r.cd_decision, 1) end as decision_power,
        round(100 * (0.5 * coalesce(cast(r.coupon_orders_90 as double) / nullif(r.orders_90, 0), 0)
                     + 0.5 * least(r.campaign_days_90, 4) / 4.0), 1) as demand_sensitivity
    from segmented s
    join ranked r on r.user_id = s.user_id
),

final as (
    select
        * exclude (first_seen, spending_power, social_power, decision_power, demand_sensitivity),
        -- recommended_action per activity_layer, from segments.recommended_action
        case activity_layer
        {%- for layer, action in segments.recommended_action|items %}
            when '{{ layer }}' then '{{ action|replace("'", "''") }}'
        {%- endfor %}
        end as recommended_action,
        -- first active on ds or ds - 1: 曝光期; ds - 7 .. ds - 2: 探索期; ds - 30 .. ds - 8: 转化期
        case
            when first_seen >= date '{{ ds }}' - 1 then '曝光期'
            when first_seen >= date '{{ ds }}' - 7 then '探索期'
            when first_seen >= date '{{ ds }}' - 30 then '转化期'
            else '成熟期'
        end as lifecycle_band,
        spending_power,
        social_power,
        decision_power,
        demand_sensitivity,
        round({{ w.spending }} * spending_power + {{ w.social }} * social_power
              + {{ w.decision }} * decision_power + {{ w.demand }} * demand_sensitivity, 1) as four_d_score
    from dimensions
)

select * from final
