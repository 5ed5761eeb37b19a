#!/usr/bin/env bash
# Paired measurement: shoal's window_funnel (shoal_udaf.sql) and the plain
# DataFusion SQL (datafusion_window.sql) run alternately, A B A B …, on the
# data and scratch project run.sh made, so drift in the machine's load hits
# both. Prints each run's wall and CPU seconds (/usr/bin/time), the medians,
# and the median of the per-pair ratios A/B.
#
#   benches/funnel/run.sh            # once: generates the data and the project
#   benches/funnel/paired.sh         # then: 5 pairs after one warm-up pair
#   benches/funnel/paired.sh --pairs 9 --small
#
# Options:
#   --pairs N   counted pairs (default 5)
#   --small     use the --small data set of run.sh
#   --data DIR  run.sh's --data (default ${TMPDIR:-/tmp}/shoal-bench-funnel)
#
# Environment: SHOAL_BIN, the shoal binary (default $CARGO_TARGET_DIR/release/shoal).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pairs=5
size=full
data_root="${TMPDIR:-/tmp}/shoal-bench-funnel"
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) pairs="$2"; shift ;;
    --small) size=small ;;
    --data) data_root="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "paired.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$pairs" in ''|*[!0-9]*|0) echo "paired.sh: --pairs needs a positive number" >&2; exit 2 ;; esac
SHOAL_BIN="${SHOAL_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/shoal}"
proj="$data_root/$size/project"
[ -x "$SHOAL_BIN" ] || { echo "paired.sh: SHOAL_BIN=$SHOAL_BIN is not an executable" >&2; exit 1; }
[ -d "$proj" ] || { echo "paired.sh: no project in $proj; run benches/funnel/run.sh${size/full/} first" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# One run: "wall cpu" (cpu = user + sys) appended to $2.
timed() { # SQLFILE STATSFILE
  /usr/bin/time -f "%e %U %S" -o "$tmp/t" \
    "$SHOAL_BIN" -q --project-dir "$proj" query --format csv -- "$(cat "$1")" > /dev/null
  awk '{ printf "%s %.2f\n", $1, $2 + $3 }' "$tmp/t" >> "$2"
}
median() { sort -g | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); if (NR % 2) print v[m]; else printf "%.4f\n", (v[m] + v[m + 1]) / 2 }'; }

a="$here/shoal_udaf.sql" b="$here/datafusion_window.sql"
timed "$a" /dev/null; timed "$b" /dev/null # warm-up pair
for i in $(seq 1 "$pairs"); do
  timed "$a" "$tmp/a"; timed "$b" "$tmp/b"
  echo "pair $i: A $(sed -n "${i}p" "$tmp/a")  B $(sed -n "${i}p" "$tmp/b")  (wall cpu)" >&2
done
paste "$tmp/a" "$tmp/b" | awk '{ printf "%.4f %.4f\n", $1 / $3, $2 / $4 }' > "$tmp/r"
echo
echo "paired: A = shoal window_funnel, B = DataFusion SQL (window fns); $pairs pairs after a warm-up, $(nproc) cores"
printf '| %-8s | %10s | %10s | %18s |\n' "" "A median" "B median" "A/B (median pair)"
printf '|%s|%s:|%s:|%s:|\n' "----------" "-----------" "-----------" "-------------------"
printf '| %-8s | %10s | %10s | %18s |\n' "wall s" "$(awk '{print $1}' "$tmp/a" | median)" "$(awk '{print $1}' "$tmp/b" | median)" "$(awk '{print $1}' "$tmp/r" | median)"
printf '| %-8s | %10s | %10s | %18s |\n' "CPU s" "$(awk '{print $2}' "$tmp/a" | median)" "$(awk '{print $2}' "$tmp/b" | median)" "$(awk '{print $2}' "$tmp/r" | median)"
