/*---
materialized: daily
description: >
  The whole platform on ds, one row (docs/metrics.md#platform_daily): daily,
  weekly and monthly active users, stickiness, month-over-month growth of the
  monthly actives, new users, and the day's messages, joins and quits. A
  window of k days ends at ds ([ds - k + 1, ds]).
columns:
  dt: the run day
  dau: distinct users with an event on ds
  wau: distinct users with an event in the 7 days ending ds
  mau: distinct users with an event in the 30 days ending ds
  dau_mau: dau / mau; NULL when mau is 0
  mau_prev: distinct users with an event in the 30 days before those (ds - 59 .. ds - 30)
  mau_growth: mau / mau_prev - 1; NULL when mau_prev is 0
  new_users: users whose first active day over all of user_daily is ds
  messages: message events on ds
  joins: join events on ds
  quits: quit events on ds
tests:
  - { unique: dt }
  - { not_null: [dt, dau, wau, mau, mau_prev, new_users, messages, joins, quits] }
  - { expression: "dau <= wau and wau <= mau and new_users <= dau" }
  - { expression: "dau_mau between 0 and 1 and mau_growth >= -1" }
---*/
with history as (
    select user_id, dt, messages, joins, quits
    from user_daily
    where dt <= date '{{ ds }}'
),

-- one row per user first (distinct users are counted as rows, which can
-- spill; count(distinct) per window could not)
per_user as (
    select
        user_id,
        min(dt) as first_day,
        max(case when dt = date '{{ ds }}' then 1 else 0 end) as on_day,
        max(case when dt >= date '{{ days_before(ds, 6) }}' then 1 else 0 end) as in_7,
        max(case when dt >= date '{{ days_before(ds, 29) }}' then 1 else 0 end) as in_30,
        max(case when dt between date '{{ days_before(ds, 59) }}'
                             and date '{{ days_before(ds, 30) }}' then 1 else 0 end) as in_prev_30
    from history
    group by user_id
),

users as (
    select
        coalesce(sum(on_day), 0) as dau,
        coalesce(sum(in_7), 0) as wau,
        coalesce(sum(in_30), 0) as mau,
        coalesce(sum(in_prev_30), 0) as mau_prev,
        count(*) filter (where first_day = date '{{ ds }}') as new_users
    from per_user
),

day_events as (
    select
        coalesce(sum(messages), 0) as messages,
        coalesce(sum(joins), 0) as joins,
        coalesce(sum(quits), 0) as quits
    from history
    where dt = date '{{ ds }}'
),

final as (
    select
        date '{{ ds }}' as dt,
        u.dau,
        u.wau,
        u.mau,
        -- dau_mau = dau / mau
        cast(u.dau as double) / nullif(u.mau, 0) as dau_mau,
        u.mau_prev,
        -- mau_growth = mau / mau of the 30 days before - 1
        cast(u.mau as double) / nullif(u.mau_prev, 0) - 1.0 as mau_growth,
        u.new_users,
        e.messages,
        e.joins,
        e.quits
    from users u
    cross join day_events e
)

select * from final
