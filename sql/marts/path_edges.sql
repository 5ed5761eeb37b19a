/*---
materialized: daily
sort_by: [from_type, to_type]
description: >
  Event-type transitions inside the sessions of ds
  (docs/metrics.md#path_edges): each pair of consecutive events of one session
  (user and session_key, ordered by event_time then event_id), with how often
  and how fast it happens.
columns:
  dt: the run day
  from_type: event type of the earlier event
  to_type: event type of the next event in the same session
  transitions: number of such consecutive pairs
  users: distinct users making the transition
  median_seconds: median time between the two events, in seconds
tests:
  - { unique: [from_type, to_type] }
  - { not_null: [dt, from_type, to_type, transitions, users, median_seconds] }
  - { expression: "users <= transitions and median_seconds >= 0" }
---*/
with day_events as (
    select user_id, session_key, event_type, event_time, event_id
    from stg_events
    where event_date = date '{{ ds }}'
),

pairs as (
    select
        user_id,
        event_type as from_type,
        lead(event_type) over w as to_type,
        -- microseconds between the two events, as seconds
        cast(cast(lead(event_time) over w as bigint) - cast(event_time as bigint) as double) / 1000000 as seconds
    from day_events
    window w as (partition by user_id, session_key order by event_time, event_id)
),

final as (
    select
        date '{{ ds }}' as dt,
        from_type,
        to_type,
        count(*) as transitions,
        count(distinct user_id) as users,
        median(seconds) as median_seconds
    from pairs
    where to_type is not null
    group by from_type, to_type
)

select * from final
