#!/usr/bin/env bash
# A worker killed with SIGKILL mid-task stops heartbeating; the scheduler declares it lost
# after three intervals, closes its attempt as `lost`, and the retry runs on the other worker.
# The task logs each execution to a file: it ran twice, once per attempt, and no more.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker one "$ep" 1; pid_one=$WORKER_PID
start_worker two "$ep" 1; pid_two=$WORKER_PID
wait_for_workers "$ep" 2 || exit 1

: >"$T/executions.txt"
cat >"$T/slow.yaml" <<YAML
workflow: slow
tasks:
  long:
    type: shell
    with:
      argv: [sh, -c, 'echo "\$WEFT_TASK \$WEFT_ATTEMPT" >>"\$EXECS"; exec sleep 2']
      env: { EXECS: "$T/executions.txt" }
    retry: { max_attempts: 2, interval: 100ms, on: [lost] }
YAML
"$weft" submit "$T/slow.yaml" --scheduler "$ep" >/dev/null || fail "submit"
w=$(worker_of_attempt "$T/state" 1)
[ "$w" = one ] && victim=$pid_one survivor=two || victim=$pid_two survivor=one
# Kill once the attempt runs (its execution is logged), not while it is still on its way.
for _ in $(seq 50); do [ -s "$T/executions.txt" ] && break; sleep 0.1; done
kill9 "$victim" "worker $w" "$T/worker-$w.log"
ok "killed worker $w mid-task"

wait_run_ended "$T/state" 1
expect "run succeeded" succeeded "$st"
expect "first attempt lost on the killed worker" "failed|lost|$w" \
    "$(sql "$T/state" "SELECT state || '|' || error_class || '|' || worker FROM attempts WHERE number = 1")"
expect "second attempt succeeded on the other worker" "succeeded|$survivor" \
    "$(sql "$T/state" "SELECT state || '|' || worker FROM attempts WHERE number = 2")"
expect "no attempt left open" 0 "$(sql "$T/state" "SELECT count(*) FROM attempts WHERE state = 'running'")"
expect "executed once per attempt: the lost one and the retry" "long 1,long 2" \
    "$(sort "$T/executions.txt" | paste -sd,)"
expect_grep "scheduler logged the loss" "worker $w lost" "$T/scheduler.log"
finish
