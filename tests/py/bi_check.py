#!/usr/bin/env python3
"""Opens shoal's committed outputs three ways and checks they agree:
through the DDL `shoal catalog --emit duckdb` printed (DuckDB; `delta_scan`
for Delta tables, with the `delta` extension from the duckdb-ext-delta
package), through an independent reader (the Python `deltalake` package
into pyarrow for Delta tables, pyarrow.dataset with hive partitioning for
plain Parquet), and through `shoal query`.

    PY=$(.ci/pyenv)
    SHOAL_BIN=target/release/shoal $PY tests/py/bi_check.py --project DIR --ddl catalog.sql

Every table of the DDL: the same rows in all three (sorted, floats to
1e-9). Exits 1 on a difference.
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import glob
import json
import math
import os
import pathlib
import re
import site
import subprocess
import sys

import duckdb
import pyarrow.dataset as ds
from deltalake import DeltaTable


ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def norm(v):
    """One form per value whichever reader produced it: numbers (decimals
    and numeric text included) as floats to 1e-9, instants as naive UTC
    ISO text, dates as ISO text, lists element by element."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float, decimal.Decimal)):
        f = float(v)
        return None if math.isnan(f) else round(f, 9)
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return v.isoformat(sep="T")
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return tuple(norm(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, norm(x)) for k, x in v.items()))
    if isinstance(v, str):
        if ISO_TIME.match(v):
            try:
                return norm(datetime.datetime.fromisoformat(v.replace("Z", "+00:00")))
            except ValueError:
                return v
        try:
            return norm(float(v)) if v.strip() and v.strip()[0] in "-+.0123456789" else v
        except ValueError:
            return v
    return v


def rows_of(records, cols):
    return sorted(
        (tuple(norm(r.get(c)) for c in cols) for r in records),
        key=lambda t: tuple((x is None, str(x)) for x in t),
    )


def duckdb_with_delta():
    """A DuckDB connection with the delta extension the venv ships (no download)."""
    dirs = [d for p in site.getsitepackages() for d in glob.glob(os.path.join(p, "duckdb_ext/extensions"))]
    if not dirs:
        raise SystemExit("duckdb-ext-delta is not installed; rerun .ci/pyenv")
    con = duckdb.connect(config={"extension_directory": dirs[0], "autoinstall_known_extensions": False})
    con.execute("LOAD delta")
    return con


def independent(path: pathlib.Path):
    """The table read by a reader that is not shoal, and whether it is Delta."""
    if (path / "_delta_log").is_dir():
        return DeltaTable(str(path)).to_pyarrow_table(), True
    part = "hive" if any(p.name.startswith("dt=") for p in path.iterdir()) else None
    dataset = ds.dataset(path, format="parquet", partitioning=part, exclude_invalid_files=True,
                         ignore_prefixes=["_", "."])
    return dataset.to_table(), False


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--project", required=True)
    ap.add_argument("--ddl", required=True)
    a = ap.parse_args()
    shoal = os.environ.get("SHOAL_BIN", "shoal")
    con = duckdb_with_delta()
    con.execute(pathlib.Path(a.ddl).read_text())
    views = [r[0] for r in con.sql("select view_name from duckdb_views() where not internal").fetchall()]
    out = pathlib.Path(a.project) / "warehouse"
    bad = 0
    delta_tables = 0
    for v in sorted(views):
        table, is_delta = independent(out / v)
        delta_tables += is_delta
        # Text is Arrow `string` in every output: DataFusion reads committed
        # outputs' text as views, and shoal's writer must turn them back.
        odd = [f"{f.name}: {f.type}" for f in table.schema if str(f.type) in ("string_view", "large_string")]
        if odd:
            print(f"{v}: text columns not written as string: {', '.join(odd)}")
            bad += 1
            continue
        q = subprocess.run([shoal, "--project-dir", a.project, "query", f"select * from {v}",
                            "--format", "json"], capture_output=True, text=True)
        if q.returncode != 0:
            print(f"{v}: shoal query failed: {q.stderr[-500:]}")
            bad += 1
            continue
        cols = [c[0] for c in con.sql(f'select * from "{v}" limit 0').description]
        duck = rows_of([dict(zip(cols, r)) for r in con.sql(f'select * from "{v}"').fetchall()], cols)
        mine = rows_of(json.loads(q.stdout), cols)
        other = rows_of(table.to_pylist(), cols)
        if not (len(duck) == len(mine) == len(other)):
            print(f"{v}: rows duckdb {len(duck)}, {'deltalake' if is_delta else 'pyarrow'} {len(other)}, shoal {len(mine)}")
            bad += 1
            continue
        if not (duck == mine == other):
            for i, (x, y, z) in enumerate(zip(duck, mine, other)):
                if not (x == y == z):
                    print(f"{v}: row {i} differs:\n duckdb    {x}\n shoal     {y}\n reader    {z}")
                    break
            bad += 1
            continue
        reader = "deltalake" if is_delta else "pyarrow"
        print(f"{v}: {len(duck)} rows, every row the same in DuckDB, {reader} and shoal query")
    print(f"bi_check: {len(views)} tables ({delta_tables} Delta), {bad} differences")
    return 1 if bad or not views else 0


if __name__ == "__main__":
    sys.exit(main())
