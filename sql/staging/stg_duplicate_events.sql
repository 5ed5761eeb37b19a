/*---
materialized: temp
description: >
  For every event_id that occurs more than once among the checked events of
  this run, the copy that stays: the earliest event_time, then the earliest
  partition (docs/metrics.md#stg_duplicate_events). Few rows; stg_valid_events
  drops every other copy of these ids. Computed once per run, never published.
columns:
  event_id: an event_id with more than one valid copy (unique here)
tests:
  - { unique: event_id }
---*/
with repeated_hashes as (
    -- Grouping 64-bit hashes is ~4x cheaper than grouping the id strings;
    -- a hash collision only adds rows to `copies`, which compares real ids.
    select id_hash
    from (select hash64(event_id) as id_hash from stg_checked_events) h
    group by id_hash
    having count(*) > 1
),

copies as (
    -- the hash sits on the left: a hash join keeps its left input in memory
    -- and cannot spill it, so that must be the small side
    select
        c.*,
        row_number() over (partition by c.event_id order by c.event_time, c.dt) as copy_rank,
        count(*) over (partition by c.event_id) as copy_count
    from repeated_hashes r
    join stg_checked_events c on r.id_hash = hash64(c.event_id)
)

select * exclude (copy_rank, copy_count)
from copies
where copy_rank = 1 and copy_count > 1
