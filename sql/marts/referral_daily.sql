/*---
materialized: daily
description: >
  The invite loop on ds (docs/metrics.md#referral_daily), one row: who
  invited, how many joined through an invite, how many invitees made their
  first purchase within 7 days of joining, and the k-factor.
columns:
  dt: the run day
  inviters: distinct users with an invite event on ds
  invites: invite events on ds
  invited_joins: join events on ds that carry a referrer_id
  invited_first_purchases: invitees whose first purchase ever is on ds and at most 7 days (604800 s) after their first invited join
  k_factor: invited_joins / inviters; NULL without inviters
tests:
  - { unique: dt }
  - { not_null: [dt, inviters, invites, invited_joins, invited_first_purchases] }
  - { expression: "inviters <= invites and k_factor >= 0" }
---*/
with invites as (
    select
        count(*) filter (where invites > 0) as inviters,
        coalesce(sum(invites), 0) as invites
    from user_daily
    where dt = date '{{ ds }}'
),

joins as (
    select count(*) as invited_joins
    from referrals
    where event_type = 'join' and dt = date '{{ ds }}'
),

first_joins as (
    -- each invitee's first invited join up to ds
    select invitee_id, min(event_time) as joined_at
    from referrals
    where event_type = 'join' and dt <= date '{{ ds }}'
    group by invitee_id
),

earlier_buyers as (
    select distinct user_id
    from user_daily
    where purchases > 0 and dt < date '{{ ds }}'
),

first_purchases as (
    -- purchases on ds of users who never bought before: their first purchase
    select user_id, min(event_time) as bought_at
    from stg_events
    where event_type = 'purchase'
      and event_date = date '{{ ds }}'
      and user_id not in (select user_id from earlier_buyers)
    group by user_id
),

converted as (
    select count(*) as invited_first_purchases
    from first_purchases p
    join first_joins j on j.invitee_id = p.user_id
    -- the first purchase within 7 days of the invited join
    where p.bought_at >= j.joined_at
      and p.bought_at <= j.joined_at + interval '7 days'
),

final as (
    select
        date '{{ ds }}' as dt,
        i.inviters,
        i.invites,
        j.invited_joins,
        c.invited_first_purchases,
        -- k_factor = invited joins / inviters
        cast(j.invited_joins as double) / nullif(i.inviters, 0) as k_factor
    from invites i
    cross join joins j
    cross join converted c
)

select * from final
