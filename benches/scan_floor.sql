-- The scan floor of the whole pack (benches/run.sh): read and decode once
-- every events column the models use, from every partition up to the run
-- day {ds}, reduced to one row with simple aggregates. Any engine running
-- the pack pays at least this.
select
    count(*) as n,
    min(event_id) as event_id,
    max(event_time) as event_time,
    min(user_id) as user_id,
    min(community_id) as community_id,
    min(event_type) as event_type,
    min(content_id) as content_id,
    min(session_id) as session_id,
    sum(amount) as amount,
    min(referrer_id) as referrer_id,
    min(channel) as channel,
    max(length(properties)) as properties
from events
where dt <= date '{ds}'
