-- funnel_events (shoal's history of funnel-step events), every day <= ds:
-- shoal's SQL. Written because shoal writes it; the DuckDB funnels read it.
-- sort_by: dt, user_id
select event_date as dt, event_id, event_time, user_id, event_type, community_id, channel, referrer_id
from stg_events
where event_date <= date '{{ ds }}'
  and event_type in (
    {%- for f in funnels %}{% for s in f.steps %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor %}{% if not loop.last %}, {% endif %}{% endfor -%}
  )
