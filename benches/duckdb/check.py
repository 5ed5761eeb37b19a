"""Compares the DuckDB port's tables (pack.py) with shoal's outputs of the same run.

    python check.py --duckdb OUT --warehouse DIR --ds YYYY-MM-DD [--tables a,b] [--show N]

OUT holds pack.py's OUT/<model>.parquet; DIR is shoal's output location after
`shoal run --full-refresh --ds DAY` on the same events. For each table it
reads shoal's rows (a daily model's partition dt = DAY; for the history
models user_daily, community_user_daily, ... every day; checkin_curve whole)
through the table's Delta log with DuckDB's delta extension (`delta_scan`:
only the files of the table's current version, not files a later commit
removed and vacuum has not deleted yet; a plain Parquet folder, from
output.format=parquet, is read as such), then compares row counts, the key (the model's `unique` test) and every
column both sides have: integers, strings, dates and booleans exactly,
floats to 1e-9 (relative or absolute), NULL only equal to NULL. Prints one
line per table and the first differing rows; exit 1 on any difference.

The point is that the benchmark compares equal work: a table the two
engines disagree on is reported here, not fixed in either (shoal's SQL is
the contract; the port follows it).
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys

# table -> key columns (the model's `unique` test), and whether shoal's output
# is every day's partition (history models of a full refresh) or dt = ds only.
TABLES = {
    "dq_daily": (["dt"], "day"),
    "user_daily": (["user_id", "dt"], "all"),
    "community_user_daily": (["community_id", "user_id", "dt"], "all"),
    "community_hourly": (["community_id", "event_type", "hour", "dt"], "all"),
    "content_daily": (["content_id", "community_id", "dt"], "all"),
    "referrals": (["event_id"], "all"),
    "funnel_events": (["event_id"], "all"),
    "experiment_exposures": (["experiment", "variant", "user_id", "dt"], "all"),
    "orders": (["user_id", "order_key", "order_id", "dt"], "all"),
    "campaign_daily": (["campaign_id", "user_id", "dt"], "all"),
    "community_daily": (["community_id"], "day"),
    "retention_cohorts": (["cohort_day", "n"], "day"),
    "activation_daily": (["cohort_day"], "day"),
    "member_comparison": (["community_id"], "day"),
    "funnel_users": (["funnel", "user_id"], "day"),
    "funnel_steps": (["funnel", "breakdown", "breakdown_value", "step"], "day"),
    "user_features": (["user_id"], "day"),
    "uvi_scores": (["user_id"], "day"),
    "uvi_tiers": (["breakdown", "breakdown_value", "uvi_tier"], "day"),
    "user_segments": (["user_id"], "day"),
    "segment_summary": (["breakdown", "breakdown_value", "segment", "value"], "day"),
    "user_profile_summary": (["attribute", "value"], "day"),
    "campaign_results": (["campaign_id"], "day"),
    "coupon_effect": (["scope", "community_id"], "day"),
    "user_tags": (["user_id", "tag"], "day"),
    "tag_summary": (["tag", "value"], "day"),
    "segment_transitions": (["segment", "from_value", "to_value"], "day"),
    "pyramid_evaluation": (["community_id", "pyramid_level"], "day"),
    "orders_daily": (["scope", "value"], "day"),
    "repurchase": (["window_days", "scope", "value"], "day"),
    "ltv_cohorts": (["cohort_kind", "cohort_week", "scope", "value", "window_days"], "day"),
    "content_scores": (["content_id"], "day"),
    "content_calendar": (["community_id"], "day"),
    "comment_sentiment": (["community_id", "dt"], "all"),
    "sentiment_daily": (["community_id"], "day"),
    "referral_daily": (["dt"], "day"),
    "path_edges": (["from_type", "to_type"], "day"),
    "event_anomalies": (["community_id", "event_type", "hour"], "day"),
    "community_health_weekly": (["community_id"], "day"),
    "platform_daily": (["dt"], "day"),
    "churn_daily": (["scope", "community_id"], "day"),
    "kpi_scorecard": (["scope", "community_id", "period", "kpi"], "day"),
    "experiment_results": (["experiment", "variant"], "day"),
    "checkin_curve": (["cohort_day"], "table"),
}
TOL = 1e-9


def same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(float(a)) or math.isnan(float(b)):
            return False
        return math.isclose(float(a), float(b), rel_tol=TOL, abs_tol=TOL)
    return a == b


def fmt(v) -> str:
    return "NULL" if v is None else str(v)


def connect():
    """DuckDB with the delta extension the venv ships (tests/py/bi_check.py
    opens it), days in UTC."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "py"))
    from bi_check import duckdb_with_delta

    con = duckdb_with_delta()
    con.execute("set TimeZone = 'UTC'")
    return con


def shoal_rows(con, root: pathlib.Path, scope: str, ds: str):
    """shoal's table at ROOT: through its Delta log, or a plain Parquet folder."""
    day = f" where dt = DATE '{ds}'" if scope == "day" else ""
    if (root / "_delta_log").is_dir():
        return con.sql(f"select * from delta_scan('{root}'){day}")
    if scope == "table":
        return con.sql(f"select * from read_parquet('{root}/*.parquet')")
    return con.sql(f"select * from read_parquet('{root}/dt=*/*.parquet', hive_partitioning = true, "
                   f"hive_types = {{'dt': 'DATE'}}){day}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duckdb", required=True, type=pathlib.Path, help="pack.py's output directory")
    ap.add_argument("--warehouse", required=True, type=pathlib.Path, help="shoal's output location")
    ap.add_argument("--ds", required=True, help="the run day")
    ap.add_argument("--tables", help="comma-separated subset (default: all)")
    ap.add_argument("--show", type=int, default=3, help="differing rows shown per table (default 3)")
    args = ap.parse_args(argv)

    import duckdb

    con = connect()
    wanted = args.tables.split(",") if args.tables else list(TABLES)
    failed = []
    for table in wanted:
        keys, scope = TABLES[table]
        mine = args.duckdb / f"{table}.parquet"
        try:
            a = con.sql(f"select * from read_parquet('{mine}')")
            b = shoal_rows(con, args.warehouse / table, scope, args.ds)
        except duckdb.Error as e:
            print(f"{table}: FAILED: {e}".splitlines()[0])
            failed.append(table)
            continue
        only_a = [c for c in a.columns if c not in b.columns]
        only_b = [c for c in b.columns if c not in a.columns]
        cols = [c for c in a.columns if c in b.columns]
        ka = [cols.index(k) for k in keys]
        list_a, list_b = a.select(*cols).fetchall(), b.select(*cols).fetchall()
        rows_a = {tuple(r[i] for i in ka): r for r in list_a}
        rows_b = {tuple(r[i] for i in ka): r for r in list_b}
        n_a, n_b = len(list_a), len(list_b)
        missing = [k for k in rows_b if k not in rows_a]
        extra = [k for k in rows_a if k not in rows_b]
        differing: dict[str, int] = {}
        examples = []
        for k, ra in rows_a.items():
            rb = rows_b.get(k)
            if rb is None:
                continue
            bad = [c for c, x, y in zip(cols, ra, rb) if not same(x, y)]
            for c in bad:
                differing[c] = differing.get(c, 0) + 1
            if bad and len(examples) < args.show:
                examples.append((k, [(c, ra[cols.index(c)], rb[cols.index(c)]) for c in bad]))
        ok = not (missing or extra or differing or only_a or only_b) and n_a == len(rows_a) and n_b == len(rows_b)
        if ok:
            print(f"{table}: {n_a} rows, {len(cols)} columns: same")
            continue
        failed.append(table)
        print(f"{table}: DIFFERENT: duckdb {n_a} rows, shoal {n_b} rows; {len(extra)} keys only in duckdb, "
              f"{len(missing)} only in shoal" + (f"; duplicate keys" if n_a != len(rows_a) or n_b != len(rows_b) else ""))
        if only_a or only_b:
            print(f"  columns only in duckdb: {only_a}; only in shoal: {only_b}")
        if differing:
            print("  differing columns (rows): " + ", ".join(f"{c} ({n})" for c, n in differing.items()))
        for k in extra[: args.show]:
            print("  only in duckdb: " + ", ".join(f"{c}={fmt(v)}" for c, v in zip(cols, rows_a[k])))
        for k in missing[: args.show]:
            print("  only in shoal:  " + ", ".join(f"{c}={fmt(v)}" for c, v in zip(cols, rows_b[k])))
        for k, bad in examples:
            print(f"  {dict(zip(keys, map(fmt, k)))}: " + "; ".join(f"{c}: duckdb {fmt(x)} shoal {fmt(y)}" for c, x, y in bad))
    print(f"{len(wanted) - len(failed)} of {len(wanted)} tables the same" + (f"; different: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
