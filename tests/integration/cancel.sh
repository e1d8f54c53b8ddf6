#!/usr/bin/env bash
# weft cancel: nothing new starts, running attempts are stopped by their worker, every open
# task ends cancelled, and the run ends cancelled. The cancel survives a scheduler killed
# right after accepting it. A run-level timeout stops a run the same way, with class
# timeout, and its deadline survives a restart too. The long tasks log each execution to a
# file: across a restart, nothing runs again and nothing cancelled starts.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker w1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1

# $long: a shell task that logs its execution, "RUN TASK ATTEMPT", then sleeps 30 s.
read -r long <<'YAML'
{ type: shell, with: { argv: [sh, -c, 'echo "$WEFT_RUN $WEFT_TASK $WEFT_ATTEMPT" >>"$EXECS"; exec sleep 30'], env: { EXECS: "@EXECS@" } } }
YAML
long=${long/@EXECS@/$T/executions.txt}
: >"$T/executions.txt"
executions() { # RUN: its executions, sorted, on one line
    awk -v r="$1" '$1 == r { print $2, $3 }' "$T/executions.txt" | sort | paste -sd,
}
wait_executed() { # RUN N: until N executions of RUN have started
    for _ in $(seq 100); do
        [ "$(awk -v r="$1" '$1 == r' "$T/executions.txt" | wc -l)" -ge "$2" ] && return 0
        sleep 0.1
    done
    fail "run $1 never had $2 executions"
}
cat >"$T/long.yaml" <<YAML
workflow: long
tasks:
  a: $long
  b: $long
  c: { type: echo, with: { x: 1 }, needs: [a] }
  d: { type: echo, with: { x: 2 }, needs: [c] }
YAML
wait_running() { # RUN N: until N tasks of RUN are running
    for _ in $(seq 100); do
        [ "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = $1 AND state = 'running'")" -ge "$2" ] && return 0
        sleep 0.1
    done
    fail "run $1 never had $2 running tasks"
}

"$weft" submit "$T/long.yaml" --scheduler "$ep" >/dev/null
wait_running 1 2
wait_executed 1 2
start=$(date +%s)
"$weft" cancel 1 --scheduler "$ep" >"$T/cancel.out" 2>&1
expect "cancel exits 0" 0 $?
expect_grep "cancel says so" '^run 1: cancel requested$' "$T/cancel.out"
wait_run_ended "$state" 1
expect "run cancelled" cancelled "$st"
took=$(($(date +%s) - start))
[ "$took" -lt 10 ] && ok "stopped in ${took}s, not after the 30s sleeps" || fail "took ${took}s"
expect "every task cancelled" "a|cancelled|cancelled b|cancelled|cancelled c|cancelled|cancelled d|cancelled|cancelled" \
    "$(sql "$state" "SELECT group_concat(s, ' ') FROM (SELECT name || '|' || state || '|' || error_class AS s FROM tasks WHERE run_id = 1 ORDER BY idx, elem)")"
expect "the running attempts ended cancelled" "cancelled cancelled" "$(sql "$state" "SELECT group_concat(error_class, ' ') FROM attempts WHERE run_id = 1")"
expect_grep "the worker stopped them" 'stopping a \(attempt [0-9]+\): run cancelled' "$T/worker-w1.log"
"$weft" cancel 1 --scheduler "$ep" >"$T/again.out" 2>&1
expect "cancelling an ended run exits 2" 2 $?
expect_grep "and says why" '^weft: run 1 is not running \(it cancelled\)$' "$T/again.out"
"$weft" cancel 42 --scheduler "$ep" >"$T/none.out" 2>&1
expect "cancelling an unknown run exits 2" 2 $?

# Durable: the scheduler dies right after accepting a cancel; its successor finishes it.
"$weft" submit "$T/long.yaml" --scheduler "$ep" >/dev/null
wait_running 2 2
wait_executed 2 2
"$weft" cancel 2 --scheduler "$ep" >/dev/null 2>&1
kill_scheduler
start_scheduler "$state" "$ep"
wait_run_ended "$state" 2
expect "run cancelled across a restart" cancelled "$st"
expect "no task of it left open" 0 "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 2 AND state NOT IN ('cancelled')")"
expect "its running tasks ran once, the others never" "a 1,b 1" "$(executions 2)"
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "the worker serves the next run" 0 $?
# Run-level timeout, counted from the run's creation even across a scheduler restart.
cat >"$T/slow.yaml" <<YAML
workflow: slow
timeout: 2s
tasks:
  a: $long
  b: { type: echo, with: { x: 1 }, needs: [a] }
YAML
"$weft" submit "$T/slow.yaml" --scheduler "$ep" >/dev/null
wait_running 4 1
wait_executed 4 1
kill_scheduler
start_scheduler "$state" "$ep"
wait_run_ended "$state" 4
expect "timed-out run failed" failed "$st"
expect "with the reason" "run timed out after 2.0s" "$(sql "$state" "SELECT error FROM runs WHERE id = 4")"
expect "its tasks stopped with class timeout" "a|cancelled|timeout b|cancelled|timeout" \
    "$(sql "$state" "SELECT group_concat(s, ' ') FROM (SELECT name || '|' || state || '|' || error_class AS s FROM tasks WHERE run_id = 4 ORDER BY idx, elem)")"
took=$(sql "$state" "SELECT (finished_us - created_us) / 1000 FROM runs WHERE id = 4")
[ "$took" -ge 2000 ] && [ "$took" -lt 8000 ] && ok "ended ${took}ms after creation" || fail "ended ${took}ms after creation"
expect "its task ran once, across the restart" "a 1" "$(executions 4)"
expect "the first run's tasks ran once each" "a 1,b 1" "$(executions 1)"
finish
