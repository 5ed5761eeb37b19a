-- community_hourly (docs/metrics.md#community_hourly), every day <= ds: shoal's SQL.
-- sort_by: dt, community_id, event_type, hour
select
    community_id,
    event_type,
    cast(hour(event_time) as int) as hour,
    event_date as dt,
    count(*) as events
from stg_events
where event_date <= date '{{ ds }}'
group by all
