#!/usr/bin/env bash
# Hosts apart: a scheduler and two workers in network namespaces of their own, joined by
# veth pairs to a bridge this test makes (10.77.0.0/24), speaking CURVE over TCP. Each
# worker also has a filesystem view of its own, where the scheduler's state directory (and
# its artifact store) is an empty tmpfs: files cross hosts only over the connections.
# - A workflow whose files cross hosts (data.split -> train.xgboost -> infer.batch ->
#   infer.metrics, and embed.chunk -> a map of embed.encode -> embed.index) runs to the
#   same results as `weft run` on one machine.
# - A worker cut off mid-task (its link down) is declared lost and its task finishes on the
#   other; when the link comes back it rejoins and nothing succeeds twice.
# - The scheduler cut off from every worker for 30 s loses nothing: the run ends
#   succeeded, each task succeeding once.
. "$(dirname "$0")/lib.sh"
unset WEFT_INSECURE
id=$$
hub="weft-hub-$id"
hosts=(s 1 2)
ns() { echo "weft-$1-$id"; }
teardown_ns() {
    local rc=$?
    ip netns del "$hub" 2>/dev/null
    for h in "${hosts[@]}"; do ip netns del "$(ns "$h")" 2>/dev/null; done
    (exit "$rc")
    cleanup
}
if ! ip netns add "$hub" 2>"$T/netns.err"; then
    skip "cannot make network namespaces here: $(cat "$T/netns.err")"
    exit 0
fi
trap teardown_ns EXIT
ip -n "$hub" link add br0 type bridge
ip -n "$hub" link set br0 up
n=1
for h in "${hosts[@]}"; do
    ip netns add "$(ns "$h")"
    ip link add "v$h$id" netns "$hub" type veth peer name eth0 netns "$(ns "$h")"
    ip -n "$hub" link set "v$h$id" master br0 up
    ip -n "$(ns "$h")" addr add "10.77.0.$n/24" dev eth0
    ip -n "$(ns "$h")" link set eth0 up
    ip -n "$(ns "$h")" link set lo up
    n=$((n + 1))
done
link() { ip -n "$hub" link set "v$1$id" "$2"; } # HOST up|down: that host's cable
ep="tcp://10.77.0.1:7700"
state="$T/state"
ip netns exec "$(ns s)" "$WEFT_BIN/weft-scheduler" --state "$state" --listen "$ep" \
    >"$T/scheduler.log" 2>&1 &
SCHED_PID=$!
PIDS+=("$SCHED_PID")
for _ in $(seq 100); do [ -S "$state/scheduler.sock" ] && break; sleep 0.05; done
for w in 1 2; do
    "$weft" keys gen "$T/w$w.key" >/dev/null || fail "keys gen w$w"
    "$weft" keys add "w$w" --role worker "$T/w$w.key.pub" --state "$state" >/dev/null ||
        fail "keys add w$w"
    cp "$state/scheduler.key.pub" "$T/server-w$w.pub" # what the worker's host was given
    ip netns exec "$(ns "$w")" unshare -m sh -c 'mount -t tmpfs none "$0" && exec "$@"' \
        "$state" "$WEFT_BIN/weft-worker" --scheduler "$ep" --name "w$w" \
        --slots 2 --key "$T/w$w.key" --server-key "$T/server-w$w.pub" \
        --plugin-path "$WEFT_PLUGIN_PATH" --work-dir "$T/work-w$w" --heartbeat 200 \
        >"$T/worker-w$w.log" 2>&1 &
    PIDS+=("$!")
done
# up_workers: how many workers the catalogue has up; wait_up N: until N are, 10 s at most.
up_workers() { sql "$state" "SELECT count(*) FROM workers WHERE state = 'up'"; }
wait_up() { for _ in $(seq 100); do [ "$(up_workers)" = "$1" ] && return; sleep 0.1; done; }
wait_up 2
expect "both workers joined over the bridge, with CURVE" 2 "$(up_workers)"
submit() { "$weft" submit "$1" --state "$state" 2>&1 | sed -n 's/^run \([0-9]*\) .*/\1/p'; }
# once STATE RUN: every task of RUN succeeded, and by exactly one attempt.
once() {
    expect "run $2: every task succeeded" 0 \
        "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = $2 AND state != 'succeeded'")"
    expect "run $2: no task succeeded twice" 0 \
        "$(sql "$state" "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = $2 AND
            state = 'succeeded' GROUP BY idx, elem HAVING count(*) > 1)")"
}

# ---- files that cross hosts ----
mkdir -p "$T/corpus" "$T/local"
cp "$WEFT_SRC"/docs/*.md "$T/corpus/"
cat >"$T/fleet.yaml" <<YAML
workflow: fleet
params:
  tumours: { type: dataset, default: "$WEFT_SRC/workflows/data/breast-cancer.csv" }
  corpus: { type: dir, default: "$T/corpus" }
tasks:
  split:
    type: data.split
    with: { dataset: "\${params.tumours}", test_fraction: 0.25, seed: 42, stratify: benign }
  train:
    type: train.xgboost
    with: { dataset: "\${split.outputs.train}", target: benign, objective: binary, rounds: 40,
            seed: 42, threads: 1, params: { max_depth: 2, eta: 0.1 } }
  predict:
    type: infer.batch
    with: { model: "\${train.outputs.model}", dataset: "\${split.outputs.test}" }
  metrics:
    type: infer.metrics
    with: { predictions: "\${predict.outputs.predictions}", target: benign }
  chunk:
    type: embed.chunk
    with: { source: "\${params.corpus}", size: 600, overlap: 60, shards: 4 }
  encode:
    type: embed.encode
    map: "\${chunk.outputs.shards}"
    with: { shard: "\${item}", dim: 128 }
  index:
    type: embed.index
    with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}",
            method: exact }
YAML
run=$(submit "$T/fleet.yaml")
wait_run_ended "$state" "$run"
expect "the workflow whose files cross hosts succeeded" succeeded "$st"
(cd "$T/local" && "$weft" run "$T/fleet.yaml" >run.out 2>&1) || fail "the same workflow on one machine"
# outputs STATE RUN: every task's (and element's) outputs, by name.
outputs() {
    sql "$1" "SELECT name || coalesce('[' || nullif(elem, -1) || ']', '') || ' ' || outputs
        FROM tasks WHERE run_id = $2 ORDER BY name, elem"
}
outputs "$state" "$run" >"$T/fleet-hosts.txt"
outputs "$T/local/.weft" 1 >"$T/fleet-local.txt"
expect "every task's outputs (artifact hashes, metrics) are those of the one-machine run" "" \
    "$(diff "$T/fleet-local.txt" "$T/fleet-hosts.txt")"
at_least "... with files in them" 8 "$(grep -o '"artifact"' "$T/fleet-hosts.txt" | wc -l)"
for w in 1 2; do
    expect_grep "worker w$w fetched blobs over its connection" "worker info: fetched blob" \
        "$T/worker-w$w.log"
done
expect_grep "... and pushed what its tasks made" "worker info: pushed blob" \
    <(cat "$T/worker-w1.log" "$T/worker-w2.log")
[ -e "$T/work-w1/cache/store-id" ] && ok "the workers keep blobs in caches of their own" ||
    fail "worker w1 has no blob cache"

# ---- a worker cut off mid-task ----
cat >"$T/one.yaml" <<'EOF'
workflow: one
tasks:
  slow:
    type: shell
    retry: { max_attempts: 3, interval: 100ms, on: [lost] }
    with: { argv: [sh, -c, 'sleep 3; echo done'] }
EOF
run=$(submit "$T/one.yaml")
for _ in $(seq 50); do
    w=$(sql "$state" "SELECT worker FROM attempts WHERE run_id = $run AND number = 1")
    [ -n "$w" ] && break
    sleep 0.1
done
w=${w#w}
link "$w" down
wait_run_ended "$state" "$run"
expect "the run succeeded without the cut-off worker" succeeded "$st"
expect "its first attempt was lost on the cut-off worker" "w$w|lost" \
    "$(sql "$state" "SELECT worker || '|' || error_class FROM attempts WHERE run_id = $run
        AND number = 1")"
expect "the task finished on the other worker" "w$((3 - w))" \
    "$(sql "$state" "SELECT worker FROM attempts WHERE run_id = $run AND state = 'succeeded'")"
link "$w" up
for _ in $(seq 150); do
    [ "$(sql "$state" "SELECT state FROM workers WHERE name = 'w$w'")" = up ] && break
    sleep 0.1
done
expect "the worker rejoined when its link came back" up \
    "$(sql "$state" "SELECT state FROM workers WHERE name = 'w$w'")"
sleep 1 # its late result, if it sends one, arrives
once "$state" "$run"

# ---- the scheduler cut off from every worker for 30 s ----
{
    echo "workflow: many"
    echo "defaults: { retry: { max_attempts: 5, interval: 200ms, on: [lost] } }"
    echo "tasks:"
    for i in $(seq 1 12); do echo "  t$i: { type: shell, with: { argv: [sleep, '1'] } }"; done
} >"$T/many.yaml"
run=$(submit "$T/many.yaml")
for _ in $(seq 100); do
    [ "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = $run")" -ge 2 ] && break
    sleep 0.1
done
link s down
sleep 30
link s up
# Workers drop a connection silent for three heartbeats and dial again, so they are back
# within seconds, not when TCP's backed-off retransmission next tries the old connection.
wait_up 2
expect "both workers are back within 10 s of the link" 2 "$(up_workers)"
wait_run_ended "$state" "$run"
expect "after 30 s cut off, the run succeeded" succeeded "$st"
once "$state" "$run"
at_least "... the attempts in flight at the cut were lost and retried" 1 \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = $run AND error_class = 'lost'")"
