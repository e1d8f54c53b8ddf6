#!/usr/bin/env bash
# A task past its timeout has its executor killed by the worker: the attempt fails with class
# `timeout`, the executor is replaced, and the same single slot then runs the next task.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker solo "$ep" 1
wait_for_workers "$ep" 1 || exit 1

cat >"$T/hang.yaml" <<'YAML'
workflow: hang
tasks:
  hang: { type: sleep, with: { duration: 30s }, timeout: 300ms }
  next: { type: echo, with: { x: 1 }, needs: [] }
YAML
start=$(date +%s)
"$weft" submit "$T/hang.yaml" --scheduler "$ep" --wait >"$T/out.txt" 2>&1
expect "run fails" 1 $?
took=$(($(date +%s) - start))
[ "$took" -lt 10 ] && ok "finished in ${took}s, long before the sleep would" || fail "took ${took}s"
expect "hang failed as timeout" "failed|timeout" "$(sql "$T/state" "SELECT state || '|' || error_class FROM tasks WHERE name = 'hang'")"
expect_grep "the message says so" "sleep timed out; executor killed" "$T/out.txt"
expect "the slot ran the next task" succeeded "$(sql "$T/state" "SELECT state FROM tasks WHERE name = 'next'")"
expect_grep "the worker logged the kill" "passed its timeout" "$T/worker-solo.log"
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "the replaced executor serves later runs" 0 $?
finish
