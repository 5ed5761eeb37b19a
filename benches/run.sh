#!/usr/bin/env bash
# Whole-pack benchmark (issue 5): shoal against DuckDB running the same model
# pack on the same Parquet, in the same run. On generated events of N + 1
# days (day D = the N-th day, D + 1 = the "new" day) it times
#   1. the scan floor: one `shoal query` reading and decoding once every
#      events column the pack uses, up to D (benches/scan_floor.sql);
#   2. `shoal run --full-refresh --ds D`: the whole pack (sql/) from every
#      partition <= D, into a fresh output directory;
#   3. the nightly incremental `shoal run --ds D+1` on top of the committed
#      outputs of 2 (a copy of them per run: it reads the D+1 partition plus
#      the late window and the committed history);
#   4. benches/duckdb/pack.py: the pack rewritten for DuckDB, full refresh
#      for D, same threads and memory limit, writing every table to Parquet;
#   5. the full refresh of 2 with output.format=parquet (plain folders, no
#      Delta log): the ratio Delta / plain Parquet is what the log costs;
# each as a whole process (/usr/bin/time: wall seconds and peak RSS): one
# warm-up run, then the median of --runs runs, interleaved (one of each per
# round) so drift in the machine's load spreads over all of them. Prints one
# table with the ratios shoal/DuckDB, shoal/scan floor and incremental/full.
#
#   SHOAL_BIN=target/release/shoal benches/run.sh               # ~100 M events (640,000 users x 91 days)
#   benches/run.sh --small                                      # ~10 M events (64,000 users)
#   benches/run.sh --users 8000 --runs 3 --check                # ~1.2 M events, and compare the outputs
#
# Options:
#   --small              ~10 M events (64,000 users x 91 days) instead of ~100 M (640,000 x 91)
#   --users N            users to generate (overrides the size; ~156 events per user over 91 days)
#   --days N             days committed before the incremental day (default 90; N + 1 are generated)
#   --runs N             timed runs of each after the warm-up (default 3)
#   --memory-limit SIZE  shoal --memory-limit and DuckDB memory_limit (default 2GiB)
#   --threads N          shoal --threads and DuckDB threads (default: number of cores)
#   --data DIR           where the data, the scratch project and the outputs go
#                        (default ${TMPDIR:-/tmp}/shoal-bench-pack); data is reused when present
#   --no-warmup          one timed run of each and no warm-up (for the ~100 M-event
#                        size, where a warm-up round costs a quarter of an hour);
#                        the files are then not in the page cache for the first
#                        command, so the scan floor and the first run pay the reads
#   --check              after the warm-up, compare DuckDB's tables with shoal's
#                        (benches/duckdb/check.py): differences are printed, and the
#                        script exits 1 after its report
#
# Environment:
#   SHOAL_BIN   the shoal binary (default: $CARGO_TARGET_DIR/release/shoal, built
#               with `cargo build --release` when SHOAL_BIN is unset)
#   PY_PEER     the Python that runs the DuckDB port (duckdb, pyyaml, jinja2, numpy;
#               default: the interpreter .ci/bench-env prints, DuckDB 2.0)
#   PY          the Python of --check (DuckDB with the delta extension reads shoal's
#               Delta tables; default: the interpreter .ci/pyenv prints)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

users=640000
days=90
seed=1
runs=3
size=full
memory_limit=2GiB
threads="$(nproc)"
check=0
warmup=1
data_root="${TMPDIR:-/tmp}/shoal-bench-pack"

while [ $# -gt 0 ]; do
  case "$1" in
    --small) users=64000; size=small ;;
    --users) users="$2"; size="users$2"; shift ;;
    --days) days="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    --memory-limit) memory_limit="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    --data) data_root="$2"; shift ;;
    --check) check=1 ;;
    --no-warmup) warmup=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for v in runs users days threads; do
  case "${!v}" in ''|*[!0-9]*|0) echo "run.sh: --$v needs a positive number" >&2; exit 2 ;; esac
done

die() { echo "run.sh: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------
if [ -z "${SHOAL_BIN:-}" ]; then
  echo "building shoal (cargo build --release) ..." >&2
  (cd "$root" && cargo build --release --quiet)
  SHOAL_BIN="${CARGO_TARGET_DIR:-$root/target}/release/shoal"
fi
[ -x "$SHOAL_BIN" ] || die "SHOAL_BIN=$SHOAL_BIN is not an executable"
PY_PEER="${PY_PEER:-$("$root/.ci/bench-env")}"
"$PY_PEER" -c 'import duckdb, yaml, jinja2, numpy' 2>/dev/null || die "$PY_PEER lacks duckdb, pyyaml, jinja2 or numpy (see .ci/bench-env)"
if [ "$check" = 1 ]; then
  PY="${PY:-$("$root/.ci/pyenv")}"
  "$PY" -c 'import duckdb, yaml' 2>/dev/null || die "$PY lacks duckdb or pyyaml (see .ci/pyenv)"
fi
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is needed for wall time and peak RSS"

# --- data -------------------------------------------------------------------
start=2026-09-01
ds="$(date -u -d "$start + $((days - 1)) days" +%F)"      # the full refresh's day D
next="$(date -u -d "$start + $days days" +%F)"             # the incremental day D + 1
data="$data_root/$size-$days"
events="$data/events"
stamp="$data/.generated"
want="users=$users days=$((days + 1)) start=$start seed=$seed bin=$("$SHOAL_BIN" --version)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "generating $users users x $((days + 1)) days in $data ..." >&2
  rm -rf "$data"
  mkdir -p "$data"
  "$SHOAL_BIN" -q generate --out "$data" --users "$users" --days "$((days + 1))" --start "$start" --seed "$seed" >&2
  echo "$want" > "$stamp"
fi
[ -d "$events/dt=$next" ] || die "no partition dt=$next in $events"

# A scratch project: the repo's config and models, events at the generated data.
proj="$data/project"
mkdir -p "$proj/config"
ln -sfn "$root/sql" "$proj/sql"
sed -e "s#^\(  events: *\){ location: [^,]*,#\1{ location: $events,#" \
    -e "s#^\(  users: *\){ location: [^,]*,#\1{ location: $data/users,#" \
    "$root/config/shoal.yaml" > "$proj/config/shoal.yaml"
grep -q "location: $events," "$proj/config/shoal.yaml" \
  || die "could not point sources.events.location at $events in $proj/config/shoal.yaml"

shoal() { "$SHOAL_BIN" -q --project-dir "$proj" --threads "$threads" --memory-limit "$memory_limit" "$@"; }
scan_sql="$(sed "s/{ds}/$ds/g" "$here/scan_floor.sql")"
n_events="$(shoal query --format csv -- "$scan_sql" | awk -F, 'NR == 2 { print $1 }')"
n_files="$(find "$events" -name '*.parquet' | wc -l)"
bytes="$(du -sb "$events" | awk '{ print $1 }')"
echo "data: $n_events events up to $ds (+ dt=$next), $users users, $n_files files, $((bytes / 1048576)) MiB in $events" >&2

work="$data/runs"
rm -rf "$work"
mkdir -p "$work"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- what is timed ----------------------------------------------------------
# name | command; $out is a fresh directory per run
names=("scan floor (shoal query)" "shoal full refresh" "shoal incremental (D+1)" "DuckDB full refresh" "shoal full, plain Parquet")
cmd_scan() { shoal query --format csv -- "$scan_sql" > /dev/null; }
cmd_full() { shoal run --full-refresh --ds "$ds" --set "output.location=$1"; }
cmd_incr() { shoal run --ds "$next" --set "output.location=$1"; }
cmd_duck() {
  "$PY_PEER" "$here/duckdb/pack.py" --events "$events" --ds "$ds" --out "$1" --config "$proj/config/shoal.yaml" \
    --threads "$threads" --memory-limit "$memory_limit"
}
# The same full refresh writing plain Parquet folders instead of Delta
# tables: what the transaction log costs.
cmd_plain() { shoal run --full-refresh --ds "$ds" --set "output.location=$1" --set output.format=parquet; }
cmds=(cmd_scan cmd_full cmd_incr cmd_duck cmd_plain)

# One timed run: "wall_s peak_rss_kib cpu_s [query_s]" appended to $3.
export SHOAL_BIN proj threads memory_limit scan_sql ds next events PY_PEER here
export -f shoal "${cmds[@]}"
# A run killed by a signal is retried once, and the retry is noted (DuckDB
# 1.4.1 crashed with a segmentation fault in about one full-pack run in ten
# here; pack.py prints the Python stack of a crash).
crashes=0
timed() { # I OUTDIR STATSFILE
  local attempt
  for attempt in 1 2; do
    if /usr/bin/time -f "%e %M %U %S" -o "$tmp/time" bash -c "${cmds[$1]} '$2'" > "$tmp/stdout" 2> "$tmp/stderr"; then
      break
    fi
    local status
    status="$(sed -n 's/^Command \(exited with non-zero status\|terminated by signal\) \([0-9]*\).*/\1 \2/p' "$tmp/time")"
    cat "$tmp/stderr" >&2
    if [ "$attempt" = 1 ] && grep -q "signal\|status 13[0-9]" <<< "$status"; then
      echo "  ${names[$1]} crashed ($status); retrying once" >&2
      crashes=$((crashes + 1))
      rm -rf "$2"
      if [ "$1" = 2 ]; then cp -a "$work/1.warmup" "$2"; else mkdir -p "$2"; fi
      continue
    fi
    die "failed: ${names[$1]} (output in $2)"
  done
  echo "$(awk '{ printf "%s %s %.2f", $1, $2, $3 + $4 }' "$tmp/time") $(sed -n 's/^query_seconds=//p' "$tmp/stderr" | tail -1)" >> "$3"
}

# An output directory for run I of command C; the incremental run starts
# from a copy of the warm-up's full refresh (its committed days).
prepare() { # C R -> prints the directory
  local dir="$work/$1.$2"
  rm -rf "$dir"
  if [ "$1" = 2 ]; then cp -a "$work/1.warmup" "$dir"; else mkdir -p "$dir"; fi
  echo "$dir"
}

# Without a warm-up its round is the one timed run (the incremental run
# still needs the full refresh's outputs first, hence the order).
if [ "$warmup" = 1 ]; then echo "warm-up ..." >&2; round=warmup; else round=stats; runs=1; fi
for i in 0 1 3 4 2; do
  echo "  ${names[$i]} ..." >&2
  timed "$i" "$(prepare "$i" warmup)" "$tmp/$round.$i"
done

check_note=""
check_failed=0
if [ "$check" = 1 ]; then
  echo "check: DuckDB's tables against shoal's (full refresh for $ds) ..." >&2
  if "$PY" "$here/duckdb/check.py" --duckdb "$work/3.warmup" --warehouse "$work/1.warmup" --ds "$ds" > "$tmp/check" 2>&1; then
    check_note="check: every table of the DuckDB port equals shoal's ($(tail -1 "$tmp/check"))"
  else
    check_note="check: DIFFERENCES between the DuckDB port and shoal (see the check's output above: $(tail -1 "$tmp/check"))"
    check_failed=1
  fi
  cat "$tmp/check" >&2
fi

for r in $(seq 1 "$([ "$warmup" = 1 ] && echo "$runs" || echo 0)"); do
  for i in "${!names[@]}"; do
    echo "run $r/$runs: ${names[$i]} ..." >&2
    dir="$(prepare "$i" "$r")"
    timed "$i" "$dir" "$tmp/stats.$i"
    [ "$i" = 0 ] || rm -rf "$dir"
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit; m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.3f\n", (v[m] + v[m + 1]) / 2 }'; }
wall() { awk '{ print $1 }' "$tmp/stats.$1" | median; }
rss() { awk '{ print $2 }' "$tmp/stats.$1" | median; }
cpu() { awk '{ print $3 }' "$tmp/stats.$1" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "whole-pack benchmark: $n_events events up to $ds ($users users x $days days, seed $seed, $((bytes / 1048576)) MiB of Parquet); incremental day $next"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "threads $threads, memory limit $memory_limit; $("$SHOAL_BIN" --version), duckdb $("$PY_PEER" -c 'import duckdb; print(duckdb.__version__)'); $([ "$warmup" = 1 ] && echo "median of $runs runs after a warm-up" || echo "one run each, no warm-up")"
echo
printf '| %-28s | %13s | %14s | %12s | %12s | %12s |\n' "what" "median wall s" "min-max wall s" "CPU s (u+s)" "peak RSS MiB" "query only s"
printf '|%s|%s:|%s:|%s:|%s:|%s:|\n' "$(printf -- '-%.0s' {1..30})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..15})" "$(printf -- '-%.0s' {1..13})" "$(printf -- '-%.0s' {1..13})" "$(printf -- '-%.0s' {1..13})"
for i in "${!names[@]}"; do
  lo="$(awk '{ print $1 }' "$tmp/stats.$i" | sort -n | head -1)"
  hi="$(awk '{ print $1 }' "$tmp/stats.$i" | sort -n | tail -1)"
  query="$(awk 'NF >= 4 { print $4 }' "$tmp/stats.$i" | median)"
  printf '| %-28s | %13.2f | %14s | %12.2f | %12.0f | %12s |\n' "${names[$i]}" "$(wall "$i")" "$lo-$hi" "$(cpu "$i")" \
    "$(awk -v k="$(rss "$i")" 'BEGIN { print k / 1024 }')" "${query:--}"
done
echo
echo "| ratio | value | target |"
echo "|---|--:|---|"
echo "| shoal full refresh / DuckDB | $(ratio "$(wall 1)" "$(wall 3)") | <= 0.5 |"
echo "| same, CPU time | $(ratio "$(cpu 1)" "$(cpu 3)") | |"
echo "| shoal full refresh / scan floor | $(ratio "$(wall 1)" "$(wall 0)") | <= 3 |"
echo "| shoal incremental / shoal full refresh | $(ratio "$(wall 2)" "$(wall 1)") | <= 0.05 |"
echo "| shoal full refresh, Delta / plain Parquet | $(ratio "$(wall 1)" "$(wall 4)") | <= 1.05 |"
# the memory limit in GiB (2GiB, 1536MiB, 2G, ...), and the peak it allows: +10 %
limit_gib="$(awk -v m="$memory_limit" 'BEGIN { v = m + 0; if (m ~ /[Mm]/) v /= 1024; else if (m ~ /[Kk]/) v /= 1048576; printf "%.2f", v }')"
gib() { awk -v k="$(rss "$1")" 'BEGIN { printf "%.2f", k / 1048576 }'; }
echo "| shoal full refresh peak RSS, GiB | $(gib 1) | <= $(awk -v l="$limit_gib" 'BEGIN { printf "%.2f", l * 1.1 }') (memory limit $memory_limit + 10 %) |"
echo "| DuckDB full refresh peak RSS, GiB | $(gib 3) | (same memory_limit) |"
# Where the full refresh spends its time and memory: the run records of the
# warm-up (or only) full refresh, the day before's run first when it had one.
echo
echo "where the full refresh goes (run records of $work/1.warmup: wall s, and the process's largest RSS while the model ran, GiB):"
python3 - "$work/1.warmup/_shoal/runs" <<'PY'
import glob, json, sys
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    r = json.load(open(path))
    ms = [m for m in r["models"] if m.get("duration_ms")]
    peak = r.get("peak_rss_bytes")
    print(f"  run of {r['ds']} ({len(ms)} models, process peak {peak / 2**30:.2f} GiB)" if peak else f"  run of {r['ds']} ({len(ms)} models)")
    slow = sorted(ms, key=lambda m: -m["duration_ms"])[:6]
    print("    longest: " + ", ".join(f"{m['name']} {m['duration_ms'] / 1000:.1f}" for m in slow))
    big = sorted((m for m in ms if m.get("rss_bytes")), key=lambda m: -m["rss_bytes"])[:6]
    if big:
        print("    largest RSS: " + ", ".join(f"{m['name']} {m['rss_bytes'] / 2**30:.2f}" for m in big))
PY
[ -z "$check_note" ] || { echo; echo "$check_note"; }
[ "$crashes" = 0 ] || { echo; echo "note: $crashes run(s) crashed and were retried once (see the log above)"; }
if [ "$check_failed" = 1 ]; then
  die "--check: the DuckDB port's tables differ from shoal's (outputs kept in $work/3.warmup and $work/1.warmup)"
fi
