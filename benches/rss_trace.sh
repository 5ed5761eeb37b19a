#!/usr/bin/env bash
# Peak memory of a shoal run, and which models were running at the peak.
# Runs the given shoal command with JSON logs, samples its resident set size
# (VmRSS) every 0.5 s, then prints the largest sample of every 10 s with the
# models running at that time (from each model's log line: end time and
# duration), and the overall peak.
#
#   benches/rss_trace.sh OUT -- SHOAL_BIN [shoal options] run [run options]
#
# e.g., on the data benches/run.sh made:
#   benches/rss_trace.sh /tmp/trace -- "$CARGO_TARGET_DIR/release/shoal" \
#     --project-dir $data/project --threads 2 --memory-limit 2GiB \
#     run --full-refresh --ds 2026-11-29 --set output.location=/tmp/trace.out \
#     --select +funnel_events
#
# Writes OUT.log (the run's stderr) and OUT.rss ("epoch-seconds KiB" lines).
set -euo pipefail

[ $# -ge 3 ] && [ "$2" = "--" ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
out="$1"
shift 2
bin="$1"
shift

"$bin" --log-format json "$@" > /dev/null 2> "$out.log" &
pid=$!
while kill -0 "$pid" 2> /dev/null; do
  echo "$(date +%s.%N) $(awk '/VmRSS/ { print $2 }' "/proc/$pid/status" 2> /dev/null)"
  sleep 0.5
done > "$out.rss"
wait "$pid" || echo "rss_trace.sh: the run exited with $?" >&2

python3 - "$out" <<'PY'
import collections, datetime, json, sys

out = sys.argv[1]
runs = []  # (start, end, model)
for line in open(out + ".log"):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if "model" in d and "ms" in d:
        end = datetime.datetime.fromisoformat(d["timestamp"].replace("Z", "+00:00")).timestamp()
        runs.append((end - d["ms"] / 1000, end, d["model"]))
samples = [(float(t), int(k)) for t, k in (l.split() for l in open(out + ".rss")) if k.isdigit()]
if not samples:
    sys.exit("rss_trace.sh: no sample")
t0 = samples[0][0]
peaks = collections.defaultdict(int)
for t, kib in samples:
    w = int((t - t0) // 10)
    peaks[w] = max(peaks[w], kib)
for w in sorted(peaks):
    mid = t0 + w * 10 + 5
    running = " ".join(m for s, e, m in runs if s <= mid <= e)
    print(f"{w * 10:5d} s  {peaks[w] / 1048576:5.2f} GiB  {running}")
print(f"peak {max(k for _, k in samples) / 1048576:.2f} GiB")
PY
