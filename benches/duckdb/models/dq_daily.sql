-- dq_daily (docs/metrics.md#dq_daily): shoal's SQL with DuckDB's count_if; partition dt = ds
-- read again from Parquet (one partition), the kept rows from stg_events.
with raw as (
    select event_id, user_id, event_time, event_type, dt, cast(event_time as date) as event_date,
           event_id is null or user_id is null or event_time is null or event_type is null as null_key
    from read_parquet('{{ events }}', hive_partitioning = true, hive_types = {'dt': 'DATE'})
    where dt = date '{{ ds }}'
),
row_checks as (
    select
        count(*) as rows_read,
        count_if(null_key) as null_key_rows,
        count_if(not null_key and event_date > dt) as future_rows,
        count_if(not null_key and event_date < dt - {{ run.late_days }}) as too_late_rows,
        count_if(not null_key and event_date between dt - {{ run.late_days }} and dt) as valid_rows_before_dedup,
        count_if(not null_key and event_date between dt - {{ run.late_days }} and dt and event_date < dt) as late_rows,
        count_if(not null_key and event_date between dt - {{ run.late_days }} and dt
                 and event_type not in ({% for t in var.event_types %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %})) as unknown_type_rows
    from raw
),
kept as (
    select count(*) as rows_valid, count_if(is_deleted) as deleted_rows, count_if(bad_amount) as bad_amount_rows
    from stg_valid_events
    where dt = date '{{ ds }}'
)
select
    date '{{ ds }}' as dt,
    r.rows_read,
    k.rows_valid,
    r.valid_rows_before_dedup - k.rows_valid as duplicate_rows,
    r.null_key_rows,
    r.future_rows,
    r.too_late_rows,
    r.late_rows,
    r.unknown_type_rows,
    k.deleted_rows,
    k.bad_amount_rows,
    case when r.rows_read = 0 then null
         else cast(r.rows_read - k.rows_valid as double) / r.rows_read end as error_rate
from row_checks r cross join kept k
