-- uvi_tiers (docs/metrics.md#uvi_tiers): shoal's SQL (sql/marts/uvi_tiers.sql), unchanged but for DuckDB syntax.
-- sort_by: uvi_tier
with scores as (
    select user_id, uvi_tier, revenue
    from uvi_scores
    where dt = date '{{ ds }}'
),

tiers as (
    select uvi_tier
    from (values ('high'), ('medium'), ('low')) as t(uvi_tier)
),

per_tier as (
    select uvi_tier, count(*) as users, cast(sum(cast(revenue as decimal(38, 6))) as double) as revenue
    from scores
    group by uvi_tier
),

totals as (
    select count(*) as users, coalesce(cast(sum(cast(revenue as decimal(38, 6))) as double), 0.0) as revenue
    from scores
),

final as (
    select
        date '{{ ds }}' as dt,
        t.uvi_tier,
        coalesce(p.users, 0) as users,
        -- share of users = tier users / scored users
        cast(coalesce(p.users, 0) as double) / nullif(x.users, 0) as share_of_users,
        coalesce(p.revenue, 0.0) as revenue,
        -- share of revenue = tier revenue / all revenue in window
        coalesce(p.revenue, 0.0) / nullif(x.revenue, 0.0) as share_of_revenue
    from tiers t
    cross join totals x
    left join per_tier p on p.uvi_tier = t.uvi_tier
)

select * from final
