#!/usr/bin/env python3
"""Opens shoal's committed outputs three ways and checks they agree:
through the DDL `shoal catalog --emit duckdb` printed (DuckDB), through
pyarrow.dataset with hive partitioning, and through `shoal query`.

    PY=$(.ci/pyenv)
    SHOAL_BIN=target/release/shoal $PY tests/py/bi_check.py --project DIR --ddl catalog.sql

Every table of the DDL: same row count in all three, and for the tables in
FULL the same rows (sorted, floats to 1e-9). Exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import subprocess
import sys

import duckdb
import pyarrow.dataset as ds

FULL = ["community_daily", "uvi_tiers", "kpi_scorecard", "retention_cohorts", "funnel_steps"]


def norm(v):
    if v is None:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else round(v, 9)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def rows_of(records, cols):
    return sorted(
        (tuple(norm(r.get(c)) for c in cols) for r in records),
        key=lambda t: tuple((x is None, str(x)) for x in t),
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", required=True)
    ap.add_argument("--ddl", required=True)
    a = ap.parse_args()
    shoal = os.environ.get("SHOAL_BIN", "shoal")
    con = duckdb.connect()
    con.execute(pathlib.Path(a.ddl).read_text())
    views = [r[0] for r in con.sql("select view_name from duckdb_views() where not internal").fetchall()]
    out = pathlib.Path(a.project) / "warehouse"
    bad = 0
    for v in sorted(views):
        n_duck = con.sql(f'select count(*) from "{v}"').fetchone()[0]
        part = "hive" if (out / v).exists() and any(p.name.startswith("dt=") for p in (out / v).iterdir()) else None
        dataset = ds.dataset(out / v, format="parquet", partitioning=part, exclude_invalid_files=True,
                             ignore_prefixes=["_", "."])
        n_arrow = dataset.count_rows()
        # Text is Arrow `string` in every output: DataFusion reads committed
        # outputs' text as views, and shoal's writer must turn them back.
        odd = [f"{f.name}: {f.type}" for f in dataset.schema if str(f.type) in ("string_view", "large_string")]
        if odd:
            print(f"{v}: text columns not written as string: {', '.join(odd)}")
            bad += 1
            continue
        q = subprocess.run([shoal, "--project-dir", a.project, "query", f"select count(*) as n from {v}",
                            "--format", "json"], capture_output=True, text=True)
        if q.returncode != 0:
            print(f"{v}: shoal query failed: {q.stderr[-500:]}")
            bad += 1
            continue
        n_shoal = json.loads(q.stdout)[0]["n"]
        if not (n_duck == n_arrow == n_shoal):
            print(f"{v}: rows duckdb {n_duck}, pyarrow {n_arrow}, shoal {n_shoal}")
            bad += 1
            continue
        if v in FULL:
            cols = [c[0] for c in con.sql(f'select * from "{v}" limit 0').description]
            duck = rows_of([dict(zip(cols, r)) for r in con.sql(f'select * from "{v}"').fetchall()], cols)
            q = subprocess.run([shoal, "--project-dir", a.project, "query", f"select * from {v}",
                                "--format", "json"], capture_output=True, text=True)
            mine = rows_of(json.loads(q.stdout), cols)
            arrow = rows_of(dataset.to_table().to_pylist(), cols)
            if not (duck == mine == arrow):
                for i, (x, y, z) in enumerate(zip(duck, mine, arrow)):
                    if not (x == y == z):
                        print(f"{v}: row {i} differs:\n duckdb {x}\n shoal  {y}\n arrow  {z}")
                        break
                bad += 1
                continue
        print(f"{v}: {n_duck} rows, same in DuckDB, pyarrow and shoal query" + (" (every row)" if v in FULL else ""))
    print(f"bi_check: {len(views)} tables, {bad} differences")
    return 1 if bad or not views else 0


if __name__ == "__main__":
    sys.exit(main())
