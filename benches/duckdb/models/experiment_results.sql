-- experiment_results (docs/metrics.md#experiment_results): shoal's SQL (sql/marts/experiment_results.sql), unchanged but for DuckDB syntax.
-- sort_by: experiment, variant
with firsts as (
    -- each user's first exposure to each experiment, and its variant
    select distinct on (experiment, user_id) experiment, user_id, variant, first_time
    from experiment_exposures
    where dt <= date '{{ ds }}'
    order by experiment, user_id, first_time, variant
),

purchases as (
    select user_id, max(last_purchase_time) as last_purchase_time
    from community_user_daily
    where dt <= date '{{ ds }}' and last_purchase_time is not null
    group by user_id
),

per_variant as (
    select
        f.experiment,
        f.variant,
        count(*) as users,
        -- a purchase after the first exposure: the latest purchase is after it
        count(*) filter (where p.last_purchase_time > f.first_time) as converters
    from firsts f
    left join purchases p on p.user_id = f.user_id
    group by f.experiment, f.variant
),

with_control as (
    select
        v.*,
        cast(v.converters as double) / v.users as rate,
        c.users as control_users,
        c.converters as control_converters,
        cast(c.converters as double) / c.users as control_rate
    from per_variant v
    left join per_variant c on c.experiment = v.experiment and c.variant = 'control'
),

tested as (
    select
        *,
        -- two-proportion z-test with the pooled rate
        (rate - control_rate) / nullif(sqrt(
            (cast(converters + control_converters as double) / (users + control_users))
            * (1 - cast(converters + control_converters as double) / (users + control_users))
            * (1.0 / users + 1.0 / control_users)), 0.0) as z
    from with_control
),

erf_terms as (
    select
        *,
        -- Abramowitz-Stegun 7.1.26 on x = |z| / sqrt(2)
        1.0 / (1.0 + 0.3275911 * abs(z) / sqrt(2.0)) as t
    from tested
),

final as (
    select
        experiment,
        variant,
        date '{{ ds }}' as dt,
        users,
        converters,
        -- rate = converters / users
        rate,
        -- lift over control = rate / control rate - 1
        case when variant = 'control' then null
             else rate / nullif(control_rate, 0.0) - 1 end as lift,
        -- two-sided p-value = 2 (1 - Φ(|z|)) = erfc(|z| / √2)
        case when variant = 'control' then null
             else t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
                  * exp(-(z * z) / 2.0) end as p_value
    from erf_terms
)

select * from final
