#!/usr/bin/env bash
# Budgets enforced with a cgroup per attempt, through a real scheduler and a real worker:
# a shell task with mem: 64M whose child allocates 300 MB is killed and named out of memory;
# one with cpu: 0.5 gets about half a core; what an attempt leaves running is killed when it
# ends; every attempt's peak memory and CPU time are recorded and shown by weft status; a
# worker that makes no cgroups says what it falls back to. Skipped only where this machine
# lets no cgroup be made.
. "$(dirname "$0")/lib.sh"
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$state" "$ep"
start_worker budgets "$ep" 2
wait_for_workers "$ep" 1 || exit 1
if ! grep -q "run in a cgroup v[12] group each" "$T/worker-budgets.log"; then
    skip "no cgroup can be made here: $(grep -o 'cannot make cgroups.*' "$T/worker-budgets.log")"
    finish
fi
ok "the worker runs budgeted attempts in cgroups: $(grep -o 'cgroup v[12]' "$T/worker-budgets.log")"

cat >"$T/budgets.yaml" <<YAML
workflow: budgets
tasks:
  hog:
    type: shell
    resources: { mem: 64M }
    with: { argv: [python3, -c, 'b = bytearray(300 << 20); print("allocated", len(b))'] }
  spin:
    type: shell
    resources: { cpu: 0.5 }
    with: { argv: [sh, -c, 'timeout 3 sh -c "while :; do :; done"; true'] }
  leaver:
    type: shell
    resources: { mem: 256M }
    with: { argv: [sh, -c, 'setsid sleep 300 </dev/null >/dev/null 2>&1 & echo \$! >$T/leaver.pid'] }
  plain:
    type: shell
    with: { argv: [sh, -c, 'head -c 20000000 /dev/zero | wc -c'] }
YAML
run=$("$weft" submit "$T/budgets.yaml" --scheduler "$ep" --json 2>"$T/submit.err" |
    sed -n 's/.*"run": \([0-9]*\).*/\1/p')
wait_run_ended "$state" "$run"
attempt() { # TASK COLUMN
    sql "$state" "SELECT a.$2 FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND
                  t.idx = a.idx AND t.elem = a.elem WHERE a.run_id = $run AND t.name = '$1'
                  ORDER BY a.number DESC LIMIT 1"
}
expect "the 300 MB allocation under mem: 64M fails as a crash" crash "$(attempt hog error_class)"
expect_grep "... named out of memory, with its limit" "^out of memory \(limit 64M\): " \
    <(attempt hog error)
at_most "... its peak memory is held to the budget" $((64 << 20)) "$(attempt hog peak_mem_bytes)"
cat >"$T/after.yaml" <<'YAML'
workflow: after
tasks:
  after: { type: shell, resources: { mem: 64M }, with: { argv: [sh, -c, 'echo still here'] } }
YAML
"$weft" submit "$T/after.yaml" --scheduler "$ep" --wait --timeout 30s >"$T/after.txt" 2>&1
expect "the worker goes on: a budgeted task after it succeeds" 0 "$?"

# cpu: 0.5 for a 3 s busy loop: half of each 100 ms period at most (CFS quota).
share=$(sql "$state" "SELECT round(1.0 * a.cpu_us / (a.finished_us - a.started_us), 2)
                      FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx
                      WHERE a.run_id = $run AND t.name = 'spin'")
at_most "cpu: 0.5 holds a busy loop to half a core (CPU time / wall time)" 0.58 "$share"
at_least "... and it gets that half" 0.3 "$share"

pid=$(cat "$T/leaver.pid" 2>/dev/null)
gone=0
for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || { gone=1; break; }
    sleep 0.1
done
expect "a process an attempt left running (setsid, in the background) is killed at its end" \
    1 "$gone"
expect "that attempt itself succeeded" succeeded "$(attempt leaver state)"

at_least "an attempt without a budget has its peak memory recorded (the executor's)" 1 \
    "$(attempt plain peak_mem_bytes)"
at_least "... and its CPU time" 1 "$(attempt plain cpu_us)"
at_least "the cpu-bound attempt's CPU time is recorded (µs)" 1000000 "$(attempt spin cpu_us)"

"$weft" status "$run" --scheduler "$ep" >"$T/status.txt" 2>&1
expect_grep "weft status has CPU and PEAK MEM columns" "DURATION +CPU +PEAK MEM" "$T/status.txt"
expect_grep "... showing the spin task's CPU time" "^spin +shell +succeeded +1 +[0-9.]+s +1\.[0-9]s " \
    "$T/status.txt"
expect_grep "... and the hog's peak memory and why it failed" \
    "^hog .* [0-9.]+ MiB +out of memory \(limit 64M\)" "$T/status.txt"
"$weft" status "$run" --scheduler "$ep" --json >"$T/status.json"
expect "weft status --json gives each attempt's peak memory and CPU time" true \
    "$(jq '[.tasks[].attempt_list[] | has("peak_mem_bytes") and has("cpu_us")] | all' "$T/status.json")"

# The groups are gone once their attempts ended, and the worker's own once it exits.
mine=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
mem_root=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ {print $5}' /proc/self/mountinfo)
wdir="$mem_root$mine/weft-worker-$WORKER_PID"
if [ -n "$mem_root" ] && [ -d "$wdir" ]; then
    expect "no attempt group is left while the worker runs" "idle" "$(ls "$wdir" | grep -E '^(a[0-9]+|idle)$' | paste -sd' ')"
    kill -TERM "$WORKER_PID"
    wait "$WORKER_PID" 2>/dev/null
    forget_pid "$WORKER_PID"
    expect "the worker's group is removed when it exits" no "$([ -d "$wdir" ] && echo yes || echo no)"
else
    ok "the worker's groups are in cgroup v2 (not listed here)"
fi

# A worker told not to make cgroups says what budgets fall back to.
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name plain --no-cgroups \
    --plugin-path "$WEFT_PLUGIN_PATH" --work-dir "$T/work-plain" >"$T/worker-plain.log" 2>&1 &
PIDS+=("$!")
# (until it is up: a worker told to stop before it handles signals dies of the signal)
for _ in $(seq 100); do grep -q "worker plain: .*connected" "$T/worker-plain.log" && break; sleep 0.1; done
expect_grep "--no-cgroups warns that mem limits only the executor's address space" \
    "cgroups are off \(--no-cgroups\): a task's mem budget limits only its executor's address space \(RLIMIT_AS\)" \
    "$T/worker-plain.log"
finish
