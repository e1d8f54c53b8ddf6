#!/usr/bin/env bash
# weft beside Dask distributed on the same shapes, in one run on this machine: 10,000
# independent no-op tasks and a chain of 1,000. Dask (Debian's python3-distributed, installed
# here when missing) runs a LocalCluster of 2 worker processes with 2 threads each and keeps
# everything in memory; weft runs bench/run-bench.sh (a scheduler and 2 workers x 2 slots
# on TCP loopback) with its catalogue durable (WAL, synchronous=FULL). Prints both, and
# their ratio.
#
#   bench/peers.sh [BUILD_DIR] [INDEPENDENT_TASKS] [CHAIN_LENGTH]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n_indep=${2:-10000}
n_chain=${3:-1000}
. "$root/bench/lib.sh"
bench_need_build
# Debian's interpreter, the one its python3-distributed is installed for.
py=/usr/bin/python3
if ! "$py" -c 'import distributed' 2>/dev/null; then
    echo "installing python3-distributed (Debian) for the comparison..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-distributed >/dev/null
fi
bench_header "2 workers x 2 slots; Dask $("$py" -c 'import distributed; print(distributed.__version__)'), LocalCluster 2 processes x 2 threads"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# Dask: tasks/s of the independent tasks (submitted with client.map, gathered), and the
# time per link of a chain where each task takes the previous one's result.
# (From a file: the worker processes import the main module again.)
cat >"$T/dask_bench.py" <<'PY'
import sys, time, logging
logging.disable(logging.WARNING)
from distributed import Client, LocalCluster

def noop(*args):
    return None

if __name__ == "__main__":
    n, m = int(sys.argv[1]), int(sys.argv[2])
    cluster = LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    client.gather(client.map(noop, range(200), pure=False))  # warm
    t = time.perf_counter()
    client.gather(client.map(noop, range(n), pure=False))
    indep = time.perf_counter() - t
    t = time.perf_counter()
    f = client.submit(noop, 0, pure=False)
    for _ in range(m - 1):
        f = client.submit(noop, f, pure=False)
    f.result()
    chain = time.perf_counter() - t
    print(f"{n / indep:.0f} {chain / m * 1000:.3f}")
    client.close()
    cluster.close()
PY
"$py" "$T/dask_bench.py" "$n_indep" "$n_chain" >"$T/dask.out" 2>"$T/dask.err"
read -r dask_tps dask_link <"$T/dask.out" || { cat "$T/dask.err" >&2; exit 1; }

SECURITY=insecure BIG_MAP=0 bash "$root/bench/run-bench.sh" "$build" "$n_indep" "$n_chain" >"$T/weft.out"
weft_tps=$(sed -n 's/^independent.*= \([0-9]*\) tasks\/s$/\1/p' "$T/weft.out")
weft_link=$(sed -n 's/^chain.* tasks in \([0-9.]*\) s = .*/\1/p' "$T/weft.out" |
    awk -v m="$n_chain" '{printf "%.3f", $1 / m * 1000}')
weft_cpu=$(sed -n 's/^  scheduler CPU: \([0-9.]*\) us\/task.*/\1/p' "$T/weft.out" | head -n 2 | paste -sd/)

echo
printf '| %-34s | %-14s | %-17s | %-6s |\n' workload weft "Dask distributed" ratio
printf '|%s|%s|%s|%s|\n' "------------------------------------" "----------------" \
    "-------------------" "--------"
printf '| %-34s | %-14s | %-17s | %-6s |\n' "$n_indep independent no-op tasks" \
    "$weft_tps tasks/s" "$dask_tps tasks/s" "$(awk "BEGIN {printf \"%.1fx\", $weft_tps / $dask_tps}")"
printf '| %-34s | %-14s | %-17s | %-6s |\n' "chain of $n_chain (per link)" "$weft_link ms" \
    "$dask_link ms" "$(awk "BEGIN {printf \"%.1fx\", $dask_link / $weft_link}")"
echo
echo "weft's scheduler CPU per task (independent / chain): $weft_cpu us; its catalogue" \
     "recorded every task durably, Dask kept everything in memory."
