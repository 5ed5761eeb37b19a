"""Runs one benchmark SQL file on DuckDB or chDB and prints the result as CSV.

    python engine.py duckdb|chdb FILE.sql EVENTS_DIR

`{events}` in the SQL is replaced by EVENTS_DIR (absolute). The whole process
(interpreter start, import, query) is what run.sh times; the query's own
time goes to stderr as `query_seconds=S`.
"""

import os
import sys
import time


def main() -> int:
    engine, sql_file, events = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    with open(sql_file, encoding="utf-8") as f:
        sql = f.read().replace("{events}", events)
    if engine == "duckdb":
        import duckdb

        start = time.perf_counter()
        rows = duckdb.sql(sql).fetchall()
    elif engine == "chdb":
        import chdb

        start = time.perf_counter()
        out = chdb.query(sql, "CSV")
        rows = [tuple(line.split(",")) for line in str(out).strip().splitlines()]
    else:
        print(f"unknown engine {engine!r}: expected duckdb or chdb", file=sys.stderr)
        return 2
    # The query alone, without interpreter start and import (chdb's import
    # alone takes about a second): run.sh reports it beside the process time.
    print(f"query_seconds={time.perf_counter() - start:.3f}", file=sys.stderr)
    print("level,users")
    for level, users in rows:
        print(f"{int(level)},{int(users)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
