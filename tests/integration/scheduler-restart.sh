#!/usr/bin/env bash
# The scheduler is killed with SIGKILL three times during a 2,000-task run and restarted on
# the same catalogue each time. Workers reconnect and report what they are running and what
# they finished meanwhile. The run must finish with every task succeeded exactly once.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker alpha "$ep" 2
start_worker beta "$ep" 2
wait_for_workers "$ep" 2 || exit 1

# 100 chains of 20 short sleeps: ordering matters, and there is always work in flight.
wf="$T/chains.yaml"
{
    echo "workflow: chains"
    echo "defaults:"
    echo "  retry: { max_attempts: 5, interval: 100ms, on: [lost, crash] }"
    echo "tasks:"
    for i in $(seq 0 1999); do
        if [ "$i" -lt 100 ]; then
            echo "  t$i: { type: sleep, with: { duration: 10ms } }"
        else
            echo "  t$i: { type: sleep, with: { duration: 10ms }, needs: [t$((i - 100))] }"
        fi
    done
} >"$wf"
"$weft" submit "$wf" --scheduler "$ep" >/dev/null || fail "submit"

for k in 1 2 3; do
    sleep 1.5
    done_now=$(sql "$state" "SELECT count(*) FROM tasks WHERE state = 'succeeded'")
    kill_scheduler
    ok "killed the scheduler (kill $k) with $done_now tasks done"
    mv "$T/scheduler.log" "$T/scheduler-$k.log.txt"
    start_scheduler "$state" "$ep"
done

wait_run_ended "$state" 1
expect "run finished and succeeded" succeeded "$st"
expect "tasks succeeded" 2000 "$(sql "$state" "SELECT count(*) FROM tasks WHERE state = 'succeeded'")"
expect "succeeded attempts (exactly one per task)" 2000 "$(sql "$state" "SELECT count(*) FROM attempts WHERE state = 'succeeded'")"
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
echo "attempts: $(sql "$state" "SELECT count(*) FROM attempts"), lost: $(sql "$state" "SELECT count(*) FROM attempts WHERE error_class = 'lost'"), stale results: $(sql "$state" "SELECT count(*) FROM events WHERE kind = 'stale_result'")"
finish
