/*---
materialized: view
description: >
  The valid, deduplicated events of the partitions the run needs, without the
  users in `deletions` (docs/metrics.md#stg_events). Every model reads events
  through it; the work is done once per run by stg_valid_events (`temp`).
---*/
select *
from stg_valid_events
where not is_deleted
