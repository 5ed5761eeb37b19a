#!/usr/bin/env python3
"""Add the edge cases `shoal generate` does not produce to a generated project.

    PY=$(.ci/pyenv)
    $PY tests/py/inject_edge_cases.py --project DIR --ds YYYY-MM-DD

DIR is a project whose events (sources.events.location) were written by
`shoal generate` and cover D - 9 .. D. Writes one extra file
`zz-edge-cases.parquet` into some dt partitions and a deletions file at
sources.deletions.location, so that crosscheck.py exercises:

  staging     a future row and a too-late row in partition D, a NULL event_id,
              a duplicate whose earliest event_time is in the later partition,
              a duplicate with equal times (earliest partition wins), a
              duplicate invalid in D but valid in D - 1, an unknown type
              (docs/metrics.md#stg_valid_events);
  deletions   deleted users (the biggest buyer, and an invitee whose join
              must leave the inviter's referred_joins_30 and the referral
              funnel) (docs/events.md#deletions);
  community   a community whose ratios are all NULL, join/quit/join,
              sessions without session_id across midnight
              (docs/metrics.md#community_daily);
  uvi         a purchase with a NULL amount (revenue 0 with purchases)
              (docs/metrics.md#uvi_scores);
  funnels     exposure and click at the same microsecond
              (docs/metrics.md#funnel_users);
  segments    a brand-new user (acquisition), a non-member in the top 1 % by
              interactions, a non-member active 10 days, a non-member
              contributor (docs/metrics.md#user_segments).

Run it once per project (the rows have fixed event ids), before `shoal run`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from crosscheck import Ctx  # noqa: E402  (same config reading as the cross-check)

UTC = dt.timezone.utc


def ts(day: dt.date, h: int, m: int = 0, s: int = 0, us: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, h, m, s, us, tzinfo=UTC)


def ev(eid, t, user, comm, typ, session=None, amount=None, ref=None, channel="app"):
    return dict(event_id=eid, event_time=t, user_id=user, community_id=comm, event_type=typ,
                content_id="post-edge", session_id=session, amount=amount, order_id=None,
                referrer_id=ref, channel=channel, properties=None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", required=True, type=pathlib.Path)
    ap.add_argument("--ds", required=True, type=dt.date.fromisoformat)
    args = ap.parse_args()
    ctx = Ctx(args.project.resolve(), args.ds)
    D = args.ds
    day = lambda k: D - dt.timedelta(k)  # noqa: E731

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    events = f"{ctx.events}/dt=*/*.parquet"
    con.execute(f"create view ev as select * from read_parquet('{events}', hive_partitioning = true)")
    top_buyer = con.execute(
        "select user_id from ev where event_type = 'purchase' and user_id is not null "
        "group by 1 order by count(*) desc, user_id limit 1").fetchone()[0]
    invitee = con.execute(
        f"select user_id from ev where event_type = 'join' and referrer_id is not null "
        f"and cast(event_time as date) between date '{day(20)}' and date '{D}' "
        f"and user_id <> '{top_buyer}' order by event_time desc limit 1").fetchone()
    some_user = con.execute(
        f"select user_id from ev where user_id is not null and user_id not in ('{top_buyer}') "
        f"group by 1 order by count(*) desc limit 1").fetchone()[0]

    rows: dict[dt.date, list] = {}
    add = lambda d_, r: rows.setdefault(d_, []).append(r)  # noqa: E731
    # validity and dedup (docs/metrics.md#stg_valid_events)
    add(D, ev("edge-future", ts(day(-1), 1), some_user, "c001", "purchase", "sE1", 500.0))
    add(D, ev("edge-too-late", ts(day(ctx.late_days + 2), 10), some_user, "c001", "purchase", "sE2", 700.0))
    add(D, ev(None, ts(D, 3), some_user, "c001", "view", "sE3"))
    add(D, ev("edge-null-community", ts(D, 3), some_user, None, "view", "sE3"))
    add(day(2), ev("edge-dup1", ts(day(2), 10), some_user, "c003", "like", "sE4"))
    add(D, ev("edge-dup1", ts(day(2), 9), some_user, "c002", "comment", "sE4"))  # earlier time wins
    add(day(1), ev("edge-dup2", ts(day(1), 12), some_user, "c004", "share", "sE5"))
    add(D, ev("edge-dup2", ts(day(1), 12), some_user, "c005", "like", "sE5"))  # same time: earlier dt wins
    add(day(1), ev("edge-dup3", ts(day(2), 8), some_user, "c006", "click", "sE6"))
    add(D, ev("edge-dup3", ts(day(ctx.late_days + 1), 8), some_user, "c006", "click", "sE6"))  # invalid in D
    # a community with only an unknown type and join/quit/join: NULL ratios
    # (docs/metrics.md#community_daily)
    add(D, ev("edge-unknown", ts(D, 5), "u90000001", "c999", "badge", "sE7"))
    add(D, ev("edge-j1", ts(D, 5, 1), "u90000002", "c999", "join", "sE8"))
    add(D, ev("edge-q1", ts(D, 5, 2), "u90000002", "c999", "quit", "sE8"))
    add(D, ev("edge-j2", ts(D, 5, 3), "u90000002", "c999", "join", "sE8"))
    # sessions without session_id across midnight, 20-minute then 31-minute gaps
    # (docs/metrics.md#stg_valid_events, docs/metrics.md#community_daily)
    for i, (d_, h, m) in enumerate([(day(1), 23, 30), (day(1), 23, 50), (D, 0, 10), (D, 0, 30), (D, 1, 1), (D, 1, 32)]):
        add(d_, ev(f"edge-sess{i}", ts(d_, h, m), "u90000003", "c001", "view" if i % 2 == 0 else "exposure"))
    # a purchase with a NULL amount (docs/metrics.md#uvi_scores)
    add(D, ev("edge-null-amount", ts(D, 6), "u90000004", "c001", "purchase", "sE9"))
    # click and exposure at one microsecond, then add_to_cart and purchase
    # (docs/metrics.md#funnel_users)
    for i, typ in enumerate(["click", "exposure", "add_to_cart", "purchase"]):
        add(D, ev(f"edge-fun{i}", ts(D, 7, 0, 0, 5) if i < 2 else ts(D, 8, i), "u90000005", "c002", typ,
                  "sE10", 12.5 if typ == "purchase" else None, channel="web"))
    # a brand-new user; pyramid readings (docs/metrics.md#user_segments)
    add(D, ev("edge-new", ts(D, 9), "u90000006", "c002", "exposure", "sE11"))
    for k in range(10):
        for j in range(30):
            add(day(k), ev(f"edge-likes-{k}-{j}", ts(day(k), 10, j), "u90000007", "c001", "like", f"sL{k}"))
        add(day(k), ev(f"edge-active-{k}", ts(day(k), 11), "u90000008", "c001", "view", f"sA{k}"))
    for j in range(6):
        add(D, ev(f"edge-comment-{j}", ts(D, 12, j), "u90000009", "c001", "comment", "sC"))

    schema = pq.read_schema(next(ctx.events.glob("dt=*/*.parquet")))
    for d_, rs in sorted(rows.items()):
        part = ctx.events / f"dt={d_.isoformat()}"
        if not part.is_dir():
            sys.exit(f"inject_edge_cases: {part}: missing; generate events covering {day(9)} .. {D}")
        pq.write_table(pa.Table.from_pylist(rs, schema=schema), part / "zz-edge-cases.parquet")

    deleted = [top_buyer] + ([invitee[0]] if invitee else [])
    if ctx.deletions is None:
        sys.exit("inject_edge_cases: the config has no sources.deletions")
    ctx.deletions.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"user_id": deleted,
                             "requested_at": pa.array([ts(D, 0)] * len(deleted), pa.timestamp("us", tz="UTC"))}),
                   ctx.deletions / "deletions.parquet")
    print(f"inject_edge_cases: {sum(map(len, rows.values()))} rows into {len(rows)} partitions, "
          f"deleted users {', '.join(deleted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
