#!/usr/bin/env bash
# Garbage collection: a store holding LIVE referenced blobs (the files of a directory
# parameter of one run, so gc reads a manifest of LIVE entries) and GARBAGE unreferenced
# blobs older than the grace period. Times `weft gc --dry-run` (mark and list) and `weft gc`
# (mark, list and remove). Prints the machine and both times.
#
#   bench/gc-bench.sh [BUILD_DIR] [LIVE] [GARBAGE]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
live=${2:-20000}
garbage=${3:-20000}
bin="$build/bin"
. "$root/bench/lib.sh"
bench_need_build
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

bench_header

mkdir -p "$T/data"
python3 - "$T/data" "$live" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "f%06d" % i), "w") as f:
        f.write("live file %d\n" % i)
PY
cat >"$T/wf.yaml" <<'YAML'
workflow: bench-gc
params:
  d: { type: dir }
tasks:
  count:
    type: shell
    with:
      argv: [sh, -c, 'ls "$D" | wc -l']
      env: { D: "${params.d}" }
YAML
"$bin/weft" run "$T/wf.yaml" -p d="$T/data" --state "$T/state" >/dev/null
python3 - "$T/state/artifacts" "$garbage" <<'PY'
import hashlib, os, sys, time
root, n = sys.argv[1], int(sys.argv[2])
old = time.time() - 7200
for i in range(n):
    h = hashlib.blake2b(b"garbage %d" % i, digest_size=32).hexdigest()
    os.makedirs(os.path.join(root, h[:2]), exist_ok=True)
    p = os.path.join(root, h[:2], h[2:])
    with open(p, "w") as f:
        f.write("garbage %d" % i)
    os.utime(p, (old, old))
PY
now_ms() { date +%s%3N; }
t0=$(now_ms)
"$bin/weft" gc --state "$T/state" --dry-run --json >"$T/dry.json"
t1=$(now_ms)
"$bin/weft" gc --state "$T/state" --json >"$T/gc.json"
t2=$(now_ms)
jqn() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
echo "store: $(jqn "$T/dry.json" 'r["live"]') live blobs, $(jqn "$T/dry.json" 'r["removed"]["blobs"]') unreferenced"
echo "gc --dry-run: $((t1 - t0)) ms"
echo "gc:           $((t2 - t1)) ms ($(jqn "$T/gc.json" 'r["removed"]["blobs"]') blobs removed," \
     "$(jqn "$T/gc.json" 'r["live"]') live kept)"
