-- user_profile_summary (docs/metrics.md#user_profile_summary): shoal's SQL (sql/marts/user_profile_summary.sql), unchanged.
-- sort_by: attribute, value
{%- set attributes = [('gender', 'f.gender'), ('generation', 'f.generation'), ('gen_z', 'cast(f.gen_z as varchar)'),
    ('region', 'f.region'), ('city_tier', 'cast(f.city_tier as varchar)'), ('occupation', 'f.occupation')] %}
with features as (
    select *
    from user_features
    where dt = date '{{ ds }}'
),

attributes as (
    select idx, attribute
    from (values
    {%- for a in attributes %}
        ({{ loop.index }}, '{{ a[0] }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as t(idx, attribute)
),

long as (
    -- every user once per attribute (a cross join: one pass over the features)
    select
        a.attribute,
        case a.idx
        {%- for a in attributes %}
            when {{ loop.index }} then {{ a[1] }}
        {%- endfor %}
        end as value,
        f.active_days_30,
        f.orders_90,
        f.revenue_90
    from features f
    cross join attributes a
),

totals as (
    -- money is summed as decimal(38, 6): exact in any order, so a rerun
    -- gives the same bits
    select count(*) as users, cast(sum(cast(revenue_90 as decimal(38, 6))) as double) as revenue_90
    from features
),

per_value as (
    select
        attribute,
        value,
        count(*) as users,
        count(*) filter (where active_days_30 >= 1) as active_users_30,
        count(*) filter (where orders_90 >= 1) as buyers_90,
        cast(sum(cast(revenue_90 as decimal(38, 6))) as double) as revenue_90
    from long
    group by attribute, value
),

final as (
    select
        date '{{ ds }}' as dt,
        p.attribute,
        p.value,
        p.users,
        -- share_of_users = users / scored users
        cast(p.users as double) / t.users as share_of_users,
        p.active_users_30,
        -- active_share_30 = active_users_30 / users
        cast(p.active_users_30 as double) / p.users as active_share_30,
        p.buyers_90,
        -- conversion_90 = buyers_90 / users
        cast(p.buyers_90 as double) / p.users as conversion_90,
        p.revenue_90,
        -- arpu_90 = revenue_90 / users
        p.revenue_90 / p.users as arpu_90,
        -- share_of_revenue = revenue_90 / all revenue_90
        p.revenue_90 / nullif(t.revenue_90, 0.0) as share_of_revenue
    from per_value p
    cross join totals t
)

select * from final
