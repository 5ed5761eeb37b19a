-- referrals (docs/metrics.md#referrals), every day <= ds: shoal's SQL.
-- sort_by: dt, referrer_id
select
    event_date as dt, event_id, event_time, event_type,
    user_id as invitee_id, referrer_id, community_id, channel
from stg_events
where event_date <= date '{{ ds }}'
  and event_type in ('join', 'signup')
  and referrer_id is not null
  and referrer_id not in (select user_id from deleted_users)
