#!/usr/bin/env bash
# Plugins that segfault, abort, exit, run out of their memory allowance (its cgroup's, or
# without one the executor's address-space limit) or hang kill only their executor: each attempt fails with the engine's class (crash or timeout), the worker
# replaces the executor and keeps serving. A task that fails transiently twice succeeds on
# its third attempt, with retry delays that follow the formula, measured from the catalogue.
. "$(dirname "$0")/lib.sh"
: "${WEFT_TEST_PLUGINS:?}"
# Let real signals kill the executor in sanitizer builds, as they do in release builds.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:handle_segv=0:handle_abort=0"
path="$WEFT_PLUGIN_PATH:$WEFT_TEST_PLUGINS"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker w1 "$ep" 2 "$path"
wait_for_workers "$ep" 1 || exit 1

cat >"$T/crashy.yaml" <<'YAML'
workflow: crashy
tasks:
  segv: { type: crashy.segv }
  abort: { type: crashy.abort }
  exit: { type: crashy.exit }
  oom: { type: crashy.oom, resources: { mem: 256M } }
  hang: { type: crashy.hang, timeout: 300ms }
  flaky:
    type: crashy.flaky
    retry: { max_attempts: 3, interval: 300ms, backoff_rate: 2.0, max_delay: 10s, on: [transient] }
  after: { type: echo, with: { attempt: "${flaky.outputs.attempt}" } }
YAML
"$weft" submit "$T/crashy.yaml" --scheduler "$ep" --wait >"$T/out.txt" 2>&1
expect "the run fails (the crashing tasks fail)" 1 $?
row() { sql "$T/state" "SELECT state || '|' || coalesce(error_class, '') FROM tasks WHERE name = '$1'"; }
msg() { sql "$T/state" "SELECT error FROM tasks WHERE name = '$1'"; }
expect "segv: crash" "failed|crash" "$(row segv)"
expect "segv message names the signal" "executor killed by Segmentation fault running crashy.segv, attempt 1" "$(msg segv)"
expect "abort: crash" "failed|crash" "$(row abort)"
expect "exit: crash" "failed|crash" "$(row exit)"
expect "exit message" "executor exited with status 3 running crashy.exit, attempt 1" "$(msg exit)"
if grep -q "run in a cgroup v[12] group each" "$T/worker-w1.log"; then
    # Its cgroup's OOM killer ends the executor, and the attempt is named out of memory.
    expect "oom: crash" "failed|crash" "$(row oom)"
    expect "oom is named out of memory, with its limit, by its cgroup" \
        "out of memory (limit 256M): executor killed by Killed running crashy.oom, attempt 1" \
        "$(msg oom)"
elif grep -q "WEFT_ASAN:BOOL=ON" "$WEFT_BIN/../CMakeCache.txt"; then
    skip "oom: without cgroups, memory limits are not enforced in AddressSanitizer builds"
else
    expect "oom: crash" "failed|crash" "$(row oom)"
    "$weft" logs 1 oom --scheduler "$ep" >"$T/oom.log" 2>&1
    expect_grep "oom ran out of its 256M allowance" 'out of memory after [0-9]+ MiB' "$T/oom.log"
fi
expect "hang: timeout (SIGTERM ignored, then SIGKILL)" "failed|timeout" "$(row hang)"
expect "flaky succeeded (its earlier errors stay with its attempts)" "succeeded|" "$(row flaky)"
expect "flaky's attempts" "failed|transient failed|transient succeeded|" "$(sql "$T/state" "SELECT group_concat(a.state || '|' || coalesce(a.error_class, ''), ' ') FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx WHERE t.name = 'flaky'")"
expect "flaky had 3 attempts" 3 "$(sql "$T/state" "SELECT attempts FROM tasks WHERE name = 'flaky'")"
expect "after got flaky's output" 3 "$(sql "$T/state" "SELECT json_extract(outputs, '$.attempt') FROM tasks WHERE name = 'after'")"
# Backoff, on the scheduler's clock: from each retry_wait event to the task's next ready
# event. At least interval * rate^(n-1) (300 ms, then 600 ms), and at most 200 ms later.
delays=$(sql "$T/state" "SELECT group_concat(r.ts_us - w.ts_us, ' ') FROM events w
    JOIN events r ON r.run_id = w.run_id AND r.task = w.task AND r.kind = 'ready'
     AND r.seq = (SELECT min(seq) FROM events x WHERE x.run_id = w.run_id AND x.task = w.task
                  AND x.kind = 'ready' AND x.seq > w.seq)
    WHERE w.task = 'flaky' AND w.kind = 'retry_wait' ORDER BY w.seq")
set -- $delays
[ "${1:-0}" -ge 300000 ] && [ "${1:-0}" -le 500000 ] && ok "first retry delay ${1}us within [300ms, 500ms]" || fail "first retry delay ${1:-none}us"
[ "${2:-0}" -ge 600000 ] && [ "${2:-0}" -le 800000 ] && ok "second retry delay ${2}us within [600ms, 800ms]" || fail "second retry delay ${2:-none}us"
expect "crashes were not retried (no retry policy)" 1 "$(sql "$T/state" "SELECT max(attempts) FROM tasks WHERE name IN ('segv', 'abort', 'exit', 'hang')")"
expect_grep "the worker replaced crashed executors" "executor killed by Segmentation fault" "$T/worker-w1.log"
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "the worker still serves" 0 $?
kill -0 "$WORKER_PID" 2>/dev/null && ok "worker alive" || fail "worker died"

# Nothing of an attempt stays in the work directory but its slot's log file, which the
# slot's next attempt empties: its executor removes the scratch directory when the whole
# log went with the result (word-count's shell tasks), the worker when the executor died
# (above) or the log passed 1 MiB (loud).
cat >"$T/loud.yaml" <<'YAML'
workflow: loud
tasks:
  loud: { type: shell, with: { argv: [sh, -c, 'yes x | head -c 1500000'] } }
YAML
"$weft" submit "$T/loud.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a task with a 1.5 MB log succeeds" 0 $?
left() { find "$T/work-w1/logs" "$T/work-w1/scratch" -mindepth 1 ! -name 'slot-[01].log' | wc -l; }
for _ in $(seq 50); do [ "$(left)" -eq 0 ] && break; sleep 0.1; done
expect "no scratch directory and no log but the slots' own is left in the work directory" 0 \
    "$(left)"

# A process an attempt left running that still writes to the slot's log file keeps that
# file: the slot's next attempt writes to a new one, whose log holds only what it wrote.
# (Both slots are left such a process, so the next attempt meets one whichever it gets.)
cat >"$T/stale.yaml" <<'YAML'
workflow: stale
tasks:
  leave0: { type: shell, with: { argv: [sh, -c, '(sleep 1; echo LEAKED >&2) >/dev/null & sleep 0.3'] } }
  leave1: { type: shell, with: { argv: [sh, -c, '(sleep 1; echo LEAKED >&2) >/dev/null & sleep 0.3'] } }
  next: { type: shell, needs: [leave0, leave1], with: { argv: [sh, -c, 'sleep 1.5; echo second >&2'] } }
YAML
"$weft" submit "$T/stale.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a run whose tasks leave processes writing to their logs succeeds" 0 $?
run=$(sql "$T/state" "SELECT max(id) FROM runs")
"$weft" logs "$run" next --scheduler "$ep" >"$T/next.log" 2>&1
expect_grep "the next attempt's log holds what it wrote" "second" "$T/next.log"
if grep -q LEAKED "$T/next.log"; then
    fail "the next attempt's log holds an earlier attempt's output: $(cat "$T/next.log")"
else
    ok "... and nothing an earlier attempt's leftover process wrote"
fi

# An executor keeps its slot's log file from one attempt to the next when the whole log went
# with the result and no process the attempt started is left (it is their subreaper); the
# next attempt's log still holds only what that attempt wrote, whether an earlier one's
# process ended with it (b), was orphaned and wrote on (c), its log passed 1 MiB (e) or its
# plugin closed its stdout and stderr (n).
cat >"$T/held.yaml" <<'YAML'
workflow: held
tasks:
  a: { type: shell, with: { argv: [sh, -c, 'echo mark-a >&2'] } }
  b: { type: shell, needs: [a], with: { argv: [sh, -c, '(echo mark-b >&2) & wait'] } }
  c: { type: shell, needs: [b], with: { argv: [sh, -c, '(sleep 0.2; echo mark-c >&2) >/dev/null & echo mark-c >&2'] } }
  d: { type: shell, needs: [c], with: { argv: [sh, -c, 'sleep 0.5; echo mark-d >&2'] } }
  e: { type: shell, needs: [d], with: { argv: [sh, -c, 'yes y | head -c 1500000; echo mark-e >&2'] } }
  f: { type: shell, needs: [e], with: { argv: [sh, -c, 'echo mark-f >&2'] } }
  i: { type: shell, needs: [f], with: { argv: [sh, -c, 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done'] } }
  j: { type: shell, needs: [i], with: { argv: [sh, -c, 'echo mark-j >&2'] } }
  l: { type: shell, needs: [j], with: { argv: [sh, -c, '(i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done) >/dev/null 2>&1 &'] } }
  m: { type: shell, needs: [l], with: { argv: [sh, -c, 'sleep 1'] } }
  n: { type: crashy.closes, needs: [m] }
  o: { type: shell, needs: [n], with: { argv: [sh, -c, 'echo mark-o >&2'] } }
  p: { type: crashy.touch, needs: [o], with: { mb: 96 } }
  q: { type: crashy.touch, needs: [p], with: { mb: 1 } }
  r: { type: crashy.touch, needs: [q], with: { mb: 1 } }
YAML
"$weft" submit "$T/held.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a chain of tasks on one slot succeeds" 0 $?
run=$(sql "$T/state" "SELECT max(id) FROM runs")
for t in a b c d e f o; do
    "$weft" logs "$run" "$t" --scheduler "$ep" >"$T/held-$t.log" 2>&1
    expect "$t's log holds its own mark, and no other task's" "mark-$t" \
        "$(grep -o 'mark-[a-o]' "$T/held-$t.log" | sort -u | tr '\n' ' ' | sed 's/ $//')"
done
# CPU time of an attempt's child processes is the attempt's, and not the next one's.
cpu() { sql "$T/state" "SELECT a.cpu_us FROM attempts a JOIN tasks t ON t.run_id = a.run_id
    AND t.idx = a.idx WHERE a.run_id = $run AND t.name = '$1'"; }
at_least "a busy shell's CPU time is its attempt's (µs)" 100000 "$(cpu i)"
at_most "... and not the next attempt's on the slot" 50000 "$(cpu j)"
at_most "a busy process an attempt left behind is not the next attempt's CPU time" 50000 \
    "$(cpu m)"
# An attempt's peak memory is its own: 96 MiB touched and given back are not the next
# attempt's peak (the executor resets its peak as each attempt starts); attempts at the
# executor's usual size have about the same peak.
peak() { sql "$T/state" "SELECT a.peak_mem_bytes >> 20 FROM attempts a JOIN tasks t
    ON t.run_id = a.run_id AND t.idx = a.idx WHERE a.run_id = $run AND t.name = '$1'"; }
at_least "an attempt that touched 96 MiB peaked above them (MiB)" 96 "$(peak p)"
at_most "... the next attempt on the slot peaked 64 MiB lower, at most (MiB)" \
    $(($(peak p) - 64)) "$(peak q)"
at_most "... and the one after it no higher than that (MiB)" $(($(peak q) + 4)) "$(peak r)"

# What a plugin's own thread writes after its attempt ended, while the slot is idle, is no
# attempt's: it goes to the worker's log, not the slot's next attempt's (each run's task
# takes the first free slot).
cat >"$T/stray.yaml" <<'YAML'
workflow: stray
tasks:
  g: { type: crashy.stray }
YAML
cat >"$T/after.yaml" <<'YAML'
workflow: after
tasks:
  h: { type: shell, with: { argv: [sh, -c, 'echo mark-h >&2'] } }
YAML
"$weft" submit "$T/stray.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
"$weft" logs "$(sql "$T/state" "SELECT max(id) FROM runs")" g --scheduler "$ep" \
    >"$T/stray-g.log" 2>&1
expect_grep "what a plugin printed with stdio is its attempt's log" "mark-stray" "$T/stray-g.log"
sleep 0.5
"$weft" submit "$T/after.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a task after a plugin's stray output succeeds" 0 $?
"$weft" logs "$(sql "$T/state" "SELECT max(id) FROM runs")" h --scheduler "$ep" \
    >"$T/after-h.log" 2>&1
expect_grep "it has its own log" "mark-h" "$T/after-h.log"
if grep -q "stray-output" "$T/after-h.log"; then
    fail "the next attempt's log holds a plugin thread's output: $(cat "$T/after-h.log")"
else
    ok "... and not what a plugin thread wrote before it"
fi
expect_grep "which is in the worker's log" "stray-output of a plugin thread" "$T/worker-w1.log"

# An executor started from a larger process image (here a program that touched 256 MiB and
# then exec'd it; a worker that grew, in life) keeps that image's peak in ru_maxrss, which
# clear_refs does not reset: each attempt's peak is still its own.
mkdir -p "$T/wrapped"
cp "$WEFT_BIN/weft-worker" "$T/wrapped/weft-worker"
cat >"$T/wrapped/weft-executor" <<EOF
#!/usr/bin/env python3
import os, sys
ballast = bytearray(b"\\x01") * (256 << 20)
os.execv("$WEFT_BIN/weft-executor", ["$WEFT_BIN/weft-executor"] + sys.argv[1:])
EOF
chmod +x "$T/wrapped/weft-executor"
"$T/wrapped/weft-worker" --scheduler "$ep" --name big --slots 1 --label pool=big \
    --plugin-path "$path" --work-dir "$T/work-big" --heartbeat 200 >"$T/worker-big.log" 2>&1 &
PIDS+=($!)
wait_for_workers "$ep" 2 || exit 1
cat >"$T/image.yaml" <<'YAML'
workflow: image
defaults: { labels: { pool: big } }
tasks:
  u: { type: crashy.touch, with: { mb: 1 } }
  v: { type: crashy.touch, needs: [u], with: { mb: 1 } }
YAML
"$weft" submit "$T/image.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "attempts on an executor started from a 256 MiB image succeed" 0 $?
run=$(sql "$T/state" "SELECT max(id) FROM runs")
at_most "... and each peaked far below the image's 256 MiB (MiB)" 128 \
    "$(sql "$T/state" "SELECT max(peak_mem_bytes) >> 20 FROM attempts WHERE run_id = $run")"
finish
