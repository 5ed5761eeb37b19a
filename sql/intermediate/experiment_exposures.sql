/*---
materialized: daily
rewrites_days: late_days
sort_by: [experiment, user_id]
description: >
  Users' first event carrying an experiment on each activity day: the
  assignment history experiment_results reads
  (docs/metrics.md#experiment_exposures). `experiment` and `variant` come from
  the JSON `properties` (json_get_str, top-level keys). Rewrites ds -
  late_days .. ds.
columns:
  experiment: properties.experiment
  variant: properties.variant (NULL when absent)
  user_id: the user
  dt: the activity day (UTC)
  first_time: the user's first event of that experiment and variant that day
tests:
  - { unique: [experiment, variant, user_id, dt] }
  - { not_null: [experiment, user_id, dt, first_time] }
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

tagged as (
    select
        user_id,
        event_date,
        event_time,
        json_get_str(properties, 'experiment') as experiment,
        json_get_str(properties, 'variant') as variant
    from activity
    where properties is not null
),

final as (
    select experiment, variant, user_id, event_date as dt, min(event_time) as first_time
    from tagged
    where experiment is not null
    group by experiment, variant, user_id, event_date
)

select * from final
