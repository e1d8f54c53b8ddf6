#!/usr/bin/env bash
# Who goes first and how many at once, through a real scheduler and real workers: a higher
# priority reorders a backlog; aging lets a low-priority task through a stream of higher
# ones; a pool limit of 2 holds across three runs, and a workflow's concurrency across two;
# a task no worker can run fails as unschedulable after its schedule_timeout, saying why.
. "$(dirname "$0")/lib.sh"
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
"$WEFT_BIN/weft-scheduler" --state "$state" --listen "$ep" --insecure --priority-aging 3s \
    >"$T/scheduler.log" 2>&1 &
SCHED_PID=$!
PIDS+=("$SCHED_PID")
# One slot and no queue: the order of starts is the scheduler's order.
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name one --slots 1 --prefetch 0 \
    --plugin-path "$WEFT_PLUGIN_PATH" --work-dir "$T/work-one" --heartbeat 200 \
    >"$T/worker-one.log" 2>&1 &
PIDS+=("$!")
wait_for_workers "$ep" 1 || exit 1

# backlog NAME PRIORITY N SECONDS LOG: a workflow of N tasks that note their start in LOG
# (PRIORITY -: none).
backlog() {
    echo "workflow: $1"
    [ "$2" = - ] || echo "priority: $2"
    echo "tasks:"
    for i in $(seq "$3"); do
        echo "  t$i: { type: shell, with: { argv: [sh, -c, 'echo $1 >>$5; sleep $4'] } }"
    done
}
submit() { "$weft" submit "$1" --scheduler "$ep" --json | sed -n 's/.*"run": \([0-9]*\).*/\1/p'; }

backlog low 0 6 0.5 "$T/order" >"$T/low.yaml"
backlog high 5 3 0.5 "$T/order" >"$T/high.yaml"
low=$(submit "$T/low.yaml")
for _ in $(seq 50); do [ -s "$T/order" ] && break; sleep 0.05; done
high=$(submit "$T/high.yaml")
wait_run_ended "$state" "$low"
wait_run_ended "$state" "$high"
expect "a priority-5 run submitted behind a priority-0 backlog goes first" \
    "low high high high low low low low low" "$(paste -sd' ' "$T/order")"

# A project's priority is that of its runs' tasks that name none.
"$weft" project set urgent --priority 3 --state "$state" >"$T/project.txt"
expect_grep "project set takes a priority" "project urgent: .*, priority 3$" "$T/project.txt"
"$weft" project set urgent --priority 5000 --state "$state" 2>"$T/project-bad.txt"
expect "... from -1000 to 1000" 2 "$?"
expect_grep "... saying so" "--priority takes a whole number from -1000 to 1000, not '5000'" \
    "$T/project-bad.txt"
backlog plain - 4 0.5 "$T/order2" >"$T/plain.yaml"
backlog quick - 2 0.5 "$T/order2" >"$T/quick.yaml"
plain=$(submit "$T/plain.yaml")
for _ in $(seq 50); do [ -s "$T/order2" ] && break; sleep 0.05; done
quick=$("$weft" submit "$T/quick.yaml" --scheduler "$ep" --project urgent --json |
    sed -n 's/.*"run": \([0-9]*\).*/\1/p')
wait_run_ended "$state" "$plain"
wait_run_ended "$state" "$quick"
expect "a run of project urgent (priority 3) goes before the default project's backlog" \
    "plain quick quick plain plain plain" "$(paste -sd' ' "$T/order2")"
"$weft" project ls --state "$state" >"$T/projects.txt"
expect_grep "project ls shows the priority" "^urgent +.* 3 +1$" "$T/projects.txt"

# Aging: a priority-0 task beside a stream of priority-1 ones (a chain: each becomes ready
# as the last ends) would wait for the whole stream; it rises to 1 after 3 s of waiting, and
# then goes first (it became ready before the next of them).
{
    echo "workflow: stream"
    echo "priority: 1"
    echo "tasks:"
    for i in $(seq 16); do
        echo "  t$i: { type: shell, needs: [$([ "$i" -gt 1 ] && echo "t$((i - 1))")], with: { argv: [sh, -c, 'echo stream >>$T/aging; sleep 0.5'] } }"
    done
} >"$T/stream.yaml"
backlog lone 0 1 0 "$T/aging" >"$T/lone.yaml"
stream=$(submit "$T/stream.yaml")
for _ in $(seq 50); do [ -s "$T/aging" ] && break; sleep 0.05; done
lone=$(submit "$T/lone.yaml")
wait_run_ended "$state" "$lone"
pos=$(grep -n '^lone$' "$T/aging" | cut -d: -f1)
at_least "aging: the low-priority task waited for higher ones first" 4 "$pos"
at_most "... but not for the whole stream of 16" 12 "$pos"
waited=$(sql "$state" "SELECT (a.dispatched_us - r.created_us) / 1000 FROM attempts a
                       JOIN runs r ON r.id = a.run_id WHERE a.run_id = $lone")
at_least "... after about one aging interval (ms)" 2500 "$waited"
"$weft" cancel "$stream" --scheduler "$ep" >/dev/null
wait_run_ended "$state" "$stream"

# A pool of 2 across three runs, on a worker with room for four.
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name four --slots 4 \
    --plugin-path "$WEFT_PLUGIN_PATH" --work-dir "$T/work-four" --heartbeat 200 \
    >"$T/worker-four.log" 2>&1 &
PIDS+=("$!")
wait_for_workers "$ep" 2 || exit 1
cat >"$T/licensed.yaml" <<YAML
workflow: licensed
limits: { glpk: 2 }
defaults: { pool: glpk }
tasks:
YAML
for i in 1 2 3; do
    echo "  s$i: { type: shell, with: { argv: [sh, -c, 'echo \"x \$(date +%s%3N) start\" >>$T/pool; sleep 0.6; echo \"x \$(date +%s%3N) end\" >>$T/pool'] } }" >>"$T/licensed.yaml"
done
runs=""
for _ in 1 2 3; do runs="$runs $(submit "$T/licensed.yaml")"; done
"$weft" status "${runs##* }" --scheduler "$ep" >"$T/held.txt"
expect_grep "weft status says a task waits for its pool" \
    "ready .*waiting: pool 'glpk' is at its limit \(2 in flight\)" "$T/held.txt"
for r in $runs; do wait_run_ended "$state" "$r"; done
most() { sort -k2,2n "$1" | awk '$3 == "start" {n++} $3 == "end" {n--} n > m {m = n} END {print m}'; }
expect "nine tasks of three runs in pool glpk (limit 2) run two at a time" 2 "$(most "$T/pool")"
expect "... and all succeed" "succeeded succeeded succeeded" \
    "$(for r in $runs; do sql "$state" "SELECT state FROM runs WHERE id = $r"; done | paste -sd' ')"

# A workflow's concurrency: 1 across two runs.
cat >"$T/single.yaml" <<YAML
workflow: single
concurrency: 1
tasks:
  a: { type: shell, with: { argv: [sh, -c, 'echo "x \$(date +%s%3N) start" >>$T/conc; sleep 0.4; echo "x \$(date +%s%3N) end" >>$T/conc'] } }
  b: { type: shell, with: { argv: [sh, -c, 'echo "x \$(date +%s%3N) start" >>$T/conc; sleep 0.4; echo "x \$(date +%s%3N) end" >>$T/conc'] } }
YAML
r1=$(submit "$T/single.yaml") r2=$(submit "$T/single.yaml")
wait_run_ended "$state" "$r1"
wait_run_ended "$state" "$r2"
expect "concurrency: 1 runs the four tasks of two runs one at a time" 1 "$(most "$T/conc")"

# Unschedulable: no worker carries the label; it fails after its schedule_timeout.
cat >"$T/never.yaml" <<'YAML'
workflow: never
limits: { lic: 1 }
tasks:
  tpu: { type: noop, labels: { pool: tpu }, schedule_timeout: 1s }
  holder: { type: shell, pool: lic, with: { argv: [sleep, "2"] } }
  behind: { type: shell, pool: lic, schedule_timeout: 1s, with: { argv: ["true"] } }
YAML
never=$(submit "$T/never.yaml" 2>/dev/null)
wait_run_ended "$state" "$never"
expect "a task no worker can run fails its run" failed "$st"
expect "... as unschedulable" "unschedulable" \
    "$(sql "$state" "SELECT error_class FROM tasks WHERE run_id = $never AND name = 'tpu'")"
expect "... saying how long it waited and why" \
    "not started within its schedule_timeout of 1.0s: no worker running noop carries label pool=tpu" \
    "$(sql "$state" "SELECT error FROM tasks WHERE run_id = $never AND name = 'tpu'")"
took=$(sql "$state" "SELECT (finished_us - ready_us) / 1000 FROM tasks WHERE run_id = $never
                     AND name = 'tpu'")
at_least "... after its timeout (ms)" 1000 "$took"
at_most "... not much later" 2000 "$took"
expect "a task held back by its pool's limit fails the same way, naming the pool" \
    "unschedulable|not started within its schedule_timeout of 1.0s: pool 'lic' is at its limit (1 in flight)" \
    "$(sql "$state" "SELECT error_class || '|' || error FROM tasks WHERE run_id = $never AND name = 'behind'")"
expect "... while the one holding the pool succeeds" succeeded \
    "$(sql "$state" "SELECT state FROM tasks WHERE run_id = $never AND name = 'holder'")"
"$weft" status "$never" --scheduler "$ep" >"$T/never.txt"
expect_grep "weft status shows the class" "tpu +noop +failed .*not started within its schedule_timeout" \
    "$T/never.txt"
finish
