#!/usr/bin/env bash
# A scheduler that stops for a while (SIGSTOP: a paused VM, a process swapped out, a disk
# that blocks it) has heard nothing from its workers meanwhile, and the heartbeats they sent
# are still in the kernel when it resumes. Their silence is its own: a worker that kept
# running is not declared lost, and its task runs once. A worker that went silent during
# the stall, and stays silent, is still declared lost, and its task retried elsewhere.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
sched_pid=$SCHED_PID
start_worker one "$ep" 1; pid_one=$WORKER_PID
start_worker two "$ep" 1; pid_two=$WORKER_PID
wait_for_workers "$ep" 2 || exit 1

# workflow NAME SECONDS: a task that logs each execution, then sleeps.
workflow() {
    cat >"$T/$1.yaml" <<YAML
workflow: $1
tasks:
  work:
    type: shell
    with:
      argv: [sh, -c, 'echo "\$WEFT_RUN \$WEFT_ATTEMPT" >>"\$EXECS"; exec sleep $2']
      env: { EXECS: "$T/executions.txt" }
    retry: { max_attempts: 2, interval: 50ms, on: [lost] }
YAML
}
: >"$T/executions.txt"
# until_executions N: until the tasks have started N times in all.
until_executions() {
    for _ in $(seq 100); do [ "$(wc -l <"$T/executions.txt")" -ge "$1" ] && return; sleep 0.1; done
}

# The workers beat every 200 ms and are lost after 600 ms of silence; the scheduler stops
# for 1.5 s while a task runs.
workflow stalled 2.5
"$weft" submit "$T/stalled.yaml" --scheduler "$ep" >/dev/null || fail "submit"
until_executions 1
kill -STOP "$sched_pid"
sleep 1.5
kill -CONT "$sched_pid"
ok "stopped the scheduler 1.5 s while run 1 ran"
wait_run_ended "$state" 1
expect "run 1 succeeded" succeeded "$st"
expect "with one attempt" "1 succeeded" "$(sql "$state" "SELECT count(*) || ' ' || group_concat(state) FROM attempts WHERE run_id = 1")"
expect "its task ran once" "1 1" "$(sort "$T/executions.txt" | paste -sd,)"
if grep -q "lost" "$T/scheduler.log"; then
    fail "a worker was declared lost: $(grep lost "$T/scheduler.log" | head -n 2)"
else
    ok "no worker was declared lost"
fi

# A stall hides no real loss: the worker running run 2's task freezes while the scheduler
# is stopped, and stays frozen after it resumes.
workflow frozen 3
"$weft" submit "$T/frozen.yaml" --scheduler "$ep" >/dev/null || fail "submit"
until_executions 2
w=$(sql "$state" "SELECT worker FROM attempts WHERE run_id = 2 AND number = 1")
case "$w" in
one) frozen=$pid_one ;;
two) frozen=$pid_two ;;
*) fail "run 2's attempt has no worker: '$w'"; exit 1 ;;
esac
kill -STOP "$sched_pid"
kill -STOP "$frozen"
sleep 1.5
kill -CONT "$sched_pid"
ok "stopped the scheduler 1.5 s, and worker $w with it; the scheduler resumed"
for _ in $(seq 50); do
    [ "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 2 AND number = 2")" = 1 ] && break
    sleep 0.1
done
expect "worker $w was declared lost" 1 "$(grep -c "worker $w lost" "$T/scheduler.log")"
expect "run 2's task was retried on the other worker" 1 \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 2 AND number = 2 AND worker <> '$w'")"
kill -CONT "$frozen"
wait_run_ended "$state" 2
expect "run 2 succeeded" succeeded "$st"
expect "exactly one successful attempt" 1 \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 2 AND state = 'succeeded'")"
finish
