#!/usr/bin/env bash
# No single peer can exhaust the scheduler or hold a run forever: a worker that takes tasks
# and never answers has its attempts failed by the scheduler's own deadline (timeout plus
# grace) and is asked to stop them; a 7 MB log is stored as its last 1 MiB; a map past the
# fan-out cap fails its task with the reason; a flood of queries whose replies are never
# read leaves the scheduler's memory bounded (measured) and other clients answered.
. "$(dirname "$0")/lib.sh"
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
"$WEFT_BIN/weft-scheduler" --state "$state" --listen "$ep" --insecure --attempt-grace 1s \
    >"$T/scheduler.log" 2>&1 &
SCHED_PID=$!
PIDS+=("$SCHED_PID")

# ---- a worker that never answers ----
"$WEFT_BIN/weft-testpeer" "$ep" hold mute 8 >"$T/mute.txt" 2>&1 &
mute=$!
wait_for_workers "$ep" 1 || exit 1
cat >"$T/wait.yaml" <<'YAML'
workflow: wait
tasks:
  stuck: { type: noop, timeout: 1s }
YAML
"$weft" submit "$T/wait.yaml" --scheduler "$ep" >/dev/null || fail "submit"
wait_run_ended "$state" 1
expect "the run fails instead of waiting forever" failed "$st"
expect "its attempt failed as timeout" timeout "$(sql "$state" "SELECT error_class FROM attempts WHERE run_id = 1")"
expect_grep "... by the scheduler's deadline, saying so" \
    "no result from worker 'mute' within the task's timeout \(1s\) and a grace of 1s" \
    <(sql "$state" "SELECT error FROM attempts WHERE run_id = 1")
wait "$mute"
expect_grep "the worker was asked to stop it" "^stop [0-9]+" "$T/mute.txt"

# ---- an oversized log ----
"$WEFT_BIN/weft-testpeer" "$ep" big-log loud 7340032 >"$T/loud.txt" 2>&1 &
loud=$!
cat >"$T/loud.yaml" <<'YAML'
workflow: loud
tasks:
  talk: { type: noop }
YAML
"$weft" submit "$T/loud.yaml" --scheduler "$ep" >/dev/null || fail "submit loud"
wait_run_ended "$state" 2
wait "$loud"
# Gone before the next runs, so that none of their tasks goes to it.
for _ in $(seq 100); do grep -q "worker loud lost" "$T/scheduler.log" && break; sleep 0.1; done
expect "the run with the 7 MB log succeeded" succeeded "$st"
log=$(ls "$state"/logs/2/*)
expect "the stored log is the last 1 MiB" 1048576 "$(stat -c %s "$log")"
expect "... ending as the worker's did" END-OF-LOG "$(tail -c 11 "$log" | tr -d '\n')"

# ---- a map past the cap ----
start_worker w1 "$ep" 2
{ echo "workflow: wide"; echo "tasks:"; echo "  src:"; echo "    type: echo"
  echo "    with: { items: [$(seq -s, 1 1000001)] }"
  echo "  fan: { type: noop, map: \"\${src.outputs.items}\" }"; } >"$T/wide.yaml"
"$weft" submit "$T/wide.yaml" --scheduler "$ep" >/dev/null || fail "submit wide"
wait_run_ended "$state" 3
expect "the over-wide map fails its run" failed "$st"
expect_grep "... with the reason" "map: 1000001 elements; at most 1000000 per map" \
    <(sql "$state" "SELECT error FROM tasks WHERE run_id = 3 AND name = 'fan'")
expect "no element rows were made" 0 "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 3 AND elem >= 0")"

# ---- a flood of unread queries ----
# A run of 3,000 tasks makes each status reply about a megabyte.
{ echo "workflow: big"; echo "tasks:"; for i in $(seq 3000); do echo "  t$i: { type: noop }"; done; } >"$T/big.yaml"
"$weft" submit "$T/big.yaml" --scheduler "$ep" --wait --timeout 60s >/dev/null || fail "big run"
reply=$("$weft" status 4 --scheduler "$ep" --json | wc -c)
rss() { awk '/VmRSS/ {print $2}' "/proc/$SCHED_PID/status"; }
before=$(rss)
"$WEFT_BIN/weft-testpeer" "$ep" flood 300 4 >"$T/flood.txt" 2>&1 &
flooder=$!
sleep 2
during=$(rss)
"$weft" status --scheduler "$ep" >/dev/null
expect "another client is answered during the flood" 0 "$?"
wait "$flooder"
expect "the flood sent its queries" "sent 300" "$(cat "$T/flood.txt")"
growth=$(( (during - before) / 1024 ))
echo "status reply $((reply / 1024)) KiB; 300 unread replies would hold $((reply * 300 / 1048576)) MiB;" \
     "scheduler RSS $((before / 1024)) MiB before, $((during / 1024)) MiB during the flood (+$growth MiB)"
# ASan keeps freed memory in quarantine (256 MiB): its bound is looser, still far below the
# unread replies' size.
bound=64
[ -n "${WEFT_SANITIZED:-}" ] && bound=320
at_most "the scheduler's memory grew by at most $bound MiB" "$bound" "$growth"
