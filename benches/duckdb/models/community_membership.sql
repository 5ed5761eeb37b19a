-- community_membership (view in shoal): each user's latest join/quit per
-- community up to ds, by event_time, a quit winning a tie. arg_max over
-- community_user_daily instead of shoal's distinct on.
select
    community_id,
    user_id,
    arg_max(last_membership_event, (last_membership_time, last_membership_event = 'quit')) as last_membership_event
from community_user_daily
where dt <= date '{{ ds }}' and last_membership_event is not null
group by community_id, user_id
