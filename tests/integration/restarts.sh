#!/usr/bin/env bash
# Frequent restarts: the scheduler is killed with SIGKILL 30 times, 0.2 to 1 s apart, during
# a 10,000-task run (5,000 in a sanitizer build, which runs about five times slower: 2,000
# there could end after two or three restarts).
# Dispatches committed but never sent before a kill are sent again, same attempt, as soon
# as their worker (the same process) registers again without them, instead of waiting out
# a grace period that starts over at every restart or failing: nothing is lost, none may
# wait for a worker that never comes, every task must succeed once and after its parents,
# and the history stay true (one "ready" event per attempt, whatever the restarts).
# Executions are counted by scheduler-restart and catalog-faults.
. "$(dirname "$0")/lib.sh"
units=10000
[ -n "${WEFT_SANITIZED:-}" ] && units=5000
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$state" "$ep"
start_worker alpha "$ep" 2
start_worker beta "$ep" 2
wait_for_workers "$ep" 2 || exit 1
# 100 chains of no-op tasks: ordering matters, and there is always work in flight; and one
# task of eight seconds, so the run outlasts the first restarts however fast the chains go
# (a fast machine ran them all within three), and an attempt lives through several.
{
    echo "workflow: many"
    echo "defaults:"
    echo "  retry: { max_attempts: 10, interval: 50ms, on: [lost, crash] }"
    echo "tasks:"
    echo "  long: { type: sleep, with: { duration: 8s } }"
    for i in $(seq 0 $((units - 1))); do
        if [ "$i" -lt 100 ]; then
            echo "  t$i: { type: noop }"
        else
            echo "  t$i: { type: noop, needs: [t$((i - 100))] }"
        fi
    done
} >"$T/many.yaml"
"$weft" submit "$T/many.yaml" --scheduler "$ep" >/dev/null || fail "submit"
resumed() { sql "$state" "SELECT count(*) FROM events WHERE run_id = 1 AND kind = 'resumed'"; }
for k in $(seq 30); do
    sleep "0.$((2 + RANDOM % 8))"
    # The first five restarted schedulers are killed only once they have resumed the run (a
    # slow start, as in a sanitizer build on a loaded machine, would otherwise leave few
    # that got that far before the run ends).
    if [ "$k" -ge 2 ] && [ "$k" -le 6 ]; then
        for _ in $(seq 200); do [ "$(resumed)" -gt "$before" ] && break; sleep 0.05; done
    fi
    kill_scheduler
    before=$(resumed)
    start_scheduler "$state" "$ep"
done
last=$(date +%s%N)
left=$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 1 AND state != 'succeeded'")
echo "tasks left at the last restart: $left"
wait_run_ended "$state" 1
took=$(( ($(date +%s%N) - last) / 1000000 ))
expect "the run succeeded" succeeded "$st"
echo "finished $took ms after the last restart"
# Both workers live through every restart, so each attempt left open by a kill is settled
# when its worker registers again (reported, or failed as lost at once): none may wait out
# the grace for attempts nobody reports, which would start over at every restart.
expect "no attempt waited for a worker that never came" 0 \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 1 AND error LIKE '%no worker reported it%'")"
expect "every task succeeded" "$((units + 1))" "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 1 AND state = 'succeeded'")"
expect "succeeded attempts (exactly one per task)" "$((units + 1))" "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 1 AND state = 'succeeded'")"
expect "children started before a parent ended" 0 "$(sql "$state" "
    SELECT count(*) FROM edges e
    JOIN attempts p ON p.run_id = e.run_id AND p.idx = e.parent AND p.state = 'succeeded'
    JOIN attempts c ON c.run_id = e.run_id AND c.idx = e.child
    WHERE e.run_id = 1 AND c.started_us < p.finished_us")"
# A scheduler killed before its first commit leaves no "resumed" event; the first five were
# given the time to get that far.
at_least "resumed after the restarts" 5 "$(resumed)"
expect "one ready event per attempt (restarts add none)" \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 1")" \
    "$(sql "$state" "SELECT count(*) FROM events WHERE run_id = 1 AND kind = 'ready'")"
echo "dispatches sent again after a restart: $(sql "$state" "SELECT count(*) FROM events WHERE run_id = 1 AND kind = 'redispatched'")"
# Both workers are the same processes throughout: whatever a kill stranded between commit
# and send reaches them later, and no attempt is lost.
expect "attempts lost to the restarts" 0 \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 1 AND error_class = 'lost'")"
"$weft" events 1 --scheduler "$ep" >"$T/events.txt" || fail "weft events"
expect "weft events prints the whole trail" "$(sql "$state" "SELECT count(*) FROM events WHERE run_id = 1")" "$(wc -l <"$T/events.txt")"
"$weft" events 999 --scheduler "$ep" 2>"$T/noevents.err"
expect "weft events of an unknown run exits 2" 2 "$?"
expect_grep "and says so" "no run 999" "$T/noevents.err"
finish
