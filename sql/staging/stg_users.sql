/*---
materialized: view
description: >
  One row per user of the optional `users` source (docs/metrics.md#stg_users),
  without the users in `deletions`, with the attributes cleaned and the
  generation derived from birth_year. A user listed more than once keeps the
  row with the latest signup_time (then the greatest attributes, so the
  choice never depends on file order). Without a `users` source it is empty,
  and user_features' attributes are NULL.
columns:
  user_id: the user
  signup_time: when the user registered
  gender: trimmed and lower-cased; NULL when missing or empty
  birth_year: the birth year when it lies in 1900 .. the year of ds; NULL otherwise
  generation: 10后 (born 2010 or later), 00后 (2000-2009), 95后 (1995-1999), 90后 (1990-1994), 85后 (1985-1989), 80后 (1980-1984), 80前 (before 1980); NULL without birth_year
  gen_z: born 1995-2009; NULL without birth_year
  region: trimmed; NULL when missing or empty
  city_tier: 1 (first-tier cities) .. 5; NULL when missing or outside 1 .. 5
  occupation: trimmed; NULL when missing or empty
---*/
with ranked as (
    select
        u.*,
        row_number() over (
            partition by u.user_id
            order by u.signup_time desc nulls last, u.gender desc nulls last, u.birth_year desc nulls last,
                u.region desc nulls last, u.city_tier desc nulls last, u.occupation desc nulls last) as rn
    from users u
    where u.user_id is not null
      and u.user_id not in (select d.user_id from deletions d where d.user_id is not null)
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
