#!/usr/bin/env bash
# Memoization: a 10,000-task workflow (every task memoized, each with distinct inputs) run
# twice on the same state directory with `weft run` (embedded scheduler, 2 workers x 2
# slots, durable catalogue). The first run computes and records every task; the second is
# all cache hits, with no dispatch. Prints the machine, both wall times and their ratio.
#
#   bench/cache-bench.sh [BUILD_DIR] [TASKS]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-10000}
bin="$build/bin"
. "$root/bench/lib.sh"
bench_need_build
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

bench_header "weft run --workers 2 --slots 2"

{ echo "workflow: bench-cache"; echo "defaults: { cache: true }"; echo "tasks:"
  for i in $(seq 1 "$n"); do echo "  t$i: { type: echo, with: { i: $i } }"; done; } >"$T/wf.yaml"

now_ms() { date +%s%3N; }
run_once() {
    local t0 t1
    t0=$(now_ms)
    "$bin/weft" run "$T/wf.yaml" --state "$T/state" --workers 2 --slots 2 --json >"$T/out.json"
    t1=$(now_ms)
    echo $((t1 - t0))
}
first=$(run_once)
second=$(run_once)
q() { sqlite3 -batch -noheader "$T/state/catalog.db" "$1"; }
echo "first run:  $n tasks in ${first} ms ($(q "SELECT count(*) FROM attempts WHERE run_id = 1") attempts," \
     "$(q "SELECT count(*) FROM cache") cache entries recorded)"
echo "second run: $n tasks in ${second} ms ($(q "SELECT count(*) FROM attempts WHERE run_id = 2") attempts," \
     "$(q "SELECT count(*) FROM tasks WHERE run_id = 2 AND source = 'cache'") cache hits)"
awk -v a="$first" -v b="$second" 'BEGIN {printf "second / first: %.3f (%.1fx faster)\n", b / a, a / b}'
