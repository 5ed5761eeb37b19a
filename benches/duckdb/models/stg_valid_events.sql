-- stg_valid_events (docs/metrics.md#stg_valid_events), materialized once. Differences from
-- shoal's SQL: deduplication finds the duplicated event_ids first (a
-- group by of event_id alone) and ranks only their rows; the others pass
-- through an anti join. With memory_limit 2GiB on 10 M events the plain
-- `qualify row_number() over (partition by event_id ...)`, `distinct on`
-- and `arg_min` per event_id ran out of memory, and the same split over a
-- materialized CTE took 2.3 GB of RSS; two scans of the Parquet took
-- 1.1 GB (BENCHMARKS.md). And the
-- 30-minute sessions are derived only over the rows without a session_id
-- (shoal partitions every row and ignores the result for those with one).
-- is_deleted is kept so dq_daily can count deleted users' rows, as shoal does.
with valid as not materialized (
    select
        event_id, event_time, user_id, community_id, event_type, content_id,
        session_id, amount, order_id, referrer_id, channel, properties, dt,
        cast(event_time as date) as event_date,
        coalesce(isnan(amount) or amount < {{ var.min_amount | default(0) }} or amount > {{ var.max_amount | default(1000000000) }}, false) as bad_amount
    from read_parquet('{{ events }}', hive_partitioning = true, hive_types = {'dt': 'DATE'})
    -- --full-refresh: every partition <= ds
    where dt <= date '{{ ds }}'
      and event_id is not null and user_id is not null
      and event_time is not null and event_type is not null
      -- the event date lies in [dt - late_days, dt]
      and cast(event_time as date) between dt - {{ run.late_days }} and dt
),

duplicated as (
    select event_id from valid group by event_id having count(*) > 1
),

deduplicated as (
    select v.* from valid v anti join duplicated using (event_id)
    union all
    -- duplicate event_ids keep the earliest event_time, then the earliest partition
    select * from (select v.* from valid v semi join duplicated using (event_id))
    qualify row_number() over (partition by event_id order by event_time, dt) = 1
),

derived as (
    -- rows without session_id: per user and UTC day, a new session after a gap > 30 min
    select
        event_id,
        sum(starts) over (partition by user_id, event_date order by event_time, event_id
                          rows between unbounded preceding and current row) as session_no
    from (
        select event_id, user_id, event_date, event_time,
               case when lag(event_time) over w is null
                      or event_time - lag(event_time) over w > interval 30 minute then 1 else 0 end as starts
        from deduplicated
        where session_id is null
        window w as (partition by user_id, event_date order by event_time, event_id)
    )
)

select
    -- absurd amounts are quarantined as NULL and flagged, as in shoal
    d.* replace (case when d.bad_amount then null else d.amount end as amount),
    coalesce(d.session_id, d.user_id || '/' || cast(d.event_date as varchar) || '/' || cast(s.session_no as varchar)) as session_key,
    d.event_type in ({% for t in var.event_types %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}) as is_known_type,
    x.user_id is not null as is_deleted
from deduplicated d
left join derived s on s.event_id = d.event_id
left join deleted_users x on x.user_id = d.user_id
