-- user_tags (docs/metrics.md#user_tags): shoal's SQL (sql/marts/user_tags.sql), unchanged.
-- sort_by: user_id, tag
{%- set tags = var.tags | default([]) %}
with habits as (
    -- per user and active day in the 30 days ending ds: the channel of the
    -- day's first event and the part of the day (China time, UTC+8) it fell in
    select
        user_id,
        first_channel as channel,
        case
            when hour < 6 then 'night'
            when hour < 12 then 'morning'
            when hour < 18 then 'afternoon'
            else 'evening'
        end as daypart
    from (
        select user_id, first_channel,
            cast(date_part('hour', first_event_time + interval '8 hours') as bigint) as hour
        from user_daily
        where dt between date '{{ days_before(ds, 29) }}' and date '{{ ds }}'
    ) d
),

-- the habit of most of those days; a tie goes to the first channel name / the
-- earlier part of the day
channels as (
    select user_id, channel as main_channel
    from (
        select user_id, channel,
            row_number() over (partition by user_id order by count(*) desc, channel) as rn
        from habits
        where channel is not null
        group by user_id, channel
    ) c
    where rn = 1
),

dayparts as (
    select user_id, daypart as main_daypart
    from (
        select user_id, daypart,
            row_number() over (
                partition by user_id
                order by count(*) desc,
                    case daypart when 'night' then 0 when 'morning' then 1 when 'afternoon' then 2 else 3 end
            ) as rn
        from habits
        group by user_id, daypart
    ) p
    where rn = 1
),

base as (
    select
        f.*,
        s.activity_layer,
        s.lifecycle_stage,
        s.lifecycle_band,
        s.rfm_segment,
        s.pyramid_level,
        s.value_group,
        u.uvi,
        u.uvi_percentile,
        u.uvi_tier,
        c.main_channel,
        p.main_daypart
    from user_features f
    join user_segments s on s.user_id = f.user_id and s.dt = f.dt
    join uvi_scores u on u.user_id = f.user_id and u.dt = f.dt
    left join channels c on c.user_id = f.user_id
    left join dayparts p on p.user_id = f.user_id
    where f.dt = date '{{ ds }}'
),

{%- if tags %}
rules as (
    select idx, name
    from (values
    {%- for t in tags %}
        ({{ loop.index }}, '{{ t.name }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as r(idx, name)
),

evaluated as (
    -- every user against every rule in one pass over base: per rule '' (a
    -- `when` rule that holds), the value (a `value` rule) or NULL (the tag
    -- does not apply)
    select
        b.user_id,
        r.name as tag,
        case r.idx
        {%- for t in tags %}
            when {{ loop.index }} then
            {%- if t.when is defined %} case when ({{ t.when }}) then '' end
            {%- else %} cast(({{ t.value }}) as varchar)
            {%- endif %}
        {%- endfor %}
        end as v
    from base b
    cross join rules r
)

select
    user_id,
    tag,
    nullif(v, '') as value,
    date '{{ ds }}' as dt
from evaluated
where v is not null
{%- else %}
-- no rules (vars.tags absent or empty): no tags, same columns
rules_none as (select 1 as one)

select
    cast(null as varchar) as user_id,
    cast(null as varchar) as tag,
    cast(null as varchar) as value,
    date '{{ ds }}' as dt
from rules_none
where false
{%- endif %}
