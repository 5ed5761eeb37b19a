#!/usr/bin/env python3
"""Independent cross-check of shoal's model outputs, recomputed in DuckDB.

What it checks
    For one run day D (--ds) it recomputes, from the raw events alone and
    from the definitions in shoal's metric reference (docs/metrics.md), not
    from shoal's SQL in sql/, the tables (docs/metrics.md#<table>)

        community_daily    every column
        retention_cohorts  every column
        uvi_scores         every component column, percentile, tier
        user_features      the features the segments below use
        user_segments      every column: activity_layer, rfm_r/f/m,
                           rfm_segment, recommended_action,
                           lifecycle_stage, lifecycle_band,
                           pyramid_level, value_group
        funnel_steps       every configured funnel with mode [] or
                           ClickHouse modes (windowFunnel reimplemented
                           in Python), total / community_id / channel

    and compares them with what shoal wrote to
    <output.location>/<model>/dt=D/*.parquet, row by row on the table's key:
    integers, strings and dates exactly, floats to 1e-9 (relative or
    absolute), NULL only equal to NULL (a NaN never equals anything: shoal's
    metric reference (docs/metrics.md) says ratios are NULL, never NaN).

    The staging rules (docs/metrics.md#stg_valid_events) are re-implemented
    first (validity window [dt - late_days, dt], null keys dropped, dedup by
    event_id keeping the earliest event_time then the earliest partition,
    users in `deletions` removed, unknown types kept). Every partition
    dt <= D is read, i.e. the reference is what a `--full-refresh` run for D
    must give (and, by docs/metrics.md#user_daily, what an incremental run
    must give too).

How it is run
    PY=$(.ci/pyenv)
    $PY tests/py/crosscheck.py --project DIR --ds YYYY-MM-DD [--tables a,b] [--show N]
                               [--config PATH] [--set KEY=VALUE ...]

    DIR is a shoal project: config/shoal.yaml, the events at
    sources.events.location and shoal's outputs at output.location, both
    relative to DIR (or file:// URLs). Pass the same --config / --set
    overrides the shoal run was given. Prints "<table>: N rows compared, OK"
    per table; on a mismatch it prints the first differing rows and columns
    and exits 1; a missing output partition or column is a mismatch too.
    Exit 2: bad arguments or an unreadable config.

Readings where the definitions leave room (shoal's reading, noted where used;
docs/metrics.md#decisions):
    * derived sessions (docs/events.md#events: a NULL session_id means a
      session derived with a 30-minute gap): per user and UTC event day,
      over the user's events without a session_id, a new session after a
      gap of more than 30 minutes.
    * funnels (docs/metrics.md#funnel_users): timestamps compared in
      microseconds; events at the same microsecond are ordered by step
      number, as ClickHouse sorts (timestamp, step). `match_by: invitee`
      (referral): steps 2.. are events of one invitee, i.e. a join whose
      referrer_id is the step-1 user and that user's own later steps; the
      inviter's level is the best over invitees.
      conversion_from_previous is NULL for step 1.
    * pyramid_level (docs/metrics.md#user_segments): level 5 = (contributor
      and a referred join in 30 days) or top 1 % (percent_rank >= 0.99) by
      interactions_30; level 3 needs membership, level 4 does not.
    * retention_cohorts (docs/metrics.md#retention_cohorts): a row for every
      cohort day in the range, empty cohorts included (size 0, rates NULL).
    * user_features.events_30: every valid event, unknown types included.
    * a join and a quit of one user in one community at the same event_time:
      shoal lets the quit win (docs/metrics.md#community_membership); the
      generator makes no such tie, the reference picks one arbitrarily.

Known limit of incremental runs (not of this script): a duplicate event_id
whose earliest copy sits in a partition older than D - late_days and whose
later copy (valid in the late window, later event_time) arrives with D is
kept by an incremental run, which only deduplicates within
[D - late_days, D] (docs/metrics.md#stg_duplicate_events), but dropped by
--full-refresh; the reference follows --full-refresh
(docs/metrics.md#user_daily: both must be identical).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import pathlib
import re
import sys
from urllib.parse import urlparse

import duckdb
import yaml

# docs/events.md#events: the event-type vocabulary (the config's var.event_types is used when present).
VOCABULARY = [
    "exposure", "view", "click", "like", "comment", "share", "message", "join", "quit",
    "checkin", "activity_join", "signup", "add_to_cart", "purchase", "invite", "nps",
]
# docs/metrics.md#community_daily: core actions (the config's var.core_actions is used when present).
CORE_ACTIONS = ["click", "like", "comment", "share", "checkin", "activity_join", "add_to_cart", "purchase"]
RETENTION_DAYS = [1, 3, 7, 14, 30, 60, 90]
UVI_DEFAULTS = {
    "w_like": 0.3, "w_comment": 0.4, "w_share": 0.3,
    "exp_r7": 0.3, "exp_r30": 0.4, "exp_r90": 0.3, "exp_outer": 1.0 / 3.0,
    "tier_high": 80, "tier_medium": 50,
}


class Ctx:
    """Everything the reference computations need: the run day and the config."""

    def __init__(self, project: pathlib.Path, ds: dt.date, overrides=(), config="config/shoal.yaml"):
        cfg_path = project / config
        try:
            cfg = yaml.safe_load(cfg_path.read_text())
        except OSError as e:
            fail_usage(f"{cfg_path}: cannot read the config: {e}")
        for item in overrides:
            apply_override(cfg, item)
        self.project = project
        self.ds = ds
        self.cfg = cfg
        sources = cfg.get("sources", {})
        self.events = resolve_location(project, sources["events"]["location"])
        dele = sources.get("deletions")
        self.deletions = resolve_location(project, dele["location"]) if dele else None
        self.warehouse = resolve_location(project, cfg["output"]["location"])
        run = cfg.get("run", {})
        self.late_days = int(run.get("late_days", 3))
        self.lookback_days = int(run.get("lookback_days", 90))
        v = cfg.get("vars", {}) or {}
        self.vocabulary = list(v.get("event_types", VOCABULARY))
        self.core_actions = list(v.get("core_actions", CORE_ACTIONS))
        self.retention_days = [int(n) for n in v.get("retention_days", RETENTION_DAYS)]
        self.uvi = {**UVI_DEFAULTS, **(v.get("uvi") or {})}
        self.min_amount = float(v.get("min_amount", 0))
        self.max_amount = float(v.get("max_amount", 1e9))
        self.funnels = cfg.get("funnels") or []
        seg = cfg.get("segments") or {}
        self.activity_layer = seg["activity_layer"]
        self.rfm_map = seg["rfm_map"]
        self.recommended_action = seg.get("recommended_action") or {}


def apply_override(cfg: dict, item: str) -> None:
    """--set run.late_days=2, as shoal's --set: a dotted key and a YAML value."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        fail_usage(f"--set {item!r}: expected KEY=VALUE, e.g. run.late_days=2")
    node = cfg
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = yaml.safe_load(value)


def fail_usage(msg: str) -> None:
    print(f"crosscheck: error: {msg}", file=sys.stderr)
    sys.exit(2)


def resolve_location(project: pathlib.Path, location: str) -> pathlib.Path:
    """A config location: a path relative to the project, or a file:// URL."""
    if "://" in location:
        url = urlparse(location)
        if url.scheme != "file":
            fail_usage(f"{location}: only local paths and file:// URLs are supported by the cross-check")
        return pathlib.Path(url.path)
    p = pathlib.Path(location)
    return p if p.is_absolute() else project / p


def sql_list(values) -> str:
    return ", ".join("'" + str(x).replace("'", "''") + "'" for x in values)


def d(day: dt.date) -> str:
    """A date literal."""
    return f"date '{day.isoformat()}'"


# ---------------------------------------------------------------------------
# Staging (docs/metrics.md#stg_valid_events): valid, deduplicated events of every
# partition dt <= D.
# ---------------------------------------------------------------------------
def stage_events(con: duckdb.DuckDBPyConnection, ctx: Ctx) -> None:
    files = f"{ctx.events}/dt=*/*.parquet"
    con.execute(f"""
        create temp table raw_events as
        select event_id, event_time, user_id, community_id, event_type, content_id,
               session_id, amount, order_id, referrer_id, channel, dt
        from read_parquet('{files}', hive_partitioning = true,
                          hive_types = {{'dt': 'DATE'}}, union_by_name = true)
        where dt <= {d(ctx.ds)}
    """)

    # docs/events.md#deletions: users in `deletions` are excluded from every output.
    con.execute("create temp table deleted_users (user_id varchar)")
    if ctx.deletions is not None and ctx.deletions.exists():
        loc = ctx.deletions
        parquet = [loc] if loc.is_file() and loc.suffix == ".parquet" else sorted(loc.rglob("*.parquet")) if loc.is_dir() else []
        csv = [loc] if loc.is_file() and loc.suffix == ".csv" else sorted(loc.rglob("*.csv")) if loc.is_dir() else []
        for f in parquet:
            con.execute(f"insert into deleted_users select cast(user_id as varchar) from read_parquet('{f}')")
        for f in csv:
            con.execute(f"insert into deleted_users select cast(user_id as varchar) from read_csv('{f}', header = true)")

    con.execute(f"""
        create temp table stg as
        with valid as (
            -- docs/metrics.md#stg_checked_events: a row of partition dt is valid
            -- when the keys are not null and its event date (UTC; the session
            -- time zone is UTC) lies in [dt - late_days, dt].
            select *, cast(event_time as date) as event_date
            from raw_events
            where event_id is not null and user_id is not null
              and event_time is not null and event_type is not null
              and cast(event_time as date) between dt - {ctx.late_days} and dt
        ),
        dedup as (
            -- docs/metrics.md#stg_duplicate_events: among valid rows a duplicate
            -- event_id keeps the earliest event_time, on a tie the earliest partition.
            select * from valid
            qualify row_number() over (partition by event_id order by event_time, dt) = 1
        )
        -- docs/metrics.md#stg_checked_events: an absurd amount (NaN, infinite,
        -- outside [vars.min_amount, vars.max_amount]; with the shipped 0, a
        -- refund's negative amount) is quarantined as NULL, the event stays.
        select * replace (
                   case when isnan(amount) or amount < {ctx.min_amount!r}
                             or amount > {ctx.max_amount!r}
                        then null else amount end as amount),
               event_type in ({sql_list(ctx.vocabulary)}) as is_known_type
        from dedup
        -- docs/events.md#deletions: deleted users leave every output.
        where not exists (select 1 from deleted_users x where x.user_id = dedup.user_id)
    """)

    # docs/events.md#events: session_id, or when it is null a session derived
    # with a 30-minute gap. The input definition does not say over which events;
    # shoal derives per user and UTC
    # day over the events without a session_id (its documented reading).
    con.execute("""
        create temp table stg_s as
        with unsessioned as (
            select event_id, user_id, event_date, event_time,
                   lag(event_time) over (partition by user_id, event_date
                                         order by event_time, event_id) as prev_time
            from stg where session_id is null
        ),
        numbered as (
            select event_id,
                   sum(case when prev_time is null or event_time - prev_time > interval 30 minute
                            then 1 else 0 end)
                       over (partition by user_id, event_date order by event_time, event_id
                             rows between unbounded preceding and current row) as n
            from unsessioned
        )
        select s.*,
               coalesce(s.session_id, 'derived:' || cast(s.event_date as varchar) || ':' || cast(n.n as varchar))
                   as session_key
        from stg s left join numbered n using (event_id)
    """)


# ---------------------------------------------------------------------------
# community_daily (docs/metrics.md#community_daily)
# ---------------------------------------------------------------------------
def ref_community_daily(con, ctx):
    D = d(ctx.ds)
    core = sql_list(ctx.core_actions)
    return con.sql(f"""
        with month as (
            -- docs/metrics.md#conventions: window of 30 days ending D = event dates in [D - 29, D]
            select * from stg_s where event_date between {D} - 29 and {D}
        ),
        today as (select * from month where event_date = {D}),
        day_stats as (
            -- one row per community with at least one event on D (NULL is its own group)
            select community_id,
                   count(distinct user_id) as dau,
                   count(*) filter (where event_type = 'view') as views,
                   count(*) filter (where event_type = 'like') as likes,
                   count(*) filter (where event_type = 'comment') as comments,
                   count(*) filter (where event_type = 'share') as shares,
                   count(*) filter (where event_type = 'message') as messages,
                   count(*) filter (where event_type = 'join') as joins,
                   count(*) filter (where event_type = 'quit') as quits,
                   count(*) filter (where event_type = 'click') as clicks,
                   count(*) filter (where event_type = 'exposure') as exposures,
                   count(distinct user_id) filter (where event_type = 'signup') as signup_users,
                   count(distinct user_id) filter (where event_type = 'view') as view_users,
                   count(distinct user_id) filter (where event_type = 'purchase') as buyers,
                   count(distinct user_id) filter (where event_type in ('checkin', 'activity_join')) as activity_users
            from today group by community_id
        ),
        mau as (
            select community_id, count(distinct user_id) as mau from month group by community_id
        ),
        last_join_quit as (
            -- members: the latest join/quit by event_time up to D is a join
            select community_id, user_id, event_type
            from stg where event_type in ('join', 'quit') and event_date <= {D}
            qualify row_number() over (partition by community_id, user_id order by event_time desc) = 1
        ),
        members as (
            select community_id, count(*) filter (where event_type = 'join') as members
            from last_join_quit group by community_id
        ),
        sessions as (
            -- bounce: a session (user, session) with events in the community on D
            -- and no core action among them
            select community_id, user_id, session_key,
                   bool_or(event_type in ({core})) as has_core
            from today group by community_id, user_id, session_key
        ),
        session_stats as (
            select community_id, count(*) as sessions,
                   count(*) filter (where not has_core) as bounced_sessions
            from sessions group by community_id
        )
        select s.community_id,
               s.dau,
               m.mau,
               s.dau / nullif(m.mau, 0)::double as stickiness,
               coalesce(mb.members, 0) as members,
               s.views, s.likes, s.comments, s.shares, s.messages, s.joins, s.quits,
               (s.likes + s.comments + s.shares) / nullif(s.views, 0)::double as interaction_rate,
               s.clicks / nullif(s.exposures, 0)::double as click_conversion,
               s.signup_users / nullif(s.view_users, 0)::double as registration_conversion,
               s.buyers / nullif(s.view_users, 0)::double as purchase_conversion,
               s.activity_users / nullif(coalesce(mb.members, 0), 0)::double as activity_conversion,
               ss.sessions,
               ss.bounced_sessions,
               ss.bounced_sessions / nullif(ss.sessions, 0)::double as bounce_rate
        from day_stats s
        left join mau m on m.community_id is not distinct from s.community_id
        left join members mb on mb.community_id is not distinct from s.community_id
        left join session_stats ss on ss.community_id is not distinct from s.community_id
    """)


# ---------------------------------------------------------------------------
# retention_cohorts (docs/metrics.md#retention_cohorts)
# ---------------------------------------------------------------------------
def ref_retention_cohorts(con, ctx):
    D = d(ctx.ds)
    ns = ", ".join(str(n) for n in ctx.retention_days)
    return con.sql(f"""
        with active as (
            -- "active on a day": at least one valid event with that event date
            select distinct user_id, event_date as day from stg where event_date <= {D}
        ),
        first_day as (
            -- cohort = the user's first active day over all history up to D
            select user_id, min(day) as cohort_day from active group by user_id
        ),
        grid as (
            -- cohort days c in [D - lookback_days, D - 1], N in the list, c + N <= D
            select cast(c as date) as cohort_day, n
            from generate_series({D} - {ctx.lookback_days}, {D} - 1, interval 1 day) as g(c),
                 unnest([{ns}]) as t(n)
            where cast(c as date) + n <= {D}
        ),
        counted as (
            select g.cohort_day, g.n,
                   count(distinct f.user_id) as cohort_size,
                   count(distinct a.user_id) filter (where a.day = g.cohort_day + g.n) as retained_day_n,
                   count(distinct a.user_id) filter (where a.day between g.cohort_day + 1 and g.cohort_day + g.n)
                       as retained_within_n
            from grid g
            left join first_day f on f.cohort_day = g.cohort_day
            left join active a on a.user_id = f.user_id
            group by g.cohort_day, g.n
        )
        select cohort_day, cast(n as bigint) as n, cohort_size, retained_day_n, retained_within_n,
               retained_day_n / nullif(cohort_size, 0)::double as retention_day_n,
               retained_within_n / nullif(cohort_size, 0)::double as retention_within_n
        from counted
    """)


# ---------------------------------------------------------------------------
# uvi_scores (docs/metrics.md#uvi_scores); also a temp table: user_segments'
# value_group reads the tier
# ---------------------------------------------------------------------------
def ref_uvi_scores(con, ctx):
    D = d(ctx.ds)
    u = ctx.uvi
    L = ctx.lookback_days
    con.execute(f"""
        create or replace temp table ref_uvi as
        with win as (
            -- scored population and counts: the lookback_days window ending D
            select * from stg where event_date between {D} - {L - 1} and {D}
        ),
        per_user as (
            select user_id,
                   count(*) filter (where event_type = 'like') as likes,
                   count(*) filter (where event_type = 'comment') as comments,
                   count(*) filter (where event_type = 'share') as shares,
                   count(distinct event_date) as active_days,
                   count(*) filter (where event_type = 'purchase') as purchases,
                   -- docs/metrics.md#user_daily: revenue = sum of non-null purchase amounts, 0 when none
                   coalesce(sum(amount) filter (where event_type = 'purchase'), 0) as revenue
            from win group by user_id
        ),
        order_totals as (
            -- docs/metrics.md#orders: an order is a user's purchases sharing an order_id on
            -- one day; a purchase without order_id is an order of its own; one whose
            -- amounts add up to less than 0 is a refund, not an order
            select user_id, coalesce(sum(amount), 0) as total
            from win where event_type = 'purchase'
            group by user_id, event_date, coalesce(order_id, event_id), order_id is null
        ),
        order_counts as (
            select user_id, count(*) filter (where total >= 0) as orders
            from order_totals group by user_id
        ),
        days as (
            -- r7 / r30 / r90: distinct active days in the k days ending D, over k
            select p.user_id,
                   count(distinct s.event_date) filter (where s.event_date > {D} - 7) as ad7,
                   count(distinct s.event_date) filter (where s.event_date > {D} - 30) as ad30,
                   count(distinct s.event_date) filter (where s.event_date > {D} - 90) as ad90
            from per_user p left join stg s on s.user_id = p.user_id and s.event_date between {D} - 89 and {D}
            group by p.user_id
        ),
        coefs as (
            select p.*,
                   case when likes + comments + shares = 0 then 0.0
                        else ({u['w_like']} * likes + {u['w_comment']} * comments + {u['w_share']} * shares)
                             / (likes + comments + shares) end as interaction_coef,
                   ad7 / 7.0 as r7, ad30 / 30.0 as r30, ad90 / 90.0 as r90,
                   purchases / nullif(active_days, 0)::double as conversion_rate,
                   -- docs/metrics.md#uvi_scores: revenue per order
                   revenue / nullif(coalesce(o.orders, 0), 0) as avg_order_value
            from per_user p join days using (user_id) left join order_counts o using (user_id)
        ),
        scored as (
            select *,
                   pow(pow(r7, {u['exp_r7']}) + pow(r30, {u['exp_r30']}) + pow(r90, {u['exp_r90']}),
                       {u['exp_outer']}) as retention_coef,
                   -- 0 when the user made no purchase or the revenue is 0; shoal's
                   -- reading: also when refunds bring it below 0 (README)
                   case when purchases = 0 or revenue <= 0 then 0.0
                        else conversion_rate / avg_order_value end as conversion_coef
            from coefs
        ),
        with_uvi as (
            select *, interaction_coef * retention_coef * conversion_coef as uvi from scored
        ),
        ranked as (
            select *, 100 * percent_rank() over (order by round(uvi, 12)) as uvi_percentile from with_uvi
        )
        select user_id, likes, comments, shares, interaction_coef, r7, r30, r90, retention_coef,
               active_days, purchases, revenue, conversion_rate, avg_order_value, conversion_coef,
               uvi, uvi_percentile,
               -- the 80/20 rule: ties at a boundary go to the higher tier
               case when uvi_percentile >= {u['tier_high']} then 'high'
                    when uvi_percentile >= {u['tier_medium']} then 'medium'
                    else 'low' end as uvi_tier
        from ranked
    """)
    return con.sql("select * from ref_uvi")


# ---------------------------------------------------------------------------
# user_features (docs/metrics.md#user_features): the scored users of uvi_scores
# ---------------------------------------------------------------------------
def ref_user_features(con, ctx):
    D = d(ctx.ds)
    L = ctx.lookback_days
    con.execute(f"""
        create or replace temp table ref_features as
        with hist as (select * from stg where event_date <= {D}),
        population as (
            select distinct user_id from hist where event_date between {D} - {L - 1} and {D}
        ),
        per_user as (
            select h.user_id,
                   max(event_date) as last_active_day,
                   min(event_date) as first_seen,
                   count(distinct event_date) filter (where event_date > {D} - 7) as active_days_7,
                   count(distinct event_date) filter (where event_date > {D} - 30) as active_days_30,
                   count(distinct event_date) filter (where event_date > {D} - 90) as active_days_90,
                   -- days D-59 .. D-30
                   count(distinct event_date) filter (where event_date between {D} - 59 and {D} - 30)
                       as active_days_prev_30,
                   -- every valid event, unknown types included (they are events too, docs/events.md#events)
                   count(*) filter (where event_date > {D} - 30) as events_30,
                   count(*) filter (where event_date > {D} - 30 and event_type in ('like', 'comment', 'share'))
                       as interactions_30,
                   count(*) filter (where event_date > {D} - 30 and event_type = 'comment') as comments_30,
                   count(*) filter (where event_date > {D} - 30 and event_type = 'share') as shares_30,
                   count(*) filter (where event_date > {D} - 90 and event_type = 'like') as likes_90,
                   count(*) filter (where event_date > {D} - 90 and event_type = 'comment') as comments_90,
                   count(*) filter (where event_date > {D} - 90 and event_type = 'share') as shares_90,
                   count(*) filter (where event_date > {D} - 90 and event_type in ({sql_list(ctx.core_actions)}))
                       as core_actions_90,
                   count(*) filter (where event_date > {D} - 90 and event_type = 'exposure') as exposures_90,
                   count(*) filter (where event_date > {D} - 90 and event_type = 'view') as views_90,
                   count(*) filter (where event_date > {D} - 90 and event_type = 'purchase') as purchases_90,
                   coalesce(sum(amount) filter (where event_date > {D} - 90 and event_type = 'purchase'), 0)
                       as revenue_90,
                   count(*) filter (where event_date > {D} - 30 and event_type = 'invite') as invites_30,
                   bool_or(event_type in ({sql_list(ctx.core_actions)})) as any_core_action,
                   max(event_time) filter (where event_date > {D} - 7 and event_type = 'add_to_cart')
                       as last_add_to_cart_time_7,
                   max(event_time) filter (where event_type = 'purchase') as last_purchase_time
            from hist h join population p using (user_id)
            group by h.user_id
        ),
        referred as (
            -- joins in the 30 days ending D whose referrer is this user
            select referrer_id as user_id, count(*) as referred_joins_30
            from hist where event_type = 'join' and referrer_id is not null and event_date > {D} - 30
            group by referrer_id
        ),
        last_join_quit as (
            select user_id, community_id, event_type
            from hist where event_type in ('join', 'quit')
            qualify row_number() over (partition by community_id, user_id order by event_time desc) = 1
        ),
        membership as (
            select user_id, bool_or(event_type = 'join') as is_member from last_join_quit group by user_id
        )
        select p.user_id, last_active_day, {D} - last_active_day as recency_days,
               active_days_7, active_days_30, active_days_90, active_days_prev_30,
               events_30, interactions_30, comments_30, shares_30, likes_90, comments_90, shares_90,
               core_actions_90, exposures_90, views_90, purchases_90, revenue_90, invites_30,
               coalesce(r.referred_joins_30, 0) as referred_joins_30,
               first_seen, {D} - first_seen as age_days,
               coalesce(m.is_member, false) as is_member,
               last_add_to_cart_time_7, last_purchase_time, any_core_action
        from per_user p
        left join referred r using (user_id)
        left join membership m using (user_id)
    """)
    return con.sql("""
        select user_id, last_active_day, recency_days, active_days_7, active_days_30, active_days_90,
               active_days_prev_30, events_30, interactions_30, comments_30, shares_30, likes_90,
               comments_90, shares_90, core_actions_90, exposures_90, views_90, purchases_90, revenue_90,
               invites_30, referred_joins_30, first_seen, age_days, is_member, last_add_to_cart_time_7,
               last_purchase_time
        from ref_features
    """)


# ---------------------------------------------------------------------------
# user_segments (docs/metrics.md#user_segments)
# ---------------------------------------------------------------------------
def ref_user_segments(con, ctx):
    # activity_layer: the ordered rules of segments.activity_layer, first match wins.
    # The rule texts are SQL expressions over the user_features columns.
    layer = "case " + " ".join(
        f"when ({r['when']}) then '{r['name']}'" for r in ctx.activity_layer) + " end"
    # rfm_segment: ordered rules on r and fm = (f + m) / 2 from segments.rfm_map.
    rfm = "case " + " ".join(
        f"when rfm_r between {r['r'][0]} and {r['r'][1]} and fm between {r['fm'][0]} and {r['fm'][1]} "
        f"then '{r['name']}'" for r in ctx.rfm_map) + " end"
    action = "case activity_layer " + " ".join(
        f"when '{k}' then '{v.replace(chr(39), chr(39) * 2)}'" for k, v in ctx.recommended_action.items()) + " end"
    return con.sql(f"""
        with layered as (
            select *, {layer} as activity_layer from ref_features
        ),
        rfm_scores as (
            -- scores 1-5 = least(5, 1 + floor(5 * percent_rank())), ordered so 5 is best;
            -- equal values get equal scores (percent_rank gives ties the same rank)
            select *,
                   cast(least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc))) as bigint) as rfm_r,
                   cast(least(5, 1 + floor(5 * percent_rank() over (order by active_days_90))) as bigint) as rfm_f,
                   cast(least(5, 1 + floor(5 * percent_rank() over (order by round(revenue_90, 6)))) as bigint) as rfm_m
            from layered
        ),
        segmented as (
            select *, (rfm_f + rfm_m) / 2.0 as fm,
                   -- pyramid "top 1 % by interactions_30", with the percent_rank of the other scores
                   percent_rank() over (order by interactions_30) >= 0.99 as top_1pct
            from rfm_scores
        )
        select s.user_id, s.activity_layer, s.rfm_r, s.rfm_f, s.rfm_m, {rfm} as rfm_segment,
               {action} as recommended_action,
               -- lifecycle_stage: first match in the documented order
               case when s.age_days <= 1 and not s.any_core_action then 'acquisition'
                    when s.age_days <= 7 then 'activation'
                    when s.recency_days >= 30 then 'churn'
                    when s.recency_days >= 14 then 'at_risk'
                    when s.purchases_90 >= 2 or s.referred_joins_30 >= 1 then 'growth'
                    else 'retention' end as lifecycle_stage,
               -- lifecycle_band: days since the first active day 0-1, 2-7, 8-30, 31+
               case when s.age_days <= 1 then '曝光期'
                    when s.age_days <= 7 then '探索期'
                    when s.age_days <= 30 then '转化期'
                    else '成熟期' end as lifecycle_band,
               -- pyramid_level: the highest level that holds. The definition leaves the
               -- grouping open; shoal's reading, checked on injected users: 5 = (contributor whose
               -- invites brought a join in 30 days) or top 1 % by interactions_30, member or
               -- not; 4 = contributor (comments + shares in 30 days >= 5), member or not;
               -- 3 = a member with active_days_30 >= 8; 2 = member; 1 = anyone else.
               cast(case when (s.comments_30 + s.shares_30 >= 5 and s.referred_joins_30 >= 1) or s.top_1pct then 5
                         when s.comments_30 + s.shares_30 >= 5 then 4
                         when s.is_member and s.active_days_30 >= 8 then 3
                         when s.is_member then 2
                         else 1 end as bigint) as pyramid_level,
               -- value_group: high_value (uvi tier high), high_activity (active_days_7 >= 3),
               -- high_intent (add_to_cart in the last 7 days and no purchase after it), other
               case when u.uvi_tier = 'high' then 'high_value'
                    when s.active_days_7 >= 3 then 'high_activity'
                    when s.last_add_to_cart_time_7 is not null
                         and (s.last_purchase_time is null or s.last_purchase_time < s.last_add_to_cart_time_7)
                        then 'high_intent'
                    else 'other' end as value_group
        from segmented s left join ref_uvi u using (user_id)
    """)


# ---------------------------------------------------------------------------
# funnel_steps (docs/metrics.md#funnel_steps): ClickHouse windowFunnel, reimplemented
# in Python
# ---------------------------------------------------------------------------
def parse_window(text) -> int:
    """A funnel window ("7d", "12h", "30m", "90s" or seconds) in microseconds."""
    m = re.fullmatch(r"\s*(\d+)\s*([dhms]?)\s*", str(text))
    if not m:
        fail_usage(f"funnel window {text!r}: expected e.g. 7d")
    unit = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 1}[m.group(2)]
    return int(m.group(1)) * unit * 1_000_000


def window_funnel(events, n_steps: int, window_us: int, modes) -> int:
    """ClickHouse windowFunnel(window, modes)(ts, cond1..condN) over one user.

    events: (timestamp_us, step) pairs, step 1-based, 0 = matches no step
    (only used with strict_order). Sorted as ClickHouse sorts: by (timestamp, step).
    """
    strict_order = "strict_order" in modes
    strict_dedup = "strict_deduplication" in modes
    strict_increase = "strict_increase" in modes
    if not strict_order:
        events = [e for e in events if e[1] > 0]
    if not events:
        return 0
    if not strict_order and n_steps == 1:
        return 1
    events = sorted(events)
    reached = [None] * n_steps  # per level: (chain's step-1 time, this step's time)
    first_event = False

    def level():
        for k in range(n_steps, 0, -1):
            if reached[k - 1] is not None:
                return k
        return 0

    for ts, step in events:
        idx = step - 1
        if strict_order and idx == -1:
            if first_event:
                break
            continue
        if idx == 0:
            reached[0] = (ts, ts)
            first_event = True
        elif strict_dedup and reached[idx] is not None:
            return level()
        elif strict_order and first_event and reached[idx - 1] is None:
            return next(k for k in range(n_steps) if reached[k] is None)
        elif reached[idx - 1] is not None:
            start, prev = reached[idx - 1]
            ok = ts <= start + window_us
            if strict_increase:
                ok = ok and prev < ts
            if ok:
                reached[idx] = (start, ts)
                if idx + 1 == n_steps:
                    return n_steps
    return level()


def funnel_levels(con, ctx, funnel):
    """{user_id: (level, community_id, channel of the first step-1 event)} for one funnel."""
    steps = list(funnel["steps"])
    modes = list(funnel.get("mode") or [])
    window_us = parse_window(funnel.get("window", "7d"))
    window_days = math.ceil(window_us / 86_400_000_000)
    D = d(ctx.ds)
    rows = con.execute(f"""
        -- docs/metrics.md#funnel_users: events with date in [D - window_days + 1, D]
        select user_id, epoch_us(event_time) as ts, event_type, community_id, channel,
               referrer_id, event_id
        from stg
        where event_date between {D} - {window_days - 1} and {D}
        order by user_id, ts, event_id
    """).fetchall()

    def steps_of(event_type):
        return [i + 1 for i, s in enumerate(steps) if s == event_type]

    by_user: dict[str, list] = {}
    for r in rows:
        by_user.setdefault(r[0], []).append(r)

    def first_step1(evs):
        # the user's first step-1 event in the range (by event_time, then event_id)
        firsts = [e for e in evs if e[2] == steps[0]]
        if not firsts:
            return None
        return min(firsts, key=lambda e: (e[1], e[6]))

    def as_pairs(evs, allowed_steps=None):
        out = []
        for e in evs:
            matched = steps_of(e[2])
            if allowed_steps is not None:
                matched = [k for k in matched if k in allowed_steps]
            if matched:
                out.extend((e[1], k) for k in matched)
            elif "strict_order" in modes:
                out.append((e[1], 0))
        return out

    result = {}
    if funnel.get("match_by", "user") == "invitee":
        # steps 2.. are events of one invitee: step 2 a `steps[1]` event whose
        # referrer_id is the step-1 user, steps 3.. that invitee's own events.
        invitees: dict[str, set] = {}
        for r in rows:
            if r[2] == steps[1] and r[5] is not None:
                invitees.setdefault(r[5], set()).add(r[0])
        for user, evs in by_user.items():
            first = first_step1(evs)
            if first is None:
                continue
            own = [(e[1], 1) for e in evs if e[2] == steps[0]]
            best = window_funnel(own, len(steps), window_us, modes)
            for v in invitees.get(user, ()):
                joins = [(e[1], 2) for e in by_user.get(v, []) if e[2] == steps[1] and e[5] == user]
                later = [(e[1], k) for e in by_user.get(v, []) for k in steps_of(e[2]) if k >= 3]
                best = max(best, window_funnel(own + joins + later, len(steps), window_us, modes))
            result[user] = (best, first[3], first[4])
    else:
        for user, evs in by_user.items():
            first = first_step1(evs)
            if first is None:
                continue
            level = window_funnel(as_pairs(evs), len(steps), window_us, modes)
            result[user] = (level, first[3], first[4])
    return result


def ref_funnel_steps(con, ctx):
    out = []
    for funnel in ctx.funnels:
        steps = list(funnel["steps"])
        levels = funnel_levels(con, ctx, funnel)
        groups: dict[tuple, list] = {("total", None): []}
        for level, community, channel in levels.values():
            groups[("total", None)].append(level)
            groups.setdefault(("community_id", community), []).append(level)
            groups.setdefault(("channel", channel), []).append(level)
        for (breakdown, value), lv in groups.items():
            users = [sum(1 for x in lv if x >= k) for k in range(1, len(steps) + 1)]
            for k in range(1, len(steps) + 1):
                u = users[k - 1]
                start = u / users[0] if users[0] else None
                prev = (u / users[k - 2] if users[k - 2] else None) if k > 1 else None
                out.append((funnel["name"], breakdown, value, k, steps[k - 1], u, start, prev))
    con.execute("""
        create or replace temp table ref_funnel_steps (
            funnel varchar, breakdown varchar, breakdown_value varchar, step bigint,
            step_name varchar, users bigint, conversion_from_start double,
            conversion_from_previous double)
    """)
    if out:
        con.executemany("insert into ref_funnel_steps values (?, ?, ?, ?, ?, ?, ?, ?)", out)
    return con.sql("select * from ref_funnel_steps")


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------
TOL = 1e-9


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return a == b
        if math.isnan(float(a)) or math.isnan(float(b)):
            return False  # docs/metrics.md#conventions: ratios are NULL, never NaN
        return math.isclose(float(a), float(b), rel_tol=TOL, abs_tol=TOL)
    return a == b


def sort_key(row):
    return tuple((x is None, x if x is not None else 0) for x in row)


def read_output(con, ctx, table, columns):
    """shoal's rows of the partition dt = D, or an error message."""
    part = ctx.warehouse / table / f"dt={ctx.ds.isoformat()}"
    if not sorted(part.glob("*.parquet")):
        return f"no output partition {part}"
    rel = con.sql(f"select * from read_parquet('{part}/*.parquet', hive_partitioning = false)")
    missing = [c for c in columns if c not in rel.columns]
    if missing:
        return f"shoal's output lacks the columns {missing} (it has {rel.columns})"
    if "dt" in rel.columns:
        bad = con.sql(f"select count(*) from rel where dt is distinct from {d(ctx.ds)}").fetchone()[0]
        if bad:
            return f"{bad} rows of {part} have dt <> {ctx.ds}"
    return con.sql(f"select {', '.join(columns)} from rel").fetchall()


def fmt(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return repr(v)


def compare(con, ctx, table, keys, ref_rel, show) -> bool:
    columns = ref_rel.columns
    ref_rows = ref_rel.fetchall()
    got_rows = read_output(con, ctx, table, columns)
    if isinstance(got_rows, str):
        print(f"{table}: FAILED: {got_rows}")
        return False
    ki = [columns.index(k) for k in keys]

    def index(rows, side):
        out, dups = {}, []
        for r in rows:
            k = tuple(r[i] for i in ki)
            if k in out:
                dups.append(k)
            out[k] = r
        if dups:
            print(f"{table}: {len(dups)} duplicate keys ({', '.join(keys)}) in {side}, e.g. "
                  + "; ".join(", ".join(fmt(v) for v in k) for k in dups[:3]))
        return out, bool(dups)

    ref, ref_dup = index(ref_rows, "the reference")
    out, out_dup = index(got_rows, "shoal's output")
    only_ref = sorted((k for k in ref if k not in out), key=sort_key)
    only_out = sorted((k for k in out if k not in ref), key=sort_key)
    differing = []
    for k in sorted((k for k in ref if k in out), key=sort_key):
        cols = [c for i, c in enumerate(columns) if not same(ref[k][i], out[k][i])]
        if cols:
            differing.append((k, cols))
    if not (only_ref or only_out or differing or ref_dup or out_dup):
        print(f"{table}: {len(ref_rows)} rows compared, OK")
        return True

    print(f"{table}: MISMATCH: reference {len(ref_rows)} rows, shoal {len(got_rows)} rows; "
          f"{len(only_ref)} only in the reference, {len(only_out)} only in shoal, "
          f"{len(differing)} differ (key {', '.join(keys)})")
    col_counts: dict[str, int] = {}
    for _, cols in differing:
        for c in cols:
            col_counts[c] = col_counts.get(c, 0) + 1
    if col_counts:
        print("  differing columns (rows): " + ", ".join(f"{c} ({n})" for c, n in col_counts.items()))
    for k in only_ref[:show]:
        print("  only in reference: " + ", ".join(f"{c}={fmt(v)}" for c, v in zip(columns, ref[k])))
    for k in only_out[:show]:
        print("  only in shoal:     " + ", ".join(f"{c}={fmt(v)}" for c, v in zip(columns, out[k])))
    for k, cols in differing[:show]:
        key = ", ".join(f"{c}={fmt(v)}" for c, v in zip(keys, k))
        diffs = "; ".join(f"{c}: reference {fmt(ref[k][columns.index(c)])} shoal {fmt(out[k][columns.index(c)])}"
                          for c in cols)
        print(f"  {key}: {diffs}")
    return False


# (table, key columns, reference builder); the order matters: user_segments
# reads the temp tables uvi_scores and user_features leave behind.
CHECKS = [
    ("community_daily", ["community_id"], ref_community_daily),
    ("retention_cohorts", ["cohort_day", "n"], ref_retention_cohorts),
    ("uvi_scores", ["user_id"], ref_uvi_scores),
    ("user_features", ["user_id"], ref_user_features),
    ("user_segments", ["user_id"], ref_user_segments),
    ("funnel_steps", ["funnel", "breakdown", "breakdown_value", "step"], ref_funnel_steps),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", required=True, type=pathlib.Path, help="the shoal project directory")
    ap.add_argument("--ds", required=True, type=dt.date.fromisoformat, help="run day YYYY-MM-DD")
    ap.add_argument("--config", default="config/shoal.yaml",
                    help="configuration file relative to --project (default config/shoal.yaml)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config value as shoal run --set does (repeatable)")
    ap.add_argument("--tables", help="comma-separated subset of: " + ", ".join(c[0] for c in CHECKS))
    ap.add_argument("--show", type=int, default=10, help="differing rows shown per table (default 10)")
    args = ap.parse_args(argv)

    ctx = Ctx(args.project.resolve(), args.ds, args.set, args.config)
    wanted = set(args.tables.split(",")) if args.tables else {c[0] for c in CHECKS}
    unknown = wanted - {c[0] for c in CHECKS}
    if unknown:
        fail_usage(f"--tables: unknown {sorted(unknown)}")

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")  # every day in shoal's metric reference (docs/metrics.md) is a UTC day
    stage_events(con, ctx)

    ok = True
    for table, keys, build in CHECKS:
        rel = build(con, ctx)  # always built: later checks read earlier temp tables
        if table in wanted:
            ok &= compare(con, ctx, table, keys, rel, args.show)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
