#!/usr/bin/env bash
# Scaling of the model pack on a Ballista cluster on one machine:
# the local engine, then 1 and 2 executors (`shoal scheduler` / `shoal executor`
# on 127.0.0.1), each a first build (all history) and a nightly rerun.
#
#   benches/ballista_scaling.sh [PROJECT_DIR] [VCORES_PER_EXECUTOR]
#
# PROJECT_DIR defaults to the repository (sample data in data/). Prints one
# line per run: setup, kind, wall seconds. Needs a release build
# (target/release/shoal, or $SHOAL).
set -euo pipefail
cd "$(dirname "$0")/.."
proj=${1:-.}
vcores=${2:-2}
shoal=${SHOAL:-${CARGO_TARGET_DIR:-target}/release/shoal}
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

wait_port() { for _ in $(seq 1 300); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }

timed() { # label kind args...
  local label=$1 kind=$2; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  "$shoal" --project-dir "$proj" -q "$@"
  t1=$(date +%s.%N)
  printf '%-34s %-12s %6.1f s\n' "$label" "$kind" "$(echo "$t1 - $t0" | bc)"
}

run_pair() { # label extra-args...
  local label=$1; shift
  local out="$tmp/wh-$(echo "$label" | tr -c 'a-z0-9' '_')"
  timed "$label" first-build run --set "output.location=$out" "$@"
  timed "$label" nightly run --set "output.location=$out" "$@"
}

run_pair "local (2 threads)"

start_cluster() { # n_executors
  local port=$((50050 + RANDOM % 1000))
  "$shoal" --project-dir "$proj" -q scheduler --bind 127.0.0.1:$port & pids+=($!)
  wait_port $port
  for i in $(seq 1 "$1"); do
    local f=$((port + 10 * i)) g=$((port + 10 * i + 1))
    "$shoal" --project-dir "$proj" -q executor --scheduler 127.0.0.1:$port --bind-host 127.0.0.1 \
      --external-host 127.0.0.1 --port $f --grpc-port $g --vcores "$vcores" --work-dir "$tmp/exec-$port-$i" & pids+=($!)
    wait_port $f
  done
  sleep 1
  engine="ballista://127.0.0.1:$port"
}

stop_cluster() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }

for n in 1 2; do
  start_cluster "$n"
  run_pair "ballista, $n executor(s) x $vcores vcores" --engine "$engine" --set "run.target_partitions=$((n * vcores))"
  stop_cluster
done
