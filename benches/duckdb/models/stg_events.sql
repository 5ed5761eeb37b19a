-- stg_events (docs/metrics.md#stg_events): the valid, deduplicated events without the users
-- in `deletions`, as in shoal.
-- materialized: view
select * from stg_valid_events where not is_deleted
