/*---
materialized: daily
sort_by: [segment, from_value, to_value]
reads_previous_day: [user_segments]
description: >
  Users moving between segment values from ds - 1 to ds
  (docs/metrics.md#segment_transitions), per segment column. from_value is
  NULL for users not scored on ds - 1, to_value is NULL for users scored on
  ds - 1 but no longer on ds. When the ds - 1 partition of user_segments is
  not committed (a first run, a full refresh into a new output), the run
  builds it first, so a full refresh gives the nightly answer.
columns:
  dt: the run day
  segment: the user_segments column
  from_value: the value on ds - 1 (NULL when not scored that day)
  to_value: the value on ds (NULL when not scored)
  users: users making that move
tests:
  - { unique: [segment, from_value, to_value] }
  - { not_null: [dt, segment, users] }
  - { expression: "users >= 1 and (from_value is not null or to_value is not null)" }
---*/
with long as (
    select dt, user_id, 'activity_layer' as segment, activity_layer as value from user_segments
    union all
    select dt, user_id, 'lifecycle_stage', lifecycle_stage from user_segments
    union all
    select dt, user_id, 'rfm_segment', rfm_segment from user_segments
    union all
    select dt, user_id, 'pyramid_level', cast(pyramid_level as varchar) from user_segments
    union all
    select dt, user_id, 'value_group', value_group from user_segments
),

yesterday as (
    select user_id, segment, value from long where dt = date '{{ days_before(ds, 1) }}'
),

today as (
    select user_id, segment, value from long where dt = date '{{ ds }}'
),

moves as (
    select
        coalesce(t.segment, y.segment) as segment,
        y.value as from_value,
        t.value as to_value
    from today t
    full join yesterday y on y.user_id = t.user_id and y.segment = t.segment
),

final as (
    select
        date '{{ ds }}' as dt,
        segment,
        from_value,
        to_value,
        count(*) as users
    from moves
    group by segment, from_value, to_value
)

select * from final
