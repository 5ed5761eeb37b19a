#!/usr/bin/env python3
"""Differential test: shoal's event-sequence aggregates against ClickHouse (chDB).

    PY=$(.ci/pyenv)
    SHOAL_BIN=target/release/shoal $PY tests/py/funnel_diff.py [--seed 1] [--sets 300] [--batches 3]

Each batch writes many small random event sets into one Parquet file of a
temporary shoal project (events schema of docs/events.md#events, hive partition
dt=2026-09-01; the set id is stored in `community_id`, because the events
source has a fixed schema), then computes per (set, user), through one
`shoal query` and one chDB query:

* window_funnel / windowFunnel with windows 0, 10 and 3600 s, in each of the
  sixteen combinations of strict_order, strict_deduplication,
  strict_increase, strict_once, and the eight of those with strict_order
  plus allow_reentry (which ClickHouse accepts only with strict_order);
* retention(c1, c2, c3);
* sequence_match / sequenceMatch and sequence_count / sequenceCount for a
  few patterns (with and without time conditions).

Conditions (the same SQL in both engines, Nullable as they come: the Parquet
columns are nullable in both):
  c1: event_type = 'A'
  c2: event_type = 'B' or content_id = 'AB'   (rows matching two conditions)
  c3: event_type = 'C'
  c4: event_type = 'D'
Rows of type 'X' match nothing (they matter to strict_order). Some rows have
a NULL event_time, a NULL event_type (every condition NULL) or a NULL
content_id (c2 NULL unless the type is 'B'). ClickHouse's Null combinator
skips a row on which any argument is NULL (it is no event, and does not
intervene under strict_order), and a group where every row was skipped gives
NULL for windowFunnel and sequence*, all zeros for retention; shoal does the
same, and the comparison includes those NULLs.

Time resolution: event times are whole seconds (the Parquet column is
Timestamp(µs, UTC) with zero microseconds); ClickHouse gets toDateTime(…)
(DateTime, seconds), which is what its windowFunnel and sequenceMatch
document, so windows and (?t…) durations are seconds in both engines. A set
draws its times on a grid of 1 s or 360 s over 20 steps, so equal timestamps,
repeated steps and gaps exactly equal to a window (10 s, 3600 s) are common.

chDB 3.6 embeds ClickHouse 25.5, which has strict_once but not yet
allow_reentry: the allow_reentry columns are computed by shoal only and
compared with the Python emulation of upstream ClickHouse's algorithm below
(and with the brute-force reference), not with chDB.

Known, documented differences are reported apart from real mismatches:
* sequence_match/sequence_count when two visible events of a user share a
  timestamp: ClickHouse sorts by time only with an unstable sort, so its
  answer depends on row order; shoal orders ties by condition (documented).
  These comparisons are skipped and counted.
* window_funnel with strict_increase (without strict_once): shoal returns the
  longest strictly increasing chain, ClickHouse's single pass can miss it
  (documented in src/functions/window_funnel.rs).
* window_funnel with strict_once and strict_deduplication when rows share a
  timestamp: ClickHouse takes such rows in input order (its row ids), and
  there the order can decide where a repeated step stops the scan; shoal
  takes them in the order of their conditions. A comparison is skipped (and
  counted) when the emulation gives different answers for different input
  orders.
* window_funnel with strict_deduplication: ClickHouse up to 25.x (chDB 3.6
  embeds 25.5) returns, on a repeated step, the step number of the previous
  sorted entry instead of the level reached (e.g. A@10 D@15 B@17 with B also
  matching at 10 gives 4 though step 3 never happened); upstream ClickHouse
  fixed it (its source cites issue #37177) and returns the level reached, as
  shoal does.
Every window_funnel value is checked against two Python oracles written
here: a brute-force reference of shoal's documented semantics and an
emulation of ClickHouse's getEventLevelNonStrictOnce / getEventLevelStrictOnce
(with and without that bug). A difference counts as known only when shoal
equals the reference and chDB equals the emulation; anything else is a
mismatch.

A mismatch is shrunk (events removed one at a time while it persists, each
round one batch through both engines) and printed as a minimal repro with the
SQL to replay it in both engines. Exit status 1 when any real mismatch is
left.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import chdb
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-09-01"
BASE = int(datetime(2026, 9, 1, 1, 0, 0, tzinfo=timezone.utc).timestamp())

WINDOWS = [0, 10, 3600]
MODE_FLAGS = ["strict_order", "strict_deduplication", "strict_increase", "strict_once"]
MODES = [
    list(c) for r in range(len(MODE_FLAGS) + 1) for c in itertools.combinations(MODE_FLAGS, r)
]
# allow_reentry needs strict_order.
MODES += [m + ["allow_reentry"] for m in MODES if "strict_order" in m]
PATTERNS = [
    "(?1)(?2)",
    "(?1).*(?2)(?3)",
    "(?1)(?t<=3600)(?2)",
    "(?1)(?t>1800)(?2)",
    "(?1)(?t<=10).*(?3)",
    "(?2).(?3)",
]
CONDS = {
    "c1": "event_type = 'A'",
    "c2": "(event_type = 'B' or content_id = 'AB')",
    "c3": "event_type = 'C'",
    "c4": "event_type = 'D'",
}

EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event_time", pa.timestamp("us", tz="UTC")),
        ("user_id", pa.string()),
        ("community_id", pa.string()),
        ("event_type", pa.string()),
        ("content_id", pa.string()),
        ("session_id", pa.string()),
        ("amount", pa.float64()),
        ("order_id", pa.string()),
        ("referrer_id", pa.string()),
        ("channel", pa.string()),
        ("properties", pa.string()),
    ]
)


# --- the columns computed by both engines ------------------------------------


@dataclass(frozen=True)
class Col:
    name: str
    kind: str  # funnel | retention | match | count
    window: int = 0
    modes: tuple[str, ...] = ()
    pattern: str = ""

    def shoal(self) -> str:
        c = CONDS
        if self.kind == "funnel":
            return (
                f"window_funnel({self.window}, '{','.join(self.modes)}', event_time, "
                f"{c['c1']}, {c['c2']}, {c['c3']}, {c['c4']})"
            )
        if self.kind == "retention":
            return f"retention({c['c1']}, {c['c2']}, {c['c3']})"
        fn = "sequence_match" if self.kind == "match" else "sequence_count"
        return f"{fn}('{self.pattern}', event_time, {c['c1']}, {c['c2']}, {c['c3']})"

    def in_chdb(self) -> bool:
        """Whether chDB (ClickHouse 25.5) can compute the column."""
        return "allow_reentry" not in self.modes

    def clickhouse(self) -> str:
        c = CONDS
        t = "toDateTime(event_time, 'UTC')"
        if self.kind == "funnel":
            params = ", ".join([str(self.window)] + [f"'{m}'" for m in self.modes])
            return f"windowFunnel({params})({t}, {c['c1']}, {c['c2']}, {c['c3']}, {c['c4']})"
        if self.kind == "retention":
            return f"retention({c['c1']}, {c['c2']}, {c['c3']})"
        fn = "sequenceMatch" if self.kind == "match" else "sequenceCount"
        return f"{fn}('{self.pattern}')({t}, {c['c1']}, {c['c2']}, {c['c3']})"

    def label(self) -> str:
        if self.kind == "funnel":
            return f"window_funnel({self.window}, '{','.join(self.modes)}')"
        if self.kind == "retention":
            return "retention(c1, c2, c3)"
        fn = "sequence_match" if self.kind == "match" else "sequence_count"
        return f"{fn}('{self.pattern}')"


COLS: list[Col] = (
    [Col(f"wf_{w}_{i}", "funnel", window=w, modes=tuple(m)) for w in WINDOWS for i, m in enumerate(MODES)]
    + [Col("ret", "retention")]
    + [Col(f"sm_{i}", "match", pattern=p) for i, p in enumerate(PATTERNS)]
    + [Col(f"sc_{i}", "count", pattern=p) for i, p in enumerate(PATTERNS)]
)


def normalise(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, list):
        return [int(x) for x in v]
    if v is None:
        return None
    return int(v)


# --- random event sets ---------------------------------------------------------


@dataclass
class Event:
    t: int | None  # seconds after BASE, None = NULL time
    type: str | None
    content: str | None

    def conds(self) -> tuple[bool | None, ...]:
        """c1..c4 in SQL's three-valued logic (None = NULL)."""
        ty, content = self.type, self.content

        def eq(v, x):
            return None if v is None else v == x

        b, ab = eq(ty, "B"), eq(content, "AB")
        c2 = True if (b or ab) else (None if b is None or ab is None else False)
        return (eq(ty, "A"), c2, eq(ty, "C"), eq(ty, "D"))

    def counted(self, n: int, timed: bool = True) -> bool:
        """Whether the row counts for an aggregate of conditions c1..cn (and
        the time, when `timed`): ClickHouse's Null combinator skips it when
        any argument is NULL."""
        return (not timed or self.t is not None) and all(c is not None for c in self.conds()[:n])

    def mask(self, n: int) -> int:
        return sum(1 << k for k, c in enumerate(self.conds()[:n]) if c)


@dataclass
class EventSet:
    set_id: str
    users: dict[str, list[Event]] = field(default_factory=dict)


def random_set(rng: random.Random, set_id: str) -> EventSet:
    s = EventSet(set_id)
    unit = rng.choice([1, 1, 360])
    # Half the sets have distinct times per user, so that sequence_* can be
    # compared (ClickHouse orders equal timestamps arbitrarily there).
    distinct = rng.random() < 0.5
    for u in range(rng.randint(1, 3)):
        evs = []
        slots = rng.sample(range(21), 21)
        for _ in range(rng.randint(0, 12)):
            slot = slots.pop() if distinct else rng.randint(0, 20)
            t = None if rng.random() < 0.08 else slot * unit
            ty = None if rng.random() < 0.04 else rng.choice("AAABBBCCDDX")
            r = rng.random()
            content = "AB" if r < 0.1 else (None if r < 0.15 else "c")
            evs.append(Event(t, ty, content))
        s.users[f"u{u}"] = evs
    return s


# --- engines -------------------------------------------------------------------


def write_batch(sets: list[EventSet], events_dir: Path, rng: random.Random) -> None:
    rows = []
    for s in sets:
        for user, evs in s.users.items():
            for e in evs:
                rows.append((s.set_id, user, e))
    rng.shuffle(rows)  # input order must not matter
    part = events_dir / f"dt={DAY}"
    if events_dir.exists():
        shutil.rmtree(events_dir)
    part.mkdir(parents=True)
    n = len(rows)
    cols = {name: [None] * n for name in EVENTS_SCHEMA.names}
    for i, (sid, user, e) in enumerate(rows):
        cols["event_id"][i] = f"e{i}"
        cols["event_time"][i] = None if e.t is None else (BASE + e.t) * 1_000_000
        cols["user_id"][i] = user
        cols["community_id"][i] = sid
        cols["event_type"][i] = e.type
        cols["content_id"][i] = e.content
    table = pa.table(
        {name: pa.array(cols[name], type=EVENTS_SCHEMA.field(name).type) for name in EVENTS_SCHEMA.names},
        schema=EVENTS_SCHEMA,
    )
    pq.write_table(table, part / "part-0.parquet")


# Session settings every batch also runs under, each compared with the
# default run: one partition, many partitions (partial and final aggregation
# merge the intermediate state), and a tight memory limit (aggregation spills
# its state and merges it back).
SHOAL_VARIANTS = [
    ["--threads", "1", "--set", "run.target_partitions=1"],
    ["--set", "run.target_partitions=8"],
    ["--set", "run.target_partitions=4", "--memory-limit", "8MiB"],
]


# Columns per shoal query: the memory-limited variant below was sized for a
# query of this many aggregates (more would need more than its limit to hold
# one batch's state, rather than spill).
SHOAL_COLS_PER_QUERY = 40


def run_shoal(shoal: str, proj: Path, extra: list[str] | None = None) -> dict:
    out: dict = {}
    for i in range(0, len(COLS), SHOAL_COLS_PER_QUERY):
        cols = COLS[i : i + SHOAL_COLS_PER_QUERY]
        select = ",\n  ".join(f"{c.shoal()} as {c.name}" for c in cols)
        sql = (
            f"select community_id as set_id, user_id,\n  {select}\n"
            "from events group by community_id, user_id"
        )
        res = subprocess.run(
            [shoal, "-q", "--project-dir", str(proj), *(extra or []), "query", "--format", "json", "--", sql],
            capture_output=True,
            text=True,
        )
        if res.returncode != 0:
            sys.exit(f"shoal query {' '.join(extra or [])} failed ({res.returncode}):\n{res.stderr}\nSQL:\n{sql}")
        for r in json.loads(res.stdout or "[]"):
            out.setdefault((r["set_id"], r["user_id"]), {}).update(r)
    return out


def run_chdb(events_dir: Path) -> dict:
    select = ",\n  ".join(f"{c.clickhouse()} as {c.name}" for c in COLS if c.in_chdb())
    sql = (
        f"select community_id as set_id, user_id,\n  {select}\n"
        f"from file('{events_dir}/*/*.parquet', Parquet) group by community_id, user_id"
    )
    out = str(chdb.query(sql, "JSONEachRow"))
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {(r["set_id"], r["user_id"]): r for r in rows}


# --- reference and classification ---------------------------------------------


def funnel_rows(evs: list[Event], steps: int = 4) -> list[Event]:
    """The rows a funnel counts: time and every condition non-NULL."""
    return [e for e in evs if e.counted(steps)]


def modes_of(modes) -> tuple[bool, bool, bool, bool, bool]:
    return tuple(
        m in modes
        for m in ("strict_order", "strict_deduplication", "strict_increase", "strict_once", "allow_reentry")
    )


def emulate_clickhouse(
    evs: list[Event], window: int, modes, old_dedup_bug: bool, steps: int = 4, order=None
) -> int | None:
    """ClickHouse's windowFunnel in Python: getEventLevelNonStrictOnce, or
    getEventLevelStrictOnce with strict_once (every chain kept with the row
    ids it used), as upstream's AggregateFunctionWindowFunnel.cpp has them
    (allow_reentry included). `order`: the rows in input order, which gives
    strict_once its row ids (default: as listed). old_dedup_bug: ClickHouse
    up to 25.x returned, on a repeated step under strict_deduplication, the
    step number of the previous entry instead of the level reached (fixed
    upstream, ClickHouse issue #37177). None when no row counts (the Null
    combinator)."""
    so, sd, si, once, reentry = modes_of(modes)
    rows = funnel_rows(order if order is not None else evs, steps)
    if not rows:
        return None
    entries = []
    for uid, e in enumerate(rows):
        ks = [k + 1 for k, c in enumerate(e.conds()[:steps]) if c]
        entries.extend((e.t, k, uid) for k in reversed(ks))
        if not ks and so:
            entries.append((e.t, 0, uid))
    if not entries:
        return 0
    if not so and steps == 1:
        return 1
    # std::stable_sort by (timestamp, event) without strict_once, by
    # (timestamp, event, id) with it.
    entries.sort(key=(lambda x: x[:3]) if once else (lambda x: x[:2]))

    if once:
        seqs: list[list[tuple[int, int, tuple[int, ...]]]] = [[] for _ in range(steps)]
        nonempty = lambda k: bool(seqs[k])  # noqa: E731
    else:
        ts: list[tuple[int, int] | None] = [None] * steps
        nonempty = lambda k: ts[k] is not None  # noqa: E731

    def deepest() -> int:
        return max((k + 1 for k in range(steps) if nonempty(k)), default=0)

    first_event = False
    for i, (t, k, uid) in enumerate(entries):
        idx = k - 1
        if so and idx == -1:
            if first_event:
                break
            continue
        if idx == 0:
            if once:
                seqs[0].append((t, t, (uid,)))
            else:
                ts[0] = (t, t)
            first_event = True
        elif sd and nonempty(idx):
            return entries[i - 1][1] if old_dedup_bug else deepest()
        elif so and first_event and not nonempty(idx - 1):
            if reentry:
                continue
            return next(k for k in range(steps) if not nonempty(k))
        elif nonempty(idx - 1):
            if once:
                for first, last, path in list(seqs[idx - 1]):
                    if t <= first + window and uid not in path and (not si or last < t):
                        seqs[idx].append((first, t, path + (uid,)))
                        if idx + 1 == steps:
                            return steps
            else:
                first, last = ts[idx - 1]
                if t <= first + window and (not si or last < t):
                    ts[idx] = (first, t)
                    if idx + 1 == steps:
                        return steps
    return deepest()


def reference_funnel(evs: list[Event], window: int, modes, steps: int = 4) -> int | None:
    """shoal's documented semantics (src/functions/window_funnel.rs), brute
    force: rows with a NULL time or condition are skipped (None when all
    are); the level is the longest chain e1..ek (entry i for step i, in
    (time, step, row) order with the rows at one time in the order of their
    condition masks, times non-decreasing, strictly increasing with
    strict_increase, distinct rows with strict_once, t_k <= t_1 + window)
    among the entries scanned; the scan stops (strict_deduplication) at a
    step-k entry, k >= 2, when level k is already reached, and (strict_order,
    after the first step-1 entry) at an entry matching no condition or a
    step-k entry while level k - 1 is not reached (with allow_reentry such an
    entry is passed over instead)."""
    so, sd, si, once, reentry = modes_of(modes)
    rows = sorted(((e.t, e.mask(steps)) for e in funnel_rows(evs, steps)))
    if not rows:
        return None
    entries = []
    for row, (t, m) in enumerate(rows):
        if m == 0:
            if so:
                entries.append((t, 0, row))
            continue
        entries.extend((t, k + 1, row) for k in range(steps) if m >> k & 1)
    entries.sort()

    def longest(prefix) -> int:
        best = 0

        def extend(i: int, t1: int, used: tuple[int, ...]) -> None:
            nonlocal best
            ti, ki, _ = prefix[i]
            best = max(best, ki)
            for j in range(i + 1, len(prefix)):
                t, k, row = prefix[j]
                if k == ki + 1 and t <= t1 + window and (not si or t > ti) and not (once and row in used):
                    extend(j, t1, used + (row,))

        for i, (t1, k, row) in enumerate(prefix):
            if k == 1:
                extend(i, t1, (row,))
        return best

    first_seen = False
    for i, (t, k, _) in enumerate(entries):
        if k == 0:
            if first_seen:
                return longest(entries[:i])
            continue
        if k == 1:
            first_seen = True
            continue
        before = longest(entries[:i])
        if sd and before >= k:
            return before
        if so and first_seen and before < k - 1 and not reentry:
            return before
    return longest(entries)


def order_dependent(col: Col, evs: list[Event]) -> bool:
    """strict_once with strict_deduplication, rows sharing a timestamp:
    whether ClickHouse's answer depends on the input order of those rows
    (tried: as listed, reversed, and 20 shuffles)."""
    if "strict_once" not in col.modes or "strict_deduplication" not in col.modes:
        return False
    ts = [e.t for e in funnel_rows(evs)]
    if len(ts) == len(set(ts)):
        return False
    rng = random.Random(0)
    orders = [list(evs), list(reversed(evs))]
    for _ in range(20):
        o = list(evs)
        rng.shuffle(o)
        orders.append(o)
    return any(
        len({emulate_clickhouse(evs, col.window, col.modes, bug, order=o) for o in orders}) > 1
        for bug in (False, True)
    )


def shoal_order(evs: list[Event]) -> list[Event]:
    """The rows in the order shoal takes them: by time, then condition mask."""
    return sorted(funnel_rows(evs), key=lambda e: (e.t, e.mask(4)))


def visible_ties(evs: list[Event]) -> bool:
    """Whether two events visible to sequence_* (counted: time and c1..c3 not
    NULL; some of c1..c3 true) share a timestamp."""
    ts = [e.t for e in evs if e.counted(3) and any(e.conds()[:3])]
    return len(ts) != len(set(ts))


def classify(col: Col, evs: list[Event], shoal_v, ch_v) -> str:
    """equal | emulated | skipped_ties | order_dependent | ch_dedup_bug |
    deliberate | mismatch. For the columns chDB cannot compute
    (allow_reentry), ch_v is ignored and shoal is compared with the
    emulation of upstream ClickHouse."""
    if col.kind in ("match", "count") and visible_ties(evs):
        return "skipped_ties"
    if col.kind != "funnel":
        return "equal" if shoal_v == ch_v else "mismatch"
    if shoal_v != reference_funnel(evs, col.window, col.modes):
        return "mismatch"
    new = emulate_clickhouse(evs, col.window, col.modes, old_dedup_bug=False)
    deliberate_si = "strict_increase" in col.modes and "strict_once" not in col.modes
    if not col.in_chdb():
        if order_dependent(col, evs):
            # shoal's order is one of the input orders ClickHouse could see.
            mine = emulate_clickhouse(evs, col.window, col.modes, False, order=shoal_order(evs))
            return "emulated" if shoal_v == mine else "mismatch"
        if shoal_v == new:
            return "emulated"
        return "deliberate" if deliberate_si else "mismatch"
    if shoal_v == ch_v:
        return "equal"
    if order_dependent(col, evs):
        return "order_dependent"
    old = emulate_clickhouse(evs, col.window, col.modes, old_dedup_bug=True)
    if ch_v == old != new and shoal_v == new:
        return "ch_dedup_bug"
    if deliberate_si and ch_v in (old, new):
        return "deliberate"
    return "mismatch"


# --- repro ---------------------------------------------------------------------


def fmt_events(evs: list[Event]) -> str:
    def key(e):
        return (e.t is None, e.t or 0)

    parts = []
    for e in sorted(evs, key=key):
        t = "NULL" if e.t is None else str(e.t)
        ty = "NULL" if e.type is None else e.type
        parts.append(f"{ty}{'+AB' if e.content == 'AB' else ''}@{t}")
    return " ".join(parts) if parts else "(no events)"


def repro_sql(col: Col, evs: list[Event]) -> tuple[str, str]:
    """SQL over literal rows (t seconds after the epoch, c1..c4) for both engines."""
    rows = [(e.t, *[None if x is None else int(x) for x in e.conds()]) for e in evs]
    if not rows:
        rows = [(None, 0, 0, 0, 0)]

    def sh_row(r):
        t = "cast(null as bigint)" if r[0] is None else str(r[0])
        cs = ["cast(null as boolean)" if x is None else ("true" if x else "false") for x in r[1:]]
        return f"({t}, {', '.join(cs)})"

    values = ", ".join(sh_row(r) for r in rows)
    t = "to_timestamp_seconds(t)"
    if col.kind == "funnel":
        call = f"window_funnel({col.window}, '{','.join(col.modes)}', {t}, c1, c2, c3, c4)"
    elif col.kind == "retention":
        call = "retention(c1, c2, c3)"
    else:
        fn = "sequence_match" if col.kind == "match" else "sequence_count"
        call = f"{fn}('{col.pattern}', {t}, c1, c2, c3)"
    shoal_sql = f"select {call} as r from (values {values}) as v(t, c1, c2, c3, c4)"

    ch_rows = ", ".join(
        "(" + ", ".join("NULL" if x is None else str(x) for x in r) + ")" for r in rows
    )
    tt = "toDateTime(t, 'UTC')"
    if col.kind == "funnel":
        params = ", ".join([str(col.window)] + [f"'{m}'" for m in col.modes])
        call = f"windowFunnel({params})({tt}, c1, c2, c3, c4)"
    elif col.kind == "retention":
        call = "retention(c1, c2, c3)"
    else:
        fn = "sequenceMatch" if col.kind == "match" else "sequenceCount"
        call = f"{fn}('{col.pattern}')({tt}, c1, c2, c3)"
    ch_sql = (
        f"select {call} as r from values('t Nullable(UInt32), c1 Nullable(UInt8), c2 Nullable(UInt8), "
        f"c3 Nullable(UInt8), c4 Nullable(UInt8)', "
        f"{ch_rows})"
    )
    return shoal_sql, ch_sql


@dataclass
class Mismatch:
    col: Col
    evs: list[Event]
    shoal_v: object
    ch_v: object


def shrink(m: Mismatch, ctx) -> Mismatch:
    """Removes events one at a time while the column still mismatches; each
    round evaluates every one-smaller candidate in one batch."""
    cur = m
    while cur.evs:
        sets = []
        for i in range(len(cur.evs)):
            s = EventSet(f"k{i:03d}")
            s.users["u0"] = cur.evs[:i] + cur.evs[i + 1 :]
            sets.append(s)
        sh, ch = ctx.evaluate(sets)
        for i, s in enumerate(sets):
            key = (s.set_id, "u0")
            sv = normalise(sh.get(key, {}).get(cur.col.name))
            cv = normalise(ch.get(key, {}).get(cur.col.name))
            if classify(cur.col, s.users["u0"], sv, cv) == "mismatch":
                cur = Mismatch(cur.col, s.users["u0"], sv, cv)
                break
        else:
            return cur
    return cur


class Context:
    def __init__(self, shoal: str, workdir: Path, rng: random.Random):
        self.shoal = shoal
        self.rng = rng
        self.proj = workdir / "project"
        self.events = workdir / "events"
        self.variant_diffs: list[tuple] = []
        (self.proj / "config").mkdir(parents=True)
        (self.proj / "sql").mkdir()
        cfg = (ROOT / "config" / "shoal.yaml").read_text(encoding="utf-8")
        lines = []
        for line in cfg.splitlines():
            if line.lstrip().startswith("events:") and "location:" in line:
                line = f"  events:    {{ location: {self.events}, partitioning: hive_dt }}"
            elif line.lstrip().startswith("users:") and "location:" in line:
                line = f"  users:     {{ location: {workdir / 'users'}, optional: true }}"
            lines.append(line)
        (self.proj / "config" / "shoal.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def evaluate(self, sets: list[EventSet], variants: bool = False) -> tuple[dict, dict]:
        """Both engines' results for one batch; with `variants`, shoal also
        runs under each of SHOAL_VARIANTS, and any difference from its
        default run is recorded in self.variant_diffs."""
        write_batch(sets, self.events, self.rng)
        sh = run_shoal(self.shoal, self.proj)
        if variants:
            for extra in SHOAL_VARIANTS:
                other = run_shoal(self.shoal, self.proj, extra)
                for key in sh.keys() | other.keys():
                    if sh.get(key) != other.get(key):
                        self.variant_diffs.append((" ".join(extra), key, sh.get(key), other.get(key)))
        return sh, run_chdb(self.events)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sets", type=int, default=300, help="event sets per batch (default 300)")
    ap.add_argument("--batches", type=int, default=3, help="batches (default 3)")
    ap.add_argument("--show", type=int, default=5, help="mismatches to shrink and print (default 5)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary project")
    args = ap.parse_args()

    shoal = os.environ.get("SHOAL_BIN") or str(
        Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release" / "shoal"
    )
    if not os.access(shoal, os.X_OK):
        sys.exit(f"SHOAL_BIN={shoal} is not an executable (build with cargo build --release)")

    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="shoal-funnel-diff-"))
    ctx = Context(shoal, workdir, rng)
    counts = {
        "equal": 0,
        "emulated": 0,
        "ch_dedup_bug": 0,
        "deliberate": 0,
        "skipped_ties": 0,
        "order_dependent": 0,
        "mismatch": 0,
    }
    nulls = {"shoal": 0, "chdb": 0}
    # Oracles checked on every funnel comparison, equal or not.
    oracle = {"shoal_vs_reference": 0, "chdb_vs_emulation": 0, "funnel": 0, "chdb_funnel": 0}
    per_col: dict[str, dict[str, int]] = {}
    mismatches: list[Mismatch] = []
    deliberate: list[Mismatch] = []
    n_sets = n_users = 0
    try:
        for b in range(args.batches):
            sets = [random_set(rng, f"b{b}s{i:04d}") for i in range(args.sets)]
            sh, ch = ctx.evaluate(sets, variants=True)
            for s in sets:
                n_sets += 1
                for user, evs in s.users.items():
                    if not evs:
                        continue  # no rows: no group in either engine
                    n_users += 1
                    key = (s.set_id, user)
                    if key not in sh or key not in ch:
                        print(f"missing group {key}: shoal {key in sh}, chdb {key in ch}")
                        counts["mismatch"] += 1
                        continue
                    for col in COLS:
                        # JSON output leaves NULL values out.
                        sv, cv = normalise(sh[key].get(col.name)), normalise(ch[key].get(col.name))
                        nulls["shoal"] += sv is None
                        nulls["chdb"] += col.in_chdb() and cv is None
                        verdict = classify(col, evs, sv, cv)
                        counts[verdict] += 1
                        pc = per_col.setdefault(col.label(), {})
                        pc[verdict] = pc.get(verdict, 0) + 1
                        if col.kind == "funnel":
                            oracle["funnel"] += 1
                            if sv != reference_funnel(evs, col.window, col.modes):
                                oracle["shoal_vs_reference"] += 1
                            if col.in_chdb() and not order_dependent(col, evs):
                                oracle["chdb_funnel"] += 1
                                if cv != emulate_clickhouse(evs, col.window, col.modes, old_dedup_bug=True):
                                    oracle["chdb_vs_emulation"] += 1
                        if verdict == "mismatch":
                            mismatches.append(Mismatch(col, evs, sv, cv))
                        elif verdict in ("deliberate", "ch_dedup_bug"):
                            deliberate.append(Mismatch(col, evs, sv, cv))

        total = sum(counts.values())
        print(
            f"funnel_diff: seed {args.seed}, {n_sets} event sets, {n_users} (set, user) groups, "
            f"{len(COLS)} columns: {total} comparisons"
        )
        print(
            f"  equal {counts['equal']}, allow_reentry equal to the emulation of upstream ClickHouse "
            f"(chDB 25.5 lacks the mode) {counts['emulated']}, chDB strict_deduplication bug (fixed "
            f"upstream, #37177) {counts['ch_dedup_bug']}, documented strict_increase difference "
            f"{counts['deliberate']}, skipped (sequence ties) {counts['skipped_ties']}, skipped "
            f"(strict_once,strict_deduplication answer depends on ClickHouse's input order) "
            f"{counts['order_dependent']}, MISMATCH {counts['mismatch']}"
        )
        print(
            f"  NULL results (groups whose rows were all skipped): shoal {nulls['shoal']}, "
            f"chDB {nulls['chdb']}"
        )
        print(
            f"  window_funnel oracles: shoal != Python reference of its documented semantics "
            f"{oracle['shoal_vs_reference']} of {oracle['funnel']}; chDB != Python emulation of "
            f"ClickHouse 25.x {oracle['chdb_vs_emulation']} of {oracle['chdb_funnel']}"
        )
        print(
            f"  shoal under {len(SHOAL_VARIANTS)} other session settings "
            f"({'; '.join(' '.join(v) for v in SHOAL_VARIANTS)}): "
            f"{len(ctx.variant_diffs)} groups differ from the default run"
        )
        for extra, key, a, b in ctx.variant_diffs[:5]:
            print(f"    {extra}: {key}: default {a}, variant {b}")
        for label, pc in per_col.items():
            if set(pc) - {"equal", "emulated", "skipped_ties", "order_dependent"}:
                print(f"  {label}: {pc}")

        shown_cols = set()
        for m in mismatches:
            if len(shown_cols) >= args.show:
                break
            if m.col.label() in shown_cols:
                continue
            shown_cols.add(m.col.label())
            small = shrink(m, ctx)
            shoal_sql, ch_sql = repro_sql(small.col, small.evs)
            print(f"\nMISMATCH {small.col.label()}: shoal {small.shoal_v}, ClickHouse {small.ch_v}")
            print(f"  events (type@seconds; +AB = also c2; c1=A c2=B|AB c3=C c4=D): {fmt_events(small.evs)}")
            print(f"  shoal query:      {shoal_sql}")
            print(f"  chdb:             {ch_sql}")
        shown_kinds = set()
        for d in deliberate:
            kind = classify(d.col, d.evs, d.shoal_v, d.ch_v)
            if kind in shown_kinds:
                continue
            shown_kinds.add(kind)
            m = shrink_deliberate(d, ctx, kind)
            what = {
                "deliberate": "documented strict_increase difference (shoal: the true longest chain)",
                "ch_dedup_bug": "chDB's ClickHouse 25.5 strict_deduplication bug, fixed upstream (#37177)",
            }[kind]
            print(f"\nexample, {what}: {m.col.label()}: shoal {m.shoal_v}, ClickHouse {m.ch_v}: {fmt_events(m.evs)}")
            shoal_sql, ch_sql = repro_sql(m.col, m.evs)
            print(f"  shoal query:      {shoal_sql}")
            print(f"  chdb:             {ch_sql}")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if counts["mismatch"] or ctx.variant_diffs else 0


def shrink_deliberate(m: Mismatch, ctx, kind: str) -> Mismatch:
    """Shrinks a known difference of the given kind, for the summary."""
    cur = m
    while cur.evs:
        sets = []
        for i in range(len(cur.evs)):
            s = EventSet(f"d{i:03d}")
            s.users["u0"] = cur.evs[:i] + cur.evs[i + 1 :]
            sets.append(s)
        sh, ch = ctx.evaluate(sets)
        for s in sets:
            key = (s.set_id, "u0")
            sv = normalise(sh.get(key, {}).get(cur.col.name))
            cv = normalise(ch.get(key, {}).get(cur.col.name))
            if classify(cur.col, s.users["u0"], sv, cv) == kind:
                cur = Mismatch(cur.col, s.users["u0"], sv, cv)
                break
        else:
            return cur
    return cur


if __name__ == "__main__":
    sys.exit(main())
