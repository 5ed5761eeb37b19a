-- churn_daily (docs/metrics.md#churn_daily), dt = ds: written from the
-- definition with two sets of (scope, community, user) and a full join.
-- sort_by: scope, community_id
with scoped as (
    select 'platform' as scope, null::varchar as community_id, user_id, dt from user_daily
    union all
    select 'community', community_id, user_id, dt from community_user_daily
),
prev as (
    select distinct scope, community_id, user_id from scoped
    where dt between date '{{ ds }}' - 59 and date '{{ ds }}' - 30
),
cur as (
    select distinct scope, community_id, user_id from scoped
    where dt between date '{{ ds }}' - 29 and date '{{ ds }}'
),
counts as (
    select
        coalesce(p.scope, c.scope) as scope,
        coalesce(p.community_id, c.community_id) as community_id,
        count(p.user_id) as previous_active,
        count(c.user_id) as current_active,
        count(*) filter (where p.user_id is not null and c.user_id is not null) as retained
    from prev p
    full join cur c
      on c.scope = p.scope and c.community_id is not distinct from p.community_id and c.user_id = p.user_id
    group by all
)
select
    scope, community_id, date '{{ ds }}' as dt,
    previous_active, current_active, retained,
    previous_active - retained as churned,
    (previous_active - retained) / nullif(previous_active, 0)::double as churn_rate
from counts
