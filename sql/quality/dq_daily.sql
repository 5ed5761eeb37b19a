/*---
materialized: daily
description: Data quality of the events partition dt = ds, one row (docs/metrics.md#dq_daily).
columns:
  rows_read: rows in partition dt
  rows_valid: rows of partition dt kept after validity checks and deduplication (deleted users included)
  duplicate_rows: valid rows of partition dt dropped as duplicates of an earlier event_id
  null_key_rows: rows with a NULL event_id, user_id, event_time or event_type
  future_rows: rows whose event date is after dt
  too_late_rows: rows whose event date is before dt - late_days
  late_rows: valid rows whose event date is before dt
  unknown_type_rows: valid rows whose event_type is outside the vocabulary
  deleted_rows: rows of partition dt kept after deduplication that belong to users in deletions
  bad_amount_rows: rows of partition dt kept after deduplication whose amount was absurd (negative, NaN, infinite, above var.max_amount) and was quarantined as NULL
  error_rate: (rows_read - rows_valid) / rows_read, NULL when the partition is empty
tests:
  - { not_null: [rows_read, rows_valid] }
  - { unique: dt }
  - { expression: "rows_valid + duplicate_rows + null_key_rows + future_rows + too_late_rows = rows_read" }
  - { expression: "error_rate between 0 and 1" }
---*/
with raw as (
    select
        event_id,
        user_id,
        event_time,
        event_type,
        dt,
        cast(event_time as date) as event_date
    from events
    where dt = date '{{ ds }}'
),

flagged as (
    select
        *,
        event_id is null or user_id is null or event_time is null or event_type is null as null_key
    from raw
),

row_checks as (
    select
        count(*) as rows_read,
        sum(case when null_key then 1 else 0 end) as null_key_rows,
        sum(case when not null_key and event_date > dt then 1 else 0 end) as future_rows,
        sum(case when not null_key and event_date < dt - interval '{{ run.late_days }} days' then 1 else 0 end) as too_late_rows,
        sum(case when not null_key
                  and event_date between dt - interval '{{ run.late_days }} days' and dt
                 then 1 else 0 end) as valid_rows_before_dedup,
        sum(case when not null_key
                  and event_date between dt - interval '{{ run.late_days }} days' and dt
                  and event_date < dt
                 then 1 else 0 end) as late_rows,
        sum(case when not null_key
                  and event_date between dt - interval '{{ run.late_days }} days' and dt
                  and event_type not in ({% for t in var.event_types %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %})
                 then 1 else 0 end) as unknown_type_rows
    from flagged
),

kept as (
    select
        count(*) as rows_valid,
        sum(case when is_deleted then 1 else 0 end) as deleted_rows,
        sum(case when bad_amount then 1 else 0 end) as bad_amount_rows
    from stg_valid_events
    where dt = date '{{ ds }}'
),

final as (
    select
        date '{{ ds }}' as dt,
        r.rows_read,
        k.rows_valid,
        coalesce(r.valid_rows_before_dedup, 0) - k.rows_valid as duplicate_rows,
        coalesce(r.null_key_rows, 0) as null_key_rows,
        coalesce(r.future_rows, 0) as future_rows,
        coalesce(r.too_late_rows, 0) as too_late_rows,
        coalesce(r.late_rows, 0) as late_rows,
        coalesce(r.unknown_type_rows, 0) as unknown_type_rows,
        coalesce(k.deleted_rows, 0) as deleted_rows,
        coalesce(k.bad_amount_rows, 0) as bad_amount_rows,
        -- NULL for an empty partition, never NaN
        case when r.rows_read = 0 then null
             else cast(r.rows_read - k.rows_valid as double) / r.rows_read end as error_rate
    from row_checks r
    cross join kept k
)

select * from final
