#!/usr/bin/env bash
# The scheduler is killed with SIGKILL three times during a 1,000-task run and restarted on
# the same catalogue each time. Workers reconnect and report what they are running and what
# they finished meanwhile. The run must finish with every task succeeded exactly once, and
# executed once: each execution appends a line to a file, and a task may run again only in
# place of an attempt the catalogue closed as lost.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
slots=2 # per worker
start_scheduler "$state" "$ep"
start_worker alpha "$ep" $slots
start_worker beta "$ep" $slots
wait_for_workers "$ep" 2 || exit 1

# 50 chains of 20 short shell tasks: ordering matters, and there is always work in flight.
# Each execution appends "TASK ATTEMPT" to $T/executions.txt before it does anything else.
execs="$T/executions.txt"
: >"$execs"
read -r with <<'YAML'
{ argv: [sh, -c, 'echo "$WEFT_TASK $WEFT_ATTEMPT" >>"$EXECS"'], env: { EXECS: "@EXECS@" } }
YAML
with=${with/@EXECS@/$execs}
wf="$T/chains.yaml"
{
    echo "workflow: chains"
    echo "defaults:"
    echo "  retry: { max_attempts: 5, interval: 100ms, on: [lost, crash] }"
    echo "tasks:"
    for i in $(seq 0 999); do
        needs=""
        [ "$i" -lt 50 ] || needs=", needs: [t$((i - 50))]"
        echo "  t$i: { type: shell, with: $with$needs }"
    done
} >"$wf"
"$weft" submit "$wf" --scheduler "$ep" >/dev/null || fail "submit"

# Kill when a fifth, two fifths and three fifths of the tasks are done, whatever the speed.
for k in 1 2 3; do
    for _ in $(seq 600); do
        done_now=$(sql "$state" "SELECT count(*) FROM tasks WHERE state = 'succeeded'")
        [ "${done_now:-0}" -ge $((k * 200)) ] && break
        sleep 0.05
    done
    kill_scheduler
    at_most "killed the scheduler (kill $k) mid-run: tasks done" 999 "$done_now"
    start_scheduler "$state" "$ep"
done

wait_run_ended "$state" 1
expect "run finished and succeeded" succeeded "$st"
expect "tasks succeeded" 1000 "$(sql "$state" "SELECT count(*) FROM tasks WHERE state = 'succeeded'")"
expect "succeeded attempts (exactly one per task)" 1000 "$(sql "$state" "SELECT count(*) FROM attempts WHERE state = 'succeeded'")"
expect "tasks with more than one successful attempt" 0 "$(sql "$state" "SELECT count(*) FROM (SELECT idx FROM attempts WHERE state = 'succeeded' GROUP BY idx HAVING count(*) > 1)")"
expect "no attempt dispatched after its task succeeded" 0 "$(sql "$state" "
    SELECT count(*) FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx
    WHERE a.dispatched_us > t.finished_us")"
expect "children started before a parent ended" 0 "$(sql "$state" "
    SELECT count(*) FROM edges e
    JOIN attempts p ON p.run_id = e.run_id AND p.idx = e.parent AND p.state = 'succeeded'
    JOIN attempts c ON c.run_id = e.run_id AND c.idx = e.child
    WHERE c.started_us < p.finished_us")"
expect "no attempt left open" 0 "$(sql "$state" "SELECT count(*) FROM attempts WHERE state = 'running'")"
expect "resumed three times" 3 "$(sql "$state" "SELECT count(*) FROM events WHERE kind = 'resumed'")"

sleep 0.5 # time for any execution still under way (there should be none) to log itself
check_executions "$state" 1 "$execs"

# Bounds on what the kills cost. Lost: only an attempt open at a kill can be lost (no worker
# dies), and at most one per slot is open at once. Stale results: the results a worker
# resends after each restart (its recent ones, which the previous scheduler had mostly
# applied), plus the late results of lost attempts; every worker registers again once per
# kill, resending at most its last 16 results.
lost=$(sql "$state" "SELECT count(*) FROM attempts WHERE error_class = 'lost'")
stale=$(sql "$state" "SELECT count(*) FROM events WHERE kind = 'stale_result'")
resent=$(sed -n 's/.*register again; resending \([0-9]*\) recent results.*/\1/p' "$T"/worker-*.log |
    awk '{ s += $1 } END { print s + 0 }')
echo "attempts: $(sql "$state" "SELECT count(*) FROM attempts"), executions: $(wc -l <"$execs")," \
    "lost: $lost, stale results: $stale, results resent: $resent"
at_most "lost attempts, at most one per slot per kill" $((3 * 2 * slots)) "$lost"
expect "re-registrations (each worker once per kill)" 6 "$(cat "$T"/worker-*.log | grep -c 'register again')"
at_most "results resent, at most 16 per re-registration" $((6 * 16)) "$resent"
at_most "stale results, at most the resent ones plus the lost attempts'" $((resent + lost)) "$stale"
finish
