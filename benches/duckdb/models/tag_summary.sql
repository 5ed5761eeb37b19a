-- tag_summary (docs/metrics.md#tag_summary): shoal's SQL (sql/marts/tag_summary.sql), unchanged.
-- sort_by: tag, value
with scored as (
    select count(*) as users
    from user_features
    where dt = date '{{ ds }}'
),

counted as (
    select tag, value, count(*) as users
    from user_tags
    where dt = date '{{ ds }}'
    group by tag, value
)

select
    date '{{ ds }}' as dt,
    c.tag,
    c.value,
    c.users,
    -- share_of_users = users / scored users
    cast(c.users as double) / s.users as share_of_users
from counted c
cross join scored s
