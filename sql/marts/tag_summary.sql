/*---
materialized: daily
sort_by: [tag, value]
description: >
  Users per tag and value on ds (docs/metrics.md#tag_summary), from
  user_tags: one row per tag and value present (value NULL for a `when`
  rule).
columns:
  dt: the run day
  tag: the rule's name (vars.tags)
  value: the value of a `value` rule; NULL for a `when` rule
  users: scored users with the tag (and value)
  share_of_users: users / scored users on ds
tests:
  - { unique: [tag, value] }
  - { not_null: [dt, tag, users, share_of_users] }
  - { expression: "users >= 1 and share_of_users > 0 and share_of_users <= 1" }
---*/
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
