#!/usr/bin/env bash
# The example plugin's own test: it passes weft-plugin-test with its cases, keeps its
# open() state across the tasks one executor runs, and resumes from its last checkpoint
# after a crash, ending with the same counts as a run that never crashed.
. "$WEFT_SRC/tests/integration/lib.sh"
here="$WEFT_SRC/plugins/example"
so="$WEFT_PLUGIN_PATH/example.so"
WEFT="$weft" "$WEFT_SRC/scripts/plugin-test.sh" "$so" "$here/cases.txt" >"$T/suite.out" 2>&1
expect "weft-plugin-test passes with the example's cases" 0 $?
expect_grep "all five cases ran" "all checks passed \(5 cases\)" "$T/suite.out"

port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker x1 "$ep" 1
wait_for_workers "$ep" 1 || exit 1
q() { sql "$T/state" "$1"; }

# One slot, three tasks in a row: one executor, one open(), state kept.
cat >"$T/state.yaml" <<YAML
workflow: example-state
tasks:
  a: { type: example.wordcount, with: { text: $here/sample.txt } }
  b: { type: example.wordcount, needs: [a], with: { text: $here/sample.txt } }
  c: { type: example.wordcount, needs: [b], with: { text: $here/sample.txt } }
YAML
"$weft" submit "$T/state.yaml" --scheduler "$ep" --wait >"$T/run1.out" 2>&1
expect "three tasks in one executor" 0 $?
expect "open() state is kept across tasks: served counts 1, 2, 3" "1 2 3" \
    "$(task_out 1 a served) $(task_out 1 b served) $(task_out 1 c served)"
expect "open() ran once, in the first task" "1 1" \
    "$(cat "$T"/state/logs/1/*.log | grep -c 'opened (') $(grep -c 'opened (' "$T/state/logs/1/a.1.log")"

# A text of some 9,000 lines; the first attempt dies at line 2,600, having saved a
# checkpoint every 500 lines; the retry resumes after line 2,500.
cat /usr/share/doc/python3.11/html/_sources/tutorial/*.txt >"$T/book.txt"
lines=$(wc -l <"$T/book.txt")
at_least "the text is long enough" 5000 "$lines"
cat >"$T/crash.yaml" <<YAML
workflow: example-crash
tasks:
  count:
    type: example.wordcount
    retry: { max_attempts: 2, interval: 100ms }
    with: { text: $T/book.txt, every: 500, crash_after: 2600, top: 20 }
  whole:
    type: example.wordcount
    with: { text: $T/book.txt, top: 20 }
YAML
"$weft" submit "$T/crash.yaml" --scheduler "$ep" --wait >"$T/run2.out" 2>&1
expect "the run succeeds after the crash" 0 $?
expect "attempt 1 crashed, attempt 2 succeeded" "crash succeeded" \
    "$(q "SELECT group_concat(coalesce(error_class, state), ' ') FROM (SELECT error_class, state FROM attempts WHERE run_id = 2 AND idx = 0 ORDER BY number)")"
expect "attempt 1's last checkpoint is recorded" "1" \
    "$(q "SELECT count(*) FROM attempts WHERE run_id = 2 AND idx = 0 AND number = 1 AND json_extract(checkpoint, '\$.artifact') IS NOT NULL")"
expect "the retry resumed after line 2500" 2500 "$(task_out 2 count resumed_at)"
expect_grep "its log says so" "resuming at line 2500" "$T/state/logs/2/count.2.log"
expect "resumed counts equal an uninterrupted count" \
    "$(task_out 2 whole words) $(task_out 2 whole distinct) $(task_out 2 whole top)" \
    "$(task_out 2 count words) $(task_out 2 count distinct) $(task_out 2 count top)"
expect "the task that never crashed started from the beginning" 0 "$(task_out 2 whole resumed_at)"
ck=$(q "SELECT json_extract(checkpoint, '\$.artifact') FROM attempts WHERE run_id = 2 AND idx = 0 AND number = 1")
expect "the checkpoint blob is in the store, intact" "$ck" \
    "$(b2sum -l 256 "$(blob_path "$ck")" | cut -d' ' -f1)"
expect_grep "it holds the counts after line 2500" "^example.wordcount 1 2500$" <(head -n 1 "$(blob_path "$ck")")
# weft retry of a run whose task crashed: the new run's first attempt resumes from the
# failed run's last checkpoint (same task, same inputs) instead of starting over, which
# would crash again. With other inputs (-p top=5) the checkpoint is not theirs: it starts
# over, and crashes.
cat >"$T/once.yaml" <<YAML
workflow: example-once
params:
  top: { type: int, default: 20 }
tasks:
  count:
    type: example.wordcount
    with: { text: $T/book.txt, every: 500, crash_after: 2600, top: "\${params.top}" }
YAML
"$weft" submit "$T/once.yaml" --scheduler "$ep" --wait >"$T/run3.out" 2>&1
expect "without retries the crash fails the run" "failed crash" \
    "$(q "SELECT state, error_class FROM tasks WHERE run_id = 3" | tr '|' ' ')"
"$weft" retry 3 --scheduler "$ep" --wait >"$T/run4.out" 2>&1
expect "weft retry succeeds" 0 $?
expect "its first attempt resumed from the failed run's checkpoint" "1 2500" \
    "$(q "SELECT attempts FROM tasks WHERE run_id = 4") $(task_out 4 count resumed_at)"
expect "with the counts of an uninterrupted run" \
    "$(task_out 2 whole words) $(task_out 2 whole top)" "$(task_out 4 count words) $(task_out 4 count top)"
"$weft" retry 3 -p top=5 --scheduler "$ep" --wait >"$T/run5.out" 2>&1
expect "with other inputs the retry starts over (and crashes again)" "failed crash 0" \
    "$(q "SELECT state, error_class FROM tasks WHERE run_id = 5" | tr '|' ' ') $(cat "$T/state/logs/5/count.1.log" 2>/dev/null | grep -c resuming)"
finish
