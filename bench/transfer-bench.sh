#!/usr/bin/env bash
# Transfer benchmark: a 1 GiB artifact (SIZE_MIB=N for another size) from the scheduler's
# host to a worker's host and back,
# over CURVE on a veth pair, with the worker unable to see the scheduler's store (its own
# mount namespace). Three network namespaces on a bridge (10.78.0.0/24): the scheduler, a
# worker that copies the file (fetch 1 GiB, push 1 GiB), and a worker that runs a chain of
# small tasks meanwhile, whose hops (one task's end to the next one's start, through the
# scheduler) show what the transfer costs dispatch. Prints:
# - fetch and push rates (the worker's log), against cp on the same disk and netcat over the
#   same veth (the ceiling);
# - the scheduler's and the worker's peak RSS (VmHWM) after it;
# - hop latency of the chain alone and while the artifact moves (median, p95, max).
# Needs root (network and mount namespaces) and netcat-openbsd.
#   bench/transfer-bench.sh [BUILD_DIR]   (default: build)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
. "$root/bench/lib.sh"
bench_need_build
if [ "$(id -u)" -ne 0 ] || ! command -v nc >/dev/null; then
    echo "needs root and nc (apt-get install netcat-openbsd)"
    exit 2
fi
B=$(mktemp -d /tmp/weft-xfer.XXXXXX)
id=$$
hub="wx-hub-$id"
ns() { echo "wx-$1-$id"; }
pids=()
finish() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del "$hub" 2>/dev/null
    for h in s 1 2; do ip netns del "$(ns "$h")" 2>/dev/null; done
    rm -rf "$B"
}
trap finish EXIT
ip netns add "$hub" || exit 2
ip -n "$hub" link add br0 type bridge
ip -n "$hub" link set br0 up
n=1
for h in s 1 2; do
    ip netns add "$(ns "$h")"
    ip link add "x$h$id" netns "$hub" type veth peer name eth0 netns "$(ns "$h")"
    ip -n "$hub" link set "x$h$id" master br0 up
    ip -n "$(ns "$h")" addr add "10.78.0.$n/24" dev eth0
    ip -n "$(ns "$h")" link set eth0 up
    ip -n "$(ns "$h")" link set lo up
    n=$((n + 1))
done
weft="$build/bin/weft"
state="$B/state"
ep="tcp://10.78.0.1:7710"
mib=${SIZE_MIB:-1024}
bench_header "$mib MiB over CURVE on a veth pair, 256 KiB pieces, 8 in flight"

rate() { awk -v a="$1" -v b="$2" -v m="$mib" 'BEGIN {printf "%.0f", m * 1.048576 / (b - a)}'; }
head -c "${mib}M" /dev/urandom >"$B/big.bin"
sync
t0=$(date +%s.%N)
cp "$B/big.bin" "$B/copy.bin" && sync
t1=$(date +%s.%N)
rm -f "$B/copy.bin"
echo "cp on the same disk (with sync): $(rate "$t0" "$t1") MB/s"
ip netns exec "$(ns 1)" nc -l -p 9000 >/dev/null &
sleep 0.3
t0=$(date +%s.%N)
ip netns exec "$(ns s)" nc -N 10.78.0.2 9000 <"$B/big.bin"
t1=$(date +%s.%N)
echo "netcat over the veth (no encryption): $(rate "$t0" "$t1") MB/s"

ip netns exec "$(ns s)" "$build/bin/weft-scheduler" --state "$state" --listen "$ep" \
    >"$B/scheduler.log" 2>&1 &
sched=$!
pids+=("$sched")
for _ in $(seq 100); do [ -S "$state/scheduler.sock" ] && break; sleep 0.05; done
mkdir -p "$B/p1" "$B/p2"
ln -s "$build/lib/weft/plugins/builtin.so" "$B/p1/"
ln -s "$build/lib/weft/plugins/example.so" "$B/p2/"
for w in 1 2; do
    "$weft" keys gen "$B/w$w.key" >/dev/null
    "$weft" keys add "w$w" --role worker "$B/w$w.key.pub" --state "$state" >/dev/null
    cp "$state/scheduler.key.pub" "$B/server.pub"
    ip netns exec "$(ns "$w")" unshare -m sh -c 'mount -t tmpfs none "$0" && exec "$@"' \
        "$state" "$build/bin/weft-worker" --scheduler "$ep" --name "w$w" --slots 1 \
        --key "$B/w$w.key" --server-key "$B/server.pub" --plugin-path "$B/p$w" \
        --work-dir "$B/work-w$w" >"$B/worker-w$w.log" 2>&1 &
    pids+=("$!")
done
sql() { sqlite3 -batch -noheader -cmd ".timeout 10000" "$state/catalog.db" "$1"; }
for _ in $(seq 100); do
    [ "$(sql "SELECT count(*) FROM workers WHERE state = 'up'")" = 2 ] && break
    sleep 0.1
done

printf 'the quick brown fox jumps over the lazy dog\n%.0s' $(seq 50) >"$B/words.txt"
{
    echo "workflow: chain"
    echo "params: { text: { type: file, default: \"$B/words.txt\" } }"
    echo "tasks:"
    echo "  t1: { type: example.wordcount, with: { text: \"\${params.text}\" } }"
    for i in $(seq 2 "${CHAIN:-150}"); do
        echo "  t$i: { type: example.wordcount, needs: [t$((i - 1))], with: { text: \"\${params.text}\" } }"
    done
} >"$B/chain.yaml"
cat >"$B/copy.yaml" <<YAML
workflow: copy
params: { blob: { type: file, default: "$B/big.bin" } }
tasks:
  copy:
    type: shell
    with:
      argv: [sh, -c, '{ cat "\$IN"; echo; } >"\$WEFT_OUT/copy.bin"'] # a new blob to push
      env: { IN: "\${params.blob}" }
      outputs_dir: true
YAML
# hops RUN: one task's end to the next one's start, in ms: median, p95, max.
hops() {
    sql "SELECT (b.started_us - a.finished_us) / 1000.0 FROM attempts a JOIN attempts b
         ON b.run_id = a.run_id AND b.idx = a.idx + 1 WHERE a.run_id = $1 AND
         a.state = 'succeeded' AND b.state = 'succeeded' ORDER BY 1" |
        awk '{v[NR] = $1} END {printf "median %.1f ms, p95 %.1f ms, max %.1f ms (%d hops)",
             v[int(NR / 2) + 1], v[int(NR * 0.95) + 1], v[NR], NR}'
}
runid() { sed -n 's/^run \([0-9]*\) .*/\1/p' "$1" | head -n 1; }
"$weft" submit "$B/chain.yaml" --state "$state" --wait >"$B/chain1.out" 2>&1
echo "chain alone: $(hops "$(runid "$B/chain1.out")")"
t_sub=$(date +%s.%N)
WEFT_TIMEOUT=600s "$weft" submit "$B/copy.yaml" --state "$state" >"$B/copy.out" 2>&1
echo "local submit of the artifact (the scheduler stores it): $(awk -v a="$t_sub" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
copy=$(runid "$B/copy.out")
[ -n "$copy" ] || { echo "the copy was not submitted: $(cat "$B/copy.out")"; exit 1; }
sed -i 's/^workflow: chain/workflow: chain-during/' "$B/chain.yaml"
for _ in $(seq 200); do grep -q 'elsewhere' "$B/worker-w1.log" && break; sleep 0.05; done
"$weft" submit "$B/chain.yaml" --state "$state" --wait >"$B/chain2.out" 2>&1
for _ in $(seq 3000); do
    [ "$(sql "SELECT state FROM runs WHERE id = $copy")" != running ] && break
    sleep 0.1
done
echo "copy run: $(sql "SELECT state || ' in ' || printf('%.1f', (finished_us - created_us) / 1e6) || ' s' FROM runs WHERE id = $copy")"
bytes=$((mib * 1048576))
sed -nE "s/.*worker info: (fetched|pushed) blob [0-9a-f.]* \(($bytes|$((bytes + 1))) bytes in ([0-9.]*) s, ([0-9]*) MB\/s\).*/\1 $mib MiB: \4 MB\/s (\3 s)/p" \
    "$B/worker-w1.log"
echo "chain while it moves: $(hops "$(runid "$B/chain2.out")")"
wpid=$(pgrep -f -- "--name w1 " | head -n 1)
echo "peak RSS: scheduler $(awk '/VmHWM/ {print $2 / 1024 " MiB"}' /proc/$sched/status)," \
     "worker $(awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$wpid/status")"
