-- Reference, not a funnel: the same scan grouped by user with built-in
-- aggregates over the same columns. window_funnel minus this is the cost of
-- the UDAF itself (its per-group event lists and the funnel scan).
select count(*) as users, sum(n) as n
from (
  select user_id, count(event_type) as n, min(event_time) as t
  from events
  where user_id is not null
  group by user_id
) as per_user
