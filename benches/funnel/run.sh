#!/usr/bin/env bash
# Benchmark: the 4-step purchase funnel (exposure -> click -> add_to_cart ->
# purchase, 7-day window, mode '') over all generated events, grouped by
# user, as the distribution of users per level 0..4, computed by
#   a. shoal's window_funnel UDAF            (shoal_udaf.sql, via shoal query)
#   b. plain DataFusion SQL, no UDAF         (datafusion_window.sql, via shoal query)
#   c. DuckDB                                (duckdb.sql: ASOF joins; duckdb_window.sql)
#   d. ClickHouse windowFunnel through chDB  (chdb.sql)
# on the same Parquet files. Checks that every formulation gives the same
# distribution (exit 1 if not), then times each as a whole process: one
# warm-up run, then the median of --runs runs (wall seconds and peak RSS
# from /usr/bin/time), with the ratio to shoal's window_funnel. For DuckDB and
# chDB the query's own time inside the Python process (without interpreter
# start and import) is printed too.
#
#   benches/funnel/run.sh                 # >= 20 M events (generated once, ~400 MB)
#   benches/funnel/run.sh --small         # ~2 M events, for a quick run
#   benches/funnel/run.sh --runs 5 --with-selfjoin
#
# Options:
#   --small            ~2 M events (22,000 users x 30 days) instead of ~21 M (230,000 x 30)
#   --runs N           timed runs per formulation after the warm-up (default 3)
#   --data DIR         where the data and the scratch project go
#                      (default ${TMPDIR:-/tmp}/shoal-bench-funnel); reused when present
#   --with-selfjoin    also time datafusion_selfjoin.sql (one join per step; slower than
#                      the window formulation on --small, and its joins grow with
#                      exposures x clicks per user, so off by default)
#   --no-refs          skip the reference rows (scan and group-by floors)
#
# Environment:
#   SHOAL_BIN   the shoal binary (default: $CARGO_TARGET_DIR/release/shoal, built
#               with `cargo build --release` when SHOAL_BIN is unset)
#   PY          a Python with duckdb, chdb (default: the interpreter .ci/bench-env prints,
#               DuckDB 2.0 and chDB)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

users=230000
days=30
seed=1
runs=3
size=full
with_selfjoin=0
refs=1
data_root="${TMPDIR:-/tmp}/shoal-bench-funnel"

while [ $# -gt 0 ]; do
  case "$1" in
    --small) users=22000; size=small ;;
    --runs) runs="$2"; shift ;;
    --data) data_root="$2"; shift ;;
    --with-selfjoin) with_selfjoin=1 ;;
    --no-refs) refs=0 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$runs" in ''|*[!0-9]*|0) echo "run.sh: --runs needs a positive number" >&2; exit 2 ;; esac

die() { echo "run.sh: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------
if [ -z "${SHOAL_BIN:-}" ]; then
  echo "building shoal (cargo build --release) ..." >&2
  (cd "$root" && cargo build --release --quiet)
  SHOAL_BIN="${CARGO_TARGET_DIR:-$root/target}/release/shoal"
fi
[ -x "$SHOAL_BIN" ] || die "SHOAL_BIN=$SHOAL_BIN is not an executable"
PY="${PY:-$("$root/.ci/bench-env")}"
"$PY" -c 'import duckdb, chdb' 2>/dev/null || die "$PY lacks duckdb or chdb (see .ci/bench-env)"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is needed for wall time and peak RSS"

# --- data -------------------------------------------------------------------
data="$data_root/$size"
events="$data/events"
stamp="$data/.generated"
want="users=$users days=$days seed=$seed bin=$("$SHOAL_BIN" --version)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "generating $size data set ($users users x $days days) in $data ..." >&2
  rm -rf "$data"
  mkdir -p "$data"
  "$SHOAL_BIN" -q generate --out "$data" --users "$users" --days "$days" --seed "$seed" >&2
  echo "$want" > "$stamp"
fi

# A scratch project whose events source is the generated data.
proj="$data/project"
mkdir -p "$proj/config" "$proj/sql"
sed -e "s#^\(  events: *\){ location: [^,]*,#\1{ location: $events,#" \
    -e "s#^\(  users: *\){ location: [^,]*,#\1{ location: $data/users,#" \
    "$root/config/shoal.yaml" > "$proj/config/shoal.yaml"
grep -q "location: $events," "$proj/config/shoal.yaml" \
  || die "could not point sources.events.location at $events in $proj/config/shoal.yaml"

shoal_query() { # FILE: runs the SQL file through shoal query, CSV on stdout
  "$SHOAL_BIN" -q --project-dir "$proj" query --format csv -- "$(cat "$1")"
}

n_events="$(shoal_query "$here/scan_floor.sql" | awk -F, 'NR == 2 { print $1 }')"
n_all="$("$SHOAL_BIN" -q --project-dir "$proj" query --format csv -- \
  'select count(*) as n from events' | sed -n 2p)"
echo "data: $n_all events ($n_events with a user_id) in $events" >&2
if [ "$size" = full ] && [ "$n_all" -lt 20000000 ]; then
  die "the full data set has only $n_all events (< 20 M): raise users in run.sh"
fi

# --- formulations -----------------------------------------------------------
# name | command (run with the SQL file's output as CSV "level,users" on stdout)
names=()
cmds=()
add() { names+=("$1"); cmds+=("$2"); }
add "shoal window_funnel"           "shoal_query $here/shoal_udaf.sql"
add "DataFusion SQL, window fns"    "shoal_query $here/datafusion_window.sql"
[ "$with_selfjoin" = 1 ] && add "DataFusion SQL, self-joins" "shoal_query $here/datafusion_selfjoin.sql"
add "DuckDB, ASOF joins"            "$PY $here/engine.py duckdb $here/duckdb.sql $events"
add "DuckDB, window fns"            "$PY $here/engine.py duckdb $here/duckdb_window.sql $events"
add "ClickHouse windowFunnel (chDB)" "$PY $here/engine.py chdb $here/chdb.sql $events"
n_funnels=${#names[@]}
if [ "$refs" = 1 ]; then
  add "ref: shoal scan floor"       "shoal_query $here/scan_floor.sql"
  add "ref: shoal group-by floor"   "shoal_query $here/groupby_floor.sql"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The level distribution as "0=n 1=n 2=n 3=n 4=n" (missing levels are 0).
normalise() {
  awk -F, 'NR > 1 && NF == 2 { n[$1 + 0] = $2 + 0 }
           END { for (l = 0; l <= 4; l++) printf "%s%d=%d", (l ? " " : ""), l, n[l] + 0; print "" }'
}

# One timed run: wall seconds and peak RSS (KiB) appended to $2.
timed() { # CMD OUTFILE STATSFILE
  /usr/bin/time -f "%e %M" -o "$tmp/time" bash -c "$(declare -f shoal_query); SHOAL_BIN='$SHOAL_BIN' proj='$proj' $1" > "$2" 2> "$tmp/stderr" \
    || { cat "$tmp/stderr" >&2; die "failed: $1"; }
  # wall s, peak RSS KiB, and the in-process query seconds engine.py reports ("-" for shoal)
  echo "$(cat "$tmp/time") $(sed -n 's/^query_seconds=//p' "$tmp/stderr" | tail -1)" >> "$3"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit; m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.3f\n", (v[m] + v[m + 1]) / 2 }'; }

# Warm-up and correctness: every funnel formulation's distribution must match.
expected=""
for i in $(seq 0 $((n_funnels - 1))); do
  echo "check: ${names[$i]} ..." >&2
  timed "${cmds[$i]}" "$tmp/out.$i" /dev/null
  got="$(normalise < "$tmp/out.$i")"
  echo "  $got" >&2
  if [ -z "$expected" ]; then
    expected="$got"
  elif [ "$got" != "$expected" ]; then
    echo "MISMATCH: ${names[$i]} gives $got, ${names[0]} gives $expected" >&2
    echo "--- ${names[0]}:" >&2; cat "$tmp/out.0" >&2
    echo "--- ${names[$i]}:" >&2; cat "$tmp/out.$i" >&2
    exit 1
  fi
done
for i in $(seq "$n_funnels" $((${#names[@]} - 1))); do
  timed "${cmds[$i]}" /dev/null /dev/null # warm-up
done

# Timed runs, interleaved (one of each formulation per round) so drift in
# the machine's load spreads over all of them.
for r in $(seq 1 "$runs"); do
  for i in "${!names[@]}"; do
    echo "run $r/$runs: ${names[$i]} ..." >&2
    timed "${cmds[$i]}" /dev/null "$tmp/stats.$i"
  done
done

base="$(awk '{ print $1 }' "$tmp/stats.0" | median)"
echo
echo "window_funnel benchmark: $n_all events, $users users x $days days (seed $seed), levels: $expected"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM; median of $runs runs after a warm-up"
echo
printf '| %-32s | %13s | %15s | %13s | %18s | %15s |\n' "formulation" "median wall s" "min-max wall s" "peak RSS MiB" "ratio to shoal UDAF" "query only s"
printf '|%s|%s:|%s:|%s:|%s:|%s:|\n' "$(printf -- '-%.0s' {1..34})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..16})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..19})" "$(printf -- '-%.0s' {1..16})"
for i in "${!names[@]}"; do
  wall="$(awk '{ print $1 }' "$tmp/stats.$i" | median)"
  lo="$(awk '{ print $1 }' "$tmp/stats.$i" | sort -n | head -1)"
  hi="$(awk '{ print $1 }' "$tmp/stats.$i" | sort -n | tail -1)"
  rss="$(awk '{ print $2 }' "$tmp/stats.$i" | median)"
  query="$(awk 'NF >= 3 { print $3 }' "$tmp/stats.$i" | median)"
  printf '| %-32s | %13.2f | %15s | %13.0f | %18.2f | %15s |\n' "${names[$i]}" "$wall" "$lo-$hi" \
    "$(echo "$rss / 1024" | bc -l)" "$(echo "$wall / $base" | bc -l)" "${query:--}"
done
echo
echo "All ${n_funnels} funnel formulations gave the same level distribution."
