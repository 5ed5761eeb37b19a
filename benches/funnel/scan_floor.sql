-- Reference, not a funnel: decode the three columns the funnel reads
-- (user_id, event_time, event_type) and reduce them to one row. The floor
-- under any formulation that reads them from Parquet.
select count(*) as n, min(event_time) as t, min(user_id) as u, min(event_type) as e
from events
where user_id is not null
