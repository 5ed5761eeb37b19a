-- experiment_exposures (docs/metrics.md#experiment_exposures), every day <= ds: shoal's SQL,
-- json_get_str -> json_extract_string (a number would come back as text
-- here and NULL in shoal; the generator writes strings).
-- sort_by: dt, experiment, user_id
select experiment, variant, user_id, event_date as dt, min(event_time) as first_time
from (
    select user_id, event_date, event_time,
           json_extract_string(properties, '$.experiment') as experiment,
           json_extract_string(properties, '$.variant') as variant
    from stg_events
    where event_date <= date '{{ ds }}' and properties is not null
)
where experiment is not null
group by experiment, variant, user_id, event_date
