"""The shoal model pack, rewritten for DuckDB: a full refresh for one run day.

    python pack.py --events DIR --ds YYYY-MM-DD --out DIR
                   [--config config/shoal.yaml] [--threads N] [--memory-limit 2GiB]
                   [--temp-dir DIR] [--database FILE] [--deletions PATH] [--unsorted] [--only a,b]

Reads every events partition dt <= ds (hive layout DIR/dt=YYYY-MM-DD/*.parquet),
runs the models of `models/` in the order of MODELS below and writes each
model's table to OUT/<model>.parquet (zstd) with the columns shoal writes for
that model: the `daily` models' partition dt = ds, and for the history models
(user_daily, community_user_daily, ...) every day, as a `--full-refresh` run
of shoal writes them. Views (stg_valid_events, stg_events, community_membership) are not written.

One file per model, each materialized once as a table (in a scratch database
file) that later models read, so the deduplicated events are computed once.
The big models are formulated for DuckDB; the small ones keep shoal's SQL
with DuckDB syntax. Each file opens with a comment saying which, and where
it departs from shoal's SQL.
Templates are Jinja (jinja2, which .ci/pyenv installs with moto[server]) with
the names shoal's MiniJinja templates have: ds, days_before, run.late_days,
run.lookback_days, var.*, funnels, segments (from --config).

Timing: each model's seconds go to stderr, and the whole pack's time inside
the process (without interpreter start and imports) as `query_seconds=S`, as
benches/funnel/engine.py does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import faulthandler
import os
import pathlib
import sys
import time

here = pathlib.Path(__file__).resolve().parent
# A crash inside DuckDB (a segmentation fault) prints the Python stack, so
# the model it happened in is known.
faulthandler.enable()

# Dependency order. (name, written?) -- stg_valid_events, stg_events and
# community_membership are views in shoal (not written); everything else is
# a table shoal writes.
MODELS = [
    ("stg_valid_events", False),
    ("stg_events", False),
    ("stg_users", False),
    ("dq_daily", True),
    ("user_daily", True),
    ("community_user_daily", True),
    ("community_membership", False),
    ("community_hourly", True),
    ("content_daily", True),
    ("referrals", True),
    ("funnel_events", True),
    ("experiment_exposures", True),
    ("orders", True),
    ("campaign_daily", True),
    ("community_daily", True),
    ("retention_cohorts", True),
    ("funnel_users", True),
    ("funnel_steps", True),
    ("user_features", True),
    ("uvi_scores", True),
    ("uvi_tiers", True),
    ("user_segments", True),
    ("segment_summary", True),
    ("segment_transitions", True),
    ("orders_daily", True),
    ("repurchase", True),
    ("ltv_cohorts", True),
    ("user_profile_summary", True),
    ("campaign_results", True),
    ("coupon_effect", True),
    ("user_tags", True),
    ("tag_summary", True),
    ("content_scores", True),
    ("content_calendar", True),
    ("comment_sentiment", True),
    ("sentiment_daily", True),
    ("referral_daily", True),
    ("path_edges", True),
    ("event_anomalies", True),
    ("community_health_weekly", True),
    ("pyramid_evaluation", True),
    ("platform_daily", True),
    ("churn_daily", True),
    ("kpi_scorecard", True),
    ("experiment_results", True),
    ("checkin_curve", True),
    ("activation_daily", True),
    ("member_comparison", True),
]


def day(s: str) -> dt.date:
    return dt.date.fromisoformat(str(s))


def days_before(ds, n) -> str:
    return (day(ds) - dt.timedelta(days=int(n))).isoformat()


def days_after(ds, n) -> str:
    return (day(ds) + dt.timedelta(days=int(n))).isoformat()


def days_between(a, b) -> int:
    return (day(b) - day(a)).days


def week_start(ds) -> str:
    d = day(ds)
    return (d - dt.timedelta(days=d.weekday())).isoformat()


def quarter_start(ds, back=0) -> str:
    d = day(ds)
    q = (d.month - 1) // 3 - int(back)
    year = d.year + q // 4
    return dt.date(year, (q % 4) * 3 + 1, 1).isoformat()


def iso_week(ds) -> str:
    y, w, _ = day(ds).isocalendar()
    return f"{y}-W{w:02d}"


class Run:
    """run.* of shoal's templates, for a --full-refresh run."""

    def __init__(self, cfg_run: dict, ds: str):
        self.late_days = int(cfg_run.get("late_days", 3))
        self.lookback_days = int(cfg_run.get("lookback_days", 90))
        self.full_refresh = True
        self.ds = ds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", required=True, help="events directory (hive layout dt=YYYY-MM-DD/)")
    ap.add_argument("--ds", required=True, help="run day YYYY-MM-DD")
    ap.add_argument("--out", required=True, help="output directory (created; files replaced)")
    ap.add_argument("--config", default=str(here.parent.parent / "config" / "shoal.yaml"),
                    help="shoal config whose run, vars, funnels and segments are used")
    ap.add_argument("--deletions", help="optional deletions source (a Parquet file or a directory of them)")
    ap.add_argument("--users", help="optional users source (a Parquet file or a directory of them; "
                    "default: a users/ directory beside the events directory, when there is one)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="DuckDB threads (default: cores)")
    ap.add_argument("--memory-limit", default="2GiB", help="DuckDB memory_limit (default 2GiB)")
    ap.add_argument("--temp-dir", help="DuckDB temp_directory for spilling (default OUT/.duckdb_tmp)")
    ap.add_argument("--database", help="DuckDB database file the intermediate tables live in "
                    "(default OUT/.pack.duckdb, removed at the end); ':memory:' keeps them in memory, "
                    "which runs out of memory under a 2GiB limit from ~10 M events on")
    ap.add_argument("--unsorted", action="store_true",
                    help="write tables in any order (shoal sorts by each model's sort_by; so does this by default)")
    ap.add_argument("--only", help="comma-separated models to run (their upstream must be in the list too)")
    args = ap.parse_args(argv)

    import duckdb
    import jinja2
    import yaml

    cfg = yaml.safe_load(pathlib.Path(args.config).read_text())
    ds = day(args.ds).isoformat()
    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    temp_dir = pathlib.Path(args.temp_dir or out / ".duckdb_tmp")
    events = pathlib.Path(args.events).resolve()

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["items"] = lambda mapping: list(mapping.items())  # MiniJinja's `items`
    context = {
        "ds": ds,
        "ds_nodash": ds.replace("-", ""),
        "run": Run(cfg.get("run") or {}, ds),
        "var": cfg.get("vars") or {},
        # shoal's defaults for the optional funnel keys
        "funnels": [{"mode": [], "match_by": "user", **f} for f in cfg.get("funnels") or []],
        "segments": cfg.get("segments") or {},
        "days_before": days_before,
        "days_after": days_after,
        "days_between": days_between,
        "week_start": week_start,
        "quarter_start": quarter_start,
        "iso_week": iso_week,
        "events": f"{events}/*/*.parquet",
    }

    database = args.database or str(out / ".pack.duckdb")
    if database != ":memory:":
        for stale in (pathlib.Path(database), pathlib.Path(database + ".wal")):
            stale.unlink(missing_ok=True)

    start = time.perf_counter()
    # A database file, so the buffer manager can evict the materialized
    # tables (stg_valid_events is the whole history) under memory_limit.
    con = duckdb.connect(database)
    con.execute("set TimeZone = 'UTC'")  # every day in shoal's metric reference (docs/metrics.md) is a UTC day
    con.execute(f"set threads = {int(args.threads)}")
    con.execute(f"set memory_limit = '{args.memory_limit}'")
    con.execute(f"set temp_directory = '{temp_dir}'")
    # Row order within a table is not part of any result here; without this
    # DuckDB keeps insertion order through every COPY and CTAS (slower, more memory).
    con.execute("set preserve_insertion_order = false")

    # docs/functions.md#sentiment: shoal's sentiment(text [, lexicon]) as a Python function
    import sentiment
    lexicons = {}

    def sentiment_of(text, lexicon=None):
        path = lexicon or sentiment.DEFAULT
        if path not in lexicons:
            lexicons[path] = sentiment.scorer(sentiment.load(path))
        return lexicons[path](text)

    if (cfg.get("vars") or {}).get("sentiment_lexicon"):
        con.create_function("sentiment", sentiment_of, ["VARCHAR", "VARCHAR"], "DOUBLE")
    else:
        con.create_function("sentiment", lambda t: sentiment_of(t), ["VARCHAR"], "DOUBLE")

    # docs/events.md#deletions: users in `deletions` leave every output (none in generated data).
    con.execute("create table deleted_users (user_id varchar)")
    if args.deletions:
        loc = pathlib.Path(args.deletions)
        pattern = f"{loc}/**/*.parquet" if loc.is_dir() else str(loc)
        con.execute(f"insert into deleted_users select distinct cast(user_id as varchar) "
                    f"from read_parquet('{pattern}') where user_id is not null")

    # docs/events.md#users: the optional users source, in shoal's schema; empty without one.
    con.execute("create table users (user_id varchar, signup_time timestamptz, gender varchar, "
                "birth_year bigint, region varchar, city_tier bigint, occupation varchar)")
    users = pathlib.Path(args.users) if args.users else events.parent / "users"
    if args.users or users.is_dir():
        pattern = f"{users}/**/*.parquet" if users.is_dir() else str(users)
        con.execute(f"insert into users select cast(user_id as varchar), signup_time, gender, "
                    f"birth_year, region, city_tier, occupation from read_parquet('{pattern}')")

    only = set(args.only.split(",")) if args.only else None

    def run_models(context, names, write):
        """Runs `names` (in MODELS order) for context["ds"]; writes the
        written ones when `write`. Returns 0 or 1 (a model failed)."""
        for name, written in MODELS:
            if name not in names:
                continue
            path = here / "models" / f"{name}.sql"
            text = path.read_text()
            sort_by, kind = None, "table"
            for line in text.splitlines():
                if line.startswith("-- sort_by:"):
                    sort_by = line.split(":", 1)[1].strip()
                if line.startswith("-- materialized: view"):
                    kind = "view"
            sql = env.from_string(text).render(context)
            t0 = time.perf_counter()
            try:
                con.execute(f"create or replace {kind} {name} as\n{sql}")
                if kind == "view":
                    print(f"{name}: view", file=sys.stderr)
                    continue
                rows = con.execute(f"select count(*) from {name}").fetchone()[0]
                if written and write:
                    order = f" order by {sort_by}" if sort_by and not args.unsorted else ""
                    target = out / f"{name}.parquet"
                    con.execute(f"copy (select * from {name}{order}) to '{target}' "
                                f"(format parquet, compression zstd)")
            except duckdb.Error as e:
                print(f"pack.py: {path}: {e}", file=sys.stderr)
                return 1
            print(f"{name}: {rows} rows, {time.perf_counter() - t0:.2f} s", file=sys.stderr)
        return 0

    names = [n for n, _ in MODELS if only is None or n in only]
    # segment_transitions compares with user_segments of ds - 1, which a
    # full refresh of shoal builds first (reads_previous_day,
    # docs/models.md#the-header): the models up to user_segments run for
    # ds - 1 too (when that day has events), kept as user_segments_prev.
    previous = days_before(ds, 1)
    con.execute("create or replace table user_segments_prev (user_id varchar)")
    if ({"segment_transitions", "pyramid_evaluation"} & set(names)) and (events / f"dt={previous}").is_dir():
        upto = [n for n, _ in MODELS][: [n for n, _ in MODELS].index("user_segments") + 1]
        print(f"-- the models up to user_segments for {previous}", file=sys.stderr)
        if run_models({**context, "ds": previous, "ds_nodash": previous.replace("-", ""),
                       "run": Run(cfg.get("run") or {}, previous)}, upto, write=False):
            return 1
        con.execute("create or replace table user_segments_prev as select * from user_segments")
        print(f"-- the pack for {ds}", file=sys.stderr)
    if run_models(context, names, write=True):
        return 1
    con.close()
    print(f"query_seconds={time.perf_counter() - start:.3f}", file=sys.stderr)
    if database != ":memory:" and not args.database:
        for f in (pathlib.Path(database), pathlib.Path(database + ".wal")):
            f.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
