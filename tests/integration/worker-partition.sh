#!/usr/bin/env bash
# A worker frozen mid-task (SIGSTOP: a long pause or a partition) is declared lost; its task
# is retried on the other worker. When it thaws, it registers again reporting the attempt it
# still runs: the scheduler counts that attempt against its slots but does not apply its
# result (stale), so the task succeeds exactly once. It logs each execution to a file: it
# ran twice, once per attempt, and no more.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker one "$ep" 1; pid_one=$WORKER_PID
start_worker two "$ep" 1; pid_two=$WORKER_PID
wait_for_workers "$ep" 2 || exit 1

: >"$T/executions.txt"
cat >"$T/p.yaml" <<YAML
workflow: partition
tasks:
  work:
    type: shell
    with:
      argv: [sh, -c, 'echo "\$WEFT_TASK \$WEFT_ATTEMPT" >>"\$EXECS"; exec sleep 1.5']
      env: { EXECS: "$T/executions.txt" }
    retry: { max_attempts: 2, interval: 50ms, on: [lost] }
YAML
"$weft" submit "$T/p.yaml" --scheduler "$ep" >/dev/null || fail "submit"
w=$(worker_of_attempt "$state" 1)
[ "$w" = one ] && frozen=$pid_one || frozen=$pid_two
# Freeze it once the attempt runs (its execution is logged), not while it is on its way.
for _ in $(seq 50); do [ -s "$T/executions.txt" ] && break; sleep 0.1; done
kill -STOP "$frozen"
ok "froze worker $w mid-task"
worker_of_attempt "$state" 2 >/dev/null
expect "the task was retried elsewhere" 1 "$(sql "$state" "SELECT count(*) FROM attempts WHERE number = 2 AND worker <> '$w'")"
kill -CONT "$frozen"
ok "thawed worker $w"
wait_run_ended "$state" 1
sleep 2 # the thawed worker finishes its copy and reports it
expect "run succeeded" succeeded "$st"
expect "first attempt lost" "failed|lost" "$(sql "$state" "SELECT state || '|' || error_class FROM attempts WHERE number = 1")"
expect "exactly one successful attempt" 1 "$(sql "$state" "SELECT count(*) FROM attempts WHERE state = 'succeeded'")"
expect "the thawed worker registered a second time" 2 "$(grep -c "worker $w up" "$T/scheduler.log")"
expect "its late result was recorded as stale" 1 "$(sql "$state" "SELECT count(*) >= 1 FROM events WHERE kind = 'stale_result'")"
expect "the task still succeeded once" succeeded "$(sql "$state" "SELECT state FROM tasks WHERE name = 'work'")"
expect "executed once per attempt: the frozen one and the retry" "work 1,work 2" \
    "$(sort "$T/executions.txt" | paste -sd,)"
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "both workers serve on" 0 $?
finish
