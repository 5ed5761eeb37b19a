/*---
materialized: view
description: >
  The events of the partitions this run reads that pass the validity checks
  (no NULL key, event date in [dt - late_days, dt]; see
  docs/metrics.md#stg_checked_events), before deduplication; absurd amounts
  flagged. Read by stg_duplicate_events and stg_valid_events.
columns:
  event_date: UTC day of event_time
  amount_is_bad: the amount is NaN, infinite, below var.min_amount (default 0, so negative) or above var.max_amount (default 1e9)
---*/
with raw as (
    select
        e.*,
        cast(e.event_time as date) as event_date,
        coalesce(isnan(e.amount) or e.amount < {{ var.min_amount | default(0) }} or e.amount > {{ var.max_amount | default(1000000000) }}, false) as amount_is_bad
    from events e
    -- incremental: dt in [ds - late_days, ds]; --full-refresh: every partition <= ds
    where e.dt between date '{{ run.scan_from }}' and date '{{ ds }}'
)

select *
from raw
where event_id is not null
  and user_id is not null
  and event_time is not null
  and event_type is not null
  -- the event date lies in [dt - late_days, dt]
  and event_date between dt - interval '{{ run.late_days }} days' and dt
