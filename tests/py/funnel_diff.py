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
  eight combinations of strict_order, strict_deduplication, strict_increase;
* retention(c1, c2, c3);
* sequence_match / sequenceMatch and sequence_count / sequenceCount for a
  few patterns (with and without time conditions).

Conditions (the same SQL in both engines; in ClickHouse wrapped in ifNull(…, 0)
so a NULL condition is false but the row still counts, as in shoal):
  c1: event_type = 'A'
  c2: event_type = 'B' or content_id = 'AB'   (rows matching two conditions)
  c3: event_type = 'C'
  c4: event_type = 'D'
Rows of type 'X' match nothing (they matter to strict_order); some rows have
a NULL event_time (ignored by both engines) or a NULL event_type.

Time resolution: event times are whole seconds (the Parquet column is
Timestamp(µs, UTC) with zero microseconds); ClickHouse gets toDateTime(…)
(DateTime, seconds), which is what its windowFunnel and sequenceMatch
document, so windows and (?t…) durations are seconds in both engines. A set
draws its times on a grid of 1 s or 360 s over 20 steps, so equal timestamps,
repeated steps and gaps exactly equal to a window (10 s, 3600 s) are common.

Known, documented differences are reported apart from real mismatches:
* sequence_match/sequence_count when two visible events of a user share a
  timestamp: ClickHouse sorts by time only with an unstable sort, so its
  answer depends on row order; shoal orders ties by condition (documented).
  These comparisons are skipped and counted.
* window_funnel with strict_increase: shoal returns the longest strictly
  increasing chain, ClickHouse's single pass can miss it (documented in
  src/functions/window_funnel.rs).
* window_funnel with strict_deduplication: ClickHouse up to 25.x (chDB 3.6
  embeds 25.5) returns, on a repeated step, the step number of the previous
  sorted entry instead of the level reached (e.g. A@10 D@15 B@17 with B also
  matching at 10 gives 4 though step 3 never happened); upstream ClickHouse
  fixed it (its source cites issue #37177) and returns the level reached, as
  shoal does.
Every window_funnel value is checked against two Python oracles written
here: a brute-force reference of shoal's documented semantics and an
emulation of ClickHouse's single pass (with and without that bug). A
difference counts as known only when shoal equals the reference and chDB
equals the emulation; anything else is a mismatch.

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
MODE_FLAGS = ["strict_order", "strict_deduplication", "strict_increase"]
MODES = [
    list(c) for r in range(len(MODE_FLAGS) + 1) for c in itertools.combinations(MODE_FLAGS, r)
]
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

    def clickhouse(self) -> str:
        c = {k: f"ifNull({v}, 0)" for k, v in CONDS.items()}
        t = "toDateTime(event_time, 'UTC')"
        if self.kind == "funnel":
            params = ", ".join([str(self.window)] + [f"'{m}'" for m in self.modes])
            return (
                f"coalesce(windowFunnel({params})({t}, "
                f"{c['c1']}, {c['c2']}, {c['c3']}, {c['c4']}), 0)"
            )
        if self.kind == "retention":
            return f"retention({c['c1']}, {c['c2']}, {c['c3']})"
        fn = "sequenceMatch" if self.kind == "match" else "sequenceCount"
        return f"coalesce({fn}('{self.pattern}')({t}, {c['c1']}, {c['c2']}, {c['c3']}), 0)"

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

    def conds(self) -> tuple[bool, bool, bool, bool]:
        ty = self.type
        return (ty == "A", ty == "B" or self.content == "AB", ty == "C", ty == "D")


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
            ty = None if rng.random() < 0.03 else rng.choice("AAABBBCCDDX")
            content = "AB" if rng.random() < 0.1 else None
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


def run_shoal(shoal: str, proj: Path, extra: list[str] | None = None) -> dict:
    select = ",\n  ".join(f"{c.shoal()} as {c.name}" for c in COLS)
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
    return {(r["set_id"], r["user_id"]): r for r in json.loads(res.stdout or "[]")}


def run_chdb(events_dir: Path) -> dict:
    select = ",\n  ".join(f"{c.clickhouse()} as {c.name}" for c in COLS)
    sql = (
        f"select community_id as set_id, user_id,\n  {select}\n"
        f"from file('{events_dir}/*/*.parquet', Parquet) group by community_id, user_id"
    )
    out = str(chdb.query(sql, "JSONEachRow"))
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {(r["set_id"], r["user_id"]): r for r in rows}


# --- reference and classification ---------------------------------------------


def funnel_entries(evs: list[Event], strict_order: bool) -> list[tuple[int, int]]:
    """The sorted (time, step) entries both engines build: one per true
    condition of a row with a time; (time, 0) for a row matching none, with
    strict_order."""
    out = []
    for e in evs:
        if e.t is None:
            continue
        steps = [k + 1 for k, c in enumerate(e.conds()) if c]
        if steps:
            out.extend((e.t, k) for k in steps)
        elif strict_order:
            out.append((e.t, 0))
    return sorted(out)


def emulate_clickhouse(evs: list[Event], window: int, modes, old_dedup_bug: bool, steps: int = 4) -> int:
    """ClickHouse's windowFunnel single pass (getEventLevelNonStrictOnce), in
    Python. old_dedup_bug: ClickHouse up to 25.x returned, on a repeated step
    under strict_deduplication, the step number of the previous entry instead
    of the level reached (fixed upstream, ClickHouse issue #37177)."""
    so, sd, si = ("strict_order" in modes, "strict_deduplication" in modes, "strict_increase" in modes)
    entries = funnel_entries(evs, so)
    if not entries:
        return 0
    ts: list[tuple[int, int] | None] = [None] * steps
    first_event = False

    def deepest() -> int:
        return max((k + 1 for k in range(steps) if ts[k] is not None), default=0)

    for i, (t, k) in enumerate(entries):
        idx = k - 1
        if so and idx == -1:
            if first_event:
                break
            continue
        if idx == 0:
            ts[0] = (t, t)
            first_event = True
        elif sd and ts[idx] is not None:
            return entries[i - 1][1] if old_dedup_bug else deepest()
        elif so and first_event and ts[idx - 1] is None:
            return next(k for k in range(steps) if ts[k] is None)
        elif ts[idx - 1] is not None:
            first, last = ts[idx - 1]
            ok = t <= first + window and (not si or last < t)
            if ok:
                ts[idx] = (first, t)
                if idx + 1 == steps:
                    return steps
    return deepest()


def reference_funnel(evs: list[Event], window: int, modes, steps: int = 4) -> int:
    """shoal's documented semantics (src/functions/window_funnel.rs), brute
    force: the level is the longest chain e1..ek (entry i for step i, in
    (time, step) order, times non-decreasing, strictly increasing with
    strict_increase, t_k <= t_1 + window) among the entries scanned; the scan
    stops (strict_deduplication) at a step-k entry, k >= 2, when level k is
    already reached, and (strict_order, after the first step-1 entry) at an
    entry matching no condition or a step-k entry while level k - 1 is not
    reached."""
    so, sd, si = ("strict_order" in modes, "strict_deduplication" in modes, "strict_increase" in modes)
    entries = funnel_entries(evs, so)

    def longest(prefix: list[tuple[int, int]]) -> int:
        best = 0
        for i, (t1, k) in enumerate(prefix):
            if k != 1:
                continue
            level, last_i, last_t = 1, i, t1
            for step in range(2, steps + 1):
                nxt = next(
                    (
                        j
                        for j in range(last_i + 1, len(prefix))
                        if prefix[j][1] == step
                        and (prefix[j][0] > last_t if si else True)
                        and prefix[j][0] <= t1 + window
                    ),
                    None,
                )
                if nxt is None:
                    break
                level, last_i, last_t = step, nxt, prefix[nxt][0]
            best = max(best, level)
        return best

    first_seen = False
    for i, (t, k) in enumerate(entries):
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
        if so and first_seen and before < k - 1:
            return before
    return longest(entries)


def visible_ties(evs: list[Event]) -> bool:
    """Whether two events visible to sequence_* (some of c1..c3 true, time not
    NULL) share a timestamp."""
    ts = [e.t for e in evs if e.t is not None and any(e.conds()[:3])]
    return len(ts) != len(set(ts))


def classify(col: Col, evs: list[Event], shoal_v, ch_v) -> str:
    """equal | skipped_ties | ch_dedup_bug | deliberate | mismatch."""
    if col.kind in ("match", "count") and visible_ties(evs):
        return "skipped_ties"
    if shoal_v == ch_v:
        return "equal"
    if col.kind != "funnel":
        return "mismatch"
    if shoal_v != reference_funnel(evs, col.window, col.modes):
        return "mismatch"
    old = emulate_clickhouse(evs, col.window, col.modes, old_dedup_bug=True)
    new = emulate_clickhouse(evs, col.window, col.modes, old_dedup_bug=False)
    if ch_v == old != new and shoal_v == new:
        return "ch_dedup_bug"
    if "strict_increase" in col.modes and ch_v in (old, new):
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
    rows = [(e.t, *[int(x) for x in e.conds()]) for e in evs]
    ev_null = [e.type is None for e in evs]
    if not rows:
        rows, ev_null = [(None, 0, 0, 0, 0)], [False]

    def sh_row(r, null_type):
        t = "cast(null as bigint)" if r[0] is None else str(r[0])
        cs = ["cast(null as boolean)" if null_type else ("true" if x else "false") for x in r[1:]]
        return f"({t}, {', '.join(cs)})"

    values = ", ".join(sh_row(r, n) for r, n in zip(rows, ev_null))
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
        f"select {call} as r from values('t Nullable(UInt32), c1 UInt8, c2 UInt8, c3 UInt8, c4 UInt8', "
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
            sv = normalise(sh.get(key, {}).get(cur.col.name, 0))
            cv = normalise(ch.get(key, {}).get(cur.col.name, 0))
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
    counts = {"equal": 0, "ch_dedup_bug": 0, "deliberate": 0, "skipped_ties": 0, "mismatch": 0}
    # Oracles checked on every funnel comparison, equal or not.
    oracle = {"shoal_vs_reference": 0, "chdb_vs_emulation": 0, "funnel": 0}
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
                        sv, cv = normalise(sh[key][col.name]), normalise(ch[key][col.name])
                        verdict = classify(col, evs, sv, cv)
                        counts[verdict] += 1
                        pc = per_col.setdefault(col.label(), {})
                        pc[verdict] = pc.get(verdict, 0) + 1
                        if col.kind == "funnel":
                            oracle["funnel"] += 1
                            if sv != reference_funnel(evs, col.window, col.modes):
                                oracle["shoal_vs_reference"] += 1
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
            f"  equal {counts['equal']}, chDB strict_deduplication bug (fixed upstream, #37177) "
            f"{counts['ch_dedup_bug']}, documented strict_increase difference {counts['deliberate']}, "
            f"skipped (sequence ties) {counts['skipped_ties']}, MISMATCH {counts['mismatch']}"
        )
        print(
            f"  window_funnel oracles over {oracle['funnel']} values: shoal != Python reference of its "
            f"documented semantics {oracle['shoal_vs_reference']}; chDB != Python emulation of "
            f"ClickHouse 25.x {oracle['chdb_vs_emulation']}"
        )
        print(
            f"  shoal under {len(SHOAL_VARIANTS)} other session settings "
            f"({'; '.join(' '.join(v) for v in SHOAL_VARIANTS)}): "
            f"{len(ctx.variant_diffs)} groups differ from the default run"
        )
        for extra, key, a, b in ctx.variant_diffs[:5]:
            print(f"    {extra}: {key}: default {a}, variant {b}")
        for label, pc in per_col.items():
            if set(pc) - {"equal", "skipped_ties"}:
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
            sv = normalise(sh.get(key, {}).get(cur.col.name, 0))
            cv = normalise(ch.get(key, {}).get(cur.col.name, 0))
            if classify(cur.col, s.users["u0"], sv, cv) == kind:
                cur = Mismatch(cur.col, s.users["u0"], sv, cv)
                break
        else:
            return cur
    return cur


if __name__ == "__main__":
    sys.exit(main())
