/*---
materialized: temp
description: >
  Valid, deduplicated events of the partitions this run reads
  (docs/metrics.md#stg_valid_events), deleted users flagged but kept, so
  dq_daily can count them. Models read stg_events, which drops the deleted
  users. Computed once per run into local scratch Parquet (`temp`), so the
  deduplication and sessions are not redone by each reader; never published.
columns:
  event_date: UTC day of event_time
  is_known_type: event_type is in the vocabulary (var.event_types)
  is_deleted: the user is in the deletions source
  amount: the amount, NULL when absurd (see bad_amount)
  bad_amount: the raw amount was absurd and is quarantined as NULL - NaN, infinite, below var.min_amount (default 0, so negative) or above var.max_amount (default 1e9)
  session_key: session_id, or a session derived per user and UTC day with a 30-minute gap
# Checked on a cluster only (docs/models.md#materializations): there a lost
# executor can make Ballista return rows twice; locally the deduplication
# above guarantees it.
tests:
  - { unique: event_id }
---*/
with deduplicated as (
    -- Every checked row whose event_id has a single copy, plus the copy that
    -- stays of each repeated id. stg_duplicate_events is written on the left:
    -- a hash join holds its left input in memory and cannot spill it, so it
    -- must be the small side.
    select c.*
    from stg_duplicate_events d
    right anti join stg_checked_events c on d.event_id = c.event_id
    union all
    select * from stg_duplicate_events
),

-- Sessions where session_id is null: per user and UTC day, a new session
-- starts after a gap of more than 30 minutes (so incremental and full
-- refresh runs derive the same sessions). Only these rows (a few percent)
-- are sorted; rows with a session_id keep it and are not sorted at all.
gaps as (
    select
        *,
        case
            when lag(event_time) over w is null
              or event_time - lag(event_time) over w > interval '30 minutes' then 1
            else 0
        end as starts_session
    from deduplicated
    where session_id is null
    window w as (partition by user_id, event_date order by event_time, event_id)
),

sessionized as (
    select
        * exclude (starts_session),
        concat(user_id, '/', cast(event_date as varchar), '/',
               cast(sum(starts_session) over (
                        partition by user_id, event_date
                        order by event_time, event_id
                        rows between unbounded preceding and current row) as varchar)) as session_key
    from gaps
),

keyed as (
    select *, session_id as session_key
    from deduplicated
    where session_id is not null
    union all
    select * from sessionized
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
        d.session_key,
        d.event_type in ({% for t in var.event_types %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}) as is_known_type,
        x.user_id is not null as is_deleted
    from keyed d
    left join (select distinct user_id from deletions where user_id is not null) x
        on x.user_id = d.user_id
)

select * from final
