/*---
materialized: daily
rewrites_days: late_days
sort_by: [referrer_id]
description: >
  One row per join or signup event that came from an invite (referrer_id set),
  on its activity day (UTC). Like user_daily it rewrites the days ds -
  late_days .. ds so late events are folded in; it is the referral history
  that user_features (referred_joins_30) and referral_daily read, since
  stg_events only holds the late window. Invites from users in `deletions` are
  dropped too (docs/events.md#deletions: excluded from every output).
columns:
  dt: the activity day (UTC) of the join/signup
  event_id: the join/signup event
  event_time: when it happened
  event_type: join or signup
  invitee_id: the user who joined / signed up
  referrer_id: the inviting user
  community_id: the community joined (NULL is its own group)
  channel: the channel of the event
tests:
  - { unique: event_id }
  - { not_null: [dt, event_id, event_time, invitee_id, referrer_id] }
  - { accepted_values: { column: event_type, values: [join, signup] } }
---*/
with activity as (
    select *
    from stg_events
    {% if not run.full_refresh %}
    where event_date between date '{{ days_before(ds, run.late_days) }}' and date '{{ ds }}'
    {% else %}
    where event_date <= date '{{ ds }}'
    {% endif %}
),

final as (
    select
        a.event_date as dt,
        a.event_id,
        a.event_time,
        a.event_type,
        a.user_id as invitee_id,
        a.referrer_id,
        a.community_id,
        a.channel
    from activity a
    where a.event_type in ('join', 'signup')
      and a.referrer_id is not null
      and a.referrer_id not in (select user_id from deletions where user_id is not null)
)

select * from final
