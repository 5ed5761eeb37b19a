/*---
materialized: temp
description: >
  Valid, deduplicated events of the partitions this run reads (SPEC §5.1),
  deleted users flagged but kept, so dq_daily can count them. Models read
  stg_events, which drops the deleted users. Computed once per run into
  local scratch Parquet (`temp`), so the deduplication and sessions are not
  redone by each reader; never published.
columns:
  event_date: UTC day of event_time
  is_known_type: event_type is in the vocabulary (var.event_types)
  is_deleted: the user is in the deletions source
  amount: the amount, NULL when absurd (see bad_amount)
  bad_amount: the raw amount was absurd and is quarantined as NULL - NaN, infinite, below var.min_amount (default 0, so negative) or above var.max_amount (default 1e9)
  session_key: session_id, or a session derived per user and UTC day with a 30-minute gap
---*/
with raw as (
    select
        e.*,
        cast(e.event_time as date) as event_date,
        coalesce(isnan(e.amount) or e.amount < {{ var.min_amount | default(0) }} or e.amount > {{ var.max_amount | default(1000000000) }}, false) as amount_is_bad
    from events e
    -- incremental: dt in [ds - late_days, ds]; --full-refresh: every partition <= ds
    where e.dt between date '{{ run.scan_from }}' and date '{{ ds }}'
),

valid as (
    select *
    from raw
    where event_id is not null
      and user_id is not null
      and event_time is not null
      and event_type is not null
      -- SPEC §5.1: the event date lies in [dt - late_days, dt]
      and event_date between dt - interval '{{ run.late_days }} days' and dt
),

dup_ids as (
    -- the event_ids that occur more than once (few): only their rows are ranked
    select event_id from valid group by event_id having count(*) > 1
),

deduplicated as (
    -- duplicate event_ids keep the earliest event_time, then the earliest
    -- partition. Unique ids pass through an anti join; a row_number window
    -- over every id would pay a window partition per event (2x the time of
    -- this, and `distinct on` 3x: one ordered first_value per column).
    -- dup_ids is written on the left of both joins: a hash join holds its
    -- left input in memory and cannot spill it, so it must be the small one
    -- (with `not exists` the whole of `valid` was the build side, and a
    -- 10 M-event full refresh ran out of a 2 GiB memory limit).
    select v.*
    from dup_ids d
    right anti join valid v on d.event_id = v.event_id
    union all
    select * exclude (dup_rank)
    from (
        select v.*, row_number() over (partition by v.event_id order by v.event_time, v.dt) as dup_rank
        from dup_ids d
        join valid v on d.event_id = v.event_id
    ) ranked
    where dup_rank = 1
),

-- Sessions where session_id is null: per user and UTC day, a new session
-- starts after a gap of more than 30 minutes (so incremental and full
-- refresh runs derive the same sessions). Rows with a session_id form their
-- own window partition and keep their id. One chain of windows over
-- `deduplicated`, so the deduplication runs once.
gaps as (
    select
        *,
        case
            when lag(event_time) over w is null
              or event_time - lag(event_time) over w > interval '30 minutes' then 1
            else 0
        end as starts_session
    from deduplicated
    window w as (partition by user_id, event_date, session_id is null order by event_time, event_id)
),

sessionized as (
    select
        *,
        sum(starts_session) over (
            partition by user_id, event_date, session_id is null
            order by event_time, event_id
            rows between unbounded preceding and current row) as session_no
    from gaps
),

final as (
    select
        d.event_id,
        d.event_time,
        d.user_id,
        d.community_id,
        d.event_type,
        d.content_id,
        d.session_id,
        -- absurd amounts (NaN, +-inf, outside [var.min_amount, var.max_amount]) are
        -- quarantined: the event stays, its amount becomes NULL and dq_daily
        -- counts it as bad_amount_rows
        case when d.amount_is_bad then null else d.amount end as amount,
        d.amount_is_bad as bad_amount,
        d.order_id,
        d.referrer_id,
        d.channel,
        d.properties,
        d.dt,
        d.event_date,
        coalesce(d.session_id,
                 concat(d.user_id, '/', cast(d.event_date as varchar), '/', cast(d.session_no as varchar))) as session_key,
        d.event_type in ({% for t in var.event_types %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}) as is_known_type,
        x.user_id is not null as is_deleted
    from sessionized d
    left join (select distinct user_id from deletions where user_id is not null) x
        on x.user_id = d.user_id
)

select * from final
