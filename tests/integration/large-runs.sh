#!/usr/bin/env bash
# A run of more tasks than people read: the summary at the end of `weft submit --wait` (and
# of weft run) names at most 20 failed tasks and counts the rest, and `weft status` of a run
# of more than 1,000 tasks lists those that did not succeed and counts the others by state,
# from the scheduler and from the local catalogue alike, and says why those not listed wait
# for a worker; --json still lists every task, and `weft events` still reads the run. A small
# run is listed whole, as before.
. "$(dirname "$0")/lib.sh"
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker w1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
cli=(--scheduler "$ep")

# 1,030 tasks: 1,000 that succeed and 30 that fail.
{ echo "workflow: wide"; echo "tasks:"
  for i in $(seq 1 1000); do echo "  ok$i: { type: noop }"; done
  for i in $(seq 1 30); do echo "  bad$i: { type: fail, with: { message: \"bad number $i\" } }"; done
} >"$T/wide.yaml"
"$weft" submit "$T/wide.yaml" "${cli[@]}" --wait >"$T/wide.out" 2>&1
expect "a run with failed tasks exits 1" 1 $?
expect_grep "the summary counts every task" "^run 1 failed: 1000/1030 tasks succeeded in" "$T/wide.out"
expect "the summary names 20 failed tasks" 20 "$(grep -c '^  bad[0-9]* failed (' "$T/wide.out")"
expect "each with its log" 20 "$(grep -c '^    see: weft logs 1 bad' "$T/wide.out")"
expect_grep "and counts the other 10" "^  \.\.\. and 10 more failed \(weft status 1\)$" "$T/wide.out"
expect "every task ran" 1030 "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 1 AND attempts = 1")"

# The run's tasks by state, kept as it finished, answer a following client's look at it
# without counting its rows; a run that finished without them (one of a catalogue from
# before they were kept), or with text that is not a JSON object, is counted from its rows.
kept='{"failed": 30, "succeeded": 1000}'
expect "the catalogue keeps the run's final counts" "$kept" \
    "$(sql "$state" "SELECT counts FROM runs WHERE id = 1" |
        python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')"
look() { "$WEFT_BIN/weft-testpeer" "$ep" progress 1 2>&1 | grep '^counts: '; }
expect "a client's look at the run answers them" "counts: $kept" "$(look)"
sql "$state" "UPDATE runs SET counts = '{\"succeeded\": 7}' WHERE id = 1"
expect "... as they are kept, without counting the rows" 'counts: {"succeeded": 7}' "$(look)"
for bad in NULL "'[1, 2]'" "'not json'"; do
    sql "$state" "UPDATE runs SET counts = $bad WHERE id = 1"
    expect "with $bad kept, its rows are counted" "counts: $kept" "$(look)"
done

# status: the 30 failed listed (the run has more than 1,000 tasks), the 1,000 others counted.
for from in scheduler local; do
    if [ "$from" = scheduler ]; then
        "$weft" status 1 "${cli[@]}" >"$T/status-$from.out" 2>&1
    else
        "$weft" status 1 --state "$state" >"$T/status-$from.out" 2>&1
    fi
    expect "status exits 0 ($from)" 0 $?
    expect "status lists the 30 failed tasks ($from)" 30 \
        "$(grep -c '^bad[0-9]* .*failed' "$T/status-$from.out")"
    expect "and no succeeded one ($from)" 0 "$(grep -c '^ok[0-9]* ' "$T/status-$from.out")"
    expect_grep "it counts those not listed ($from)" \
        "^\.\.\. 1000 more tasks, not listed: 1000 succeeded \(weft status 1 --json lists every one\)$" \
        "$T/status-$from.out"
done
"$weft" status 1 "${cli[@]}" --json >"$T/status.json"
expect "--json lists every task" "1030 30" "$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tasks"]; print(len(t), sum(x["state"] == "failed" for x in t))' "$T/status.json")"
"$weft" events 1 "${cli[@]}" >"$T/events.out" 2>&1
expect "events of the large run exits 0" 0 $?
expect_grep "events reads its trail" "bad30" "$T/events.out"

# Tasks not listed still say why they wait: 1,001 tasks no worker can run.
{ echo "workflow: stuck"; echo "tasks:"
  for i in $(seq 1 1001); do echo "  s$i: { type: noop, labels: { zone: mars } }"; done
} >"$T/stuck.yaml"
"$weft" submit "$T/stuck.yaml" "${cli[@]}" >/dev/null 2>&1 || fail "submit stuck"
for _ in $(seq 100); do
    "$weft" status 2 "${cli[@]}" >"$T/stuck.out" 2>&1
    grep -q 'waiting' "$T/stuck.out" && break
    sleep 0.1
done
expect_grep "the ready tasks are counted" "^\.\.\. 1001 more tasks, not listed: 1001 ready" "$T/stuck.out"
expect_grep "and why the first of them waits is said" \
    "^s1 waiting: no worker running noop carries label zone=mars$" "$T/stuck.out"
"$weft" cancel 2 "${cli[@]}" >/dev/null 2>&1 || fail "cancel stuck"

# A small run is listed whole, its summary names each failure, with nothing counted apart.
printf 'workflow: small\ntasks:\n  a: { type: noop }\n  b: { type: fail, with: { message: "no" } }\n' \
    >"$T/small.yaml"
"$weft" submit "$T/small.yaml" "${cli[@]}" --wait >"$T/small.out" 2>&1
expect "the small run fails" 1 $?
expect_grep "its summary" "^run 3 failed: 1/2 tasks succeeded in" "$T/small.out"
expect_grep "names its failed task" "^  b failed \(" "$T/small.out"
expect "and counts nothing apart" 0 "$(grep -c 'more failed\|not listed' "$T/small.out")"
"$weft" status 3 "${cli[@]}" >"$T/status3.out" 2>&1
expect "status lists both tasks" 2 "$(grep -c '^[ab] ' "$T/status3.out")"
expect "and nothing more" 0 "$(grep -c 'not listed' "$T/status3.out")"
