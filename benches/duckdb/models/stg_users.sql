-- stg_users (docs/metrics.md#stg_users): shoal's SQL (sql/staging/stg_users.sql), deleted_users for deletions.
-- materialized: view
with ranked as (
    select
        u.*,
        row_number() over (
            partition by u.user_id
            order by u.signup_time desc nulls last, u.gender desc nulls last, u.birth_year desc nulls last,
                u.region desc nulls last, u.city_tier desc nulls last, u.occupation desc nulls last) as rn
    from users u
    where u.user_id is not null
      and u.user_id not in (select user_id from deleted_users)
),

cleaned as (
    select
        user_id,
        signup_time,
        nullif(lower(trim(gender)), '') as gender,
        case when birth_year between 1900 and {{ ds[:4] }} then birth_year end as birth_year,
        nullif(trim(region), '') as region,
        case when city_tier between 1 and 5 then city_tier end as city_tier,
        nullif(trim(occupation), '') as occupation
    from ranked
    where rn = 1
)

select
    user_id,
    signup_time,
    gender,
    birth_year,
    case
        when birth_year >= 2010 then '10后'
        when birth_year >= 2000 then '00后'
        when birth_year >= 1995 then '95后'
        when birth_year >= 1990 then '90后'
        when birth_year >= 1985 then '85后'
        when birth_year >= 1980 then '80后'
        when birth_year is not null then '80前'
    end as generation,
    birth_year between 1995 and 2009 as gen_z,
    region,
    city_tier,
    occupation
from cleaned
