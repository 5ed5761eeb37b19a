/*---
materialized: temp
description: >
  The latest join or quit of each user in each community, by event_time,
  over every committed day of community_user_daily up to ds: community_daily
  `members`, user_features `is_member`. On a tie at the same instant a quit
  wins (docs/metrics.md#community_membership).
columns:
  community_id: the community
  user_id: the user
  last_membership_event: join or quit
---*/
with latest as (
    select distinct on (community_id, user_id)
        community_id,
        user_id,
        last_membership_event
    from community_user_daily
    where dt <= date '{{ ds }}'
      and last_membership_event is not null
    order by community_id, user_id, last_membership_time desc,
             case when last_membership_event = 'quit' then 0 else 1 end
),

final as (
    select * from latest
)

select * from final
