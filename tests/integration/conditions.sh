#!/usr/bin/env bash
# Conditions, through a real scheduler and worker: of two branches with when:, the one whose
# condition holds runs, for each value of a parameter; a task joining them with ?? runs on
# the branch that ran; one reading the skipped branch's output is skipped too, one that only
# needs it runs; the run succeeds, and weft status says why each task was skipped; a skip
# survives a scheduler kill -9; a when that cannot be computed fails its task.
. "$(dirname "$0")/lib.sh"
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$state" "$ep"
start_worker w1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
cat >"$T/branches.yaml" <<'YAML'
workflow: branches
params:
  mode: fast
tasks:
  fast:
    type: shell
    when: "${ params.mode == 'fast' }"
    with: { argv: [echo, quick] }
  slow:
    type: shell
    when: "${ params.mode != 'fast' }"
    with: { argv: [echo, careful] }
  join:
    type: shell
    with: { argv: [echo, "got ${ fast.outputs.stdout ?? slow.outputs.stdout }"] }
  reads_slow:
    type: shell
    with: { argv: [echo, "${slow.outputs.stdout}"] }
  after_slow:
    type: shell
    needs: [slow]
    with: { argv: [echo, ran] }
YAML
row() { sql "$state" "SELECT state || '|' || coalesce(error, '') FROM tasks WHERE run_id = $1 AND name = '$2'"; }
for mode in fast slow; do
    "$weft" submit "$T/branches.yaml" -p mode=$mode --scheduler "$ep" --wait --timeout 30s \
        >"$T/$mode.txt" 2>&1
    expect "mode=$mode: the run succeeds with skipped tasks" 0 "$?"
done
expect "mode=fast runs the fast branch" "succeeded|" "$(row 1 fast)"
expect "... and skips the slow one, saying why" \
    "skipped|when \${ params.mode != 'fast' } is false" "$(row 1 slow)"
expect "mode=slow runs the slow branch" "succeeded|" "$(row 2 slow)"
expect "... and skips the fast one" "skipped|when \${ params.mode == 'fast' } is false" \
    "$(row 2 fast)"
expect "?? joins the branch that ran (fast)" 'got quick' \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 1 AND name = 'join'")"
expect "... and the other (slow)" 'got careful' \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 2 AND name = 'join'")"
expect "a task reading a skipped task's output is skipped too" \
    "skipped|task 'slow' was skipped, so it made no output 'stdout'" "$(row 1 reads_slow)"
expect "a task that only needs a skipped task runs" "succeeded|" "$(row 1 after_slow)"
expect "a skipped task makes no attempt" 0 \
    "$(sql "$state" "SELECT count(*) FROM attempts a JOIN tasks t ON t.run_id = a.run_id
                     AND t.idx = a.idx WHERE t.run_id = 1 AND t.name IN ('slow', 'reads_slow')")"
"$weft" status 1 --scheduler "$ep" >"$T/status.txt"
expect_grep "weft status shows a skipped task and why" \
    "^slow +shell +skipped .*when \\\$\{ params.mode != 'fast' \} is false" "$T/status.txt"

"$weft" graph "$T/branches.yaml" --dot >"$T/graph.dot"
expect_grep "the graph marks a task with a condition" \
    '"slow" \[label="slow\\n\(shell\)\\nwhen ...", style="rounded,dashed"\]' "$T/graph.dot"

# A skip survives a kill -9: its child that only needs it still runs after the restart.
cat >"$T/gate.yaml" <<'YAML'
workflow: gate
tasks:
  long: { type: shell, with: { argv: [sleep, "2"] } }
  gate: { type: shell, when: "${ 1 > 2 }", with: { argv: [echo, never] } }
  after: { type: shell, needs: [gate, long], with: { argv: [echo, after] } }
  reader: { type: shell, needs: [long], with: { argv: [echo, "${gate.outputs.stdout}"] } }
YAML
run=$("$weft" submit "$T/gate.yaml" --scheduler "$ep" --json | sed -n 's/.*"run": \([0-9]*\).*/\1/p')
for _ in $(seq 50); do [ "$(row "$run" gate)" != "pending|" ] && break; sleep 0.1; done
kill_scheduler
start_scheduler "$state" "$ep"
wait_run_ended "$state" "$run"
expect "after a kill -9, the run with a skipped task succeeds" succeeded "$st"
expect "... the task that needs it ran" "succeeded|" "$(row "$run" after)"
expect "... the one reading it was skipped" \
    "skipped|task 'gate' was skipped, so it made no output 'stdout'" "$(row "$run" reader)"

# A when that cannot be computed fails its task (and the run), naming why.
cat >"$T/badwhen.yaml" <<'YAML'
workflow: badwhen
tasks:
  word: { type: shell, with: { argv: [echo, seven] } }
  gated: { type: noop, when: "${ int(word.outputs.stdout) > 3 }" }
YAML
run=$("$weft" submit "$T/badwhen.yaml" --scheduler "$ep" --json | sed -n 's/.*"run": \([0-9]*\).*/\1/p')
wait_run_ended "$state" "$run"
expect "a when that fails fails the run" failed "$st"
expect "... its task fatally, naming why" \
    "failed|when \${ int(word.outputs.stdout) > 3 }: int(): 'seven' is not a number" \
    "$(row "$run" gated)"
finish
