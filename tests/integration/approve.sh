#!/usr/bin/env bash
# Approvals, through a real scheduler and worker: a task of type approve waits, holding no
# worker slot, until `weft signal`: granted with typed values that a later task reads;
# rejected, failing the run with the reason; timed out; and one that survives a scheduler
# kill -9 while waiting, approved after the restart (and one whose deadline is kept across
# it). Every refused signal (not an approval, not waiting, a missing, unknown or mistyped
# value, no reason) says why and changes nothing.
. "$(dirname "$0")/lib.sh"
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker w1 "$ep" 1
wait_for_workers "$ep" 1 || exit 1
cli=(--scheduler "$ep")

cat >"$T/gate.yaml" <<'YAML'
workflow: gate
params: { auc: 0.97 }
defaults: { timeout: 2s, retry: { max_attempts: 3 } }   # neither applies to an approval
tasks:
  train: { type: shell, with: { argv: [echo, "${ string(params.auc) }"] } }
  approval:
    type: approve
    with: { message: "Deploy the model with AUC ${train.outputs.stdout}?" }
    outputs: { note: string, rate: float, shards: list<int> }
  deploy:
    type: shell
    with:
      argv: [echo, "${approval.outputs.approved_by}", "${approval.outputs.note}",
             "${ string(approval.outputs.rate * 2) }", "${ string(len(approval.outputs.shards)) }"]
YAML
# wait_state RUN TASK STATE: until the task is in STATE (at most 30 s).
wait_state() {
    for _ in $(seq 300); do
        [ "$(sql "$state" "SELECT state FROM tasks WHERE run_id = $1 AND name = '$2'")" = "$3" ] &&
            return 0
        sleep 0.1
    done
    fail "run $1 task $2 never became $3"
}
task_row() { sql "$state" "SELECT state || '|' || coalesce(error_class, '') || '|' ||
                           coalesce(error, '') FROM tasks WHERE run_id = $1 AND name = '$2'"; }

"$weft" submit "$T/gate.yaml" "${cli[@]}" >/dev/null || fail "submit 1"
wait_state 1 approval waiting
expect "the approval waits, saying what it asks" \
    "waiting||waiting for approval: Deploy the model with AUC 0.97?" "$(task_row 1 approval)"
sleep 2.5 # past the defaults' timeout, which is not the approval's
expect "... past the defaults' timeout (its own timeout only applies)" waiting \
    "$(sql "$state" "SELECT state FROM tasks WHERE run_id = 1 AND name = 'approval'")"
expect "... with no attempt: no worker ran it" 0 \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 1 AND idx = 1")"
"$weft" status 1 "${cli[@]}" >"$T/status1.txt" 2>&1
expect_grep "weft status shows it waiting with its question" \
    "approval .*waiting.*Deploy the model with AUC 0.97" "$T/status1.txt"
# Its worker's only slot stays free: another run's task runs meanwhile.
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" "${cli[@]}" --wait --timeout 30s \
    >/dev/null 2>&1
expect "the worker's one slot is free while it waits: another run ran" 0 "$?"

refused() { # description, expected exit, expected message, signal arguments...
    local what=$1 rc=$2 msg=$3
    shift 3
    "$weft" signal "$@" "${cli[@]}" >"$T/sig.out" 2>"$T/sig.err"
    expect "$what: refused" "$rc" "$?"
    expect_grep "... saying why" "$msg" "$T/sig.err"
}
refused "a task that is no approval" 2 "task 'train' is of type shell, not approve" \
    1 train --approve
refused "an approval without a declared value" 2 \
    "approving task 'approval' needs -i shards=VALUE \\(list<int>\\), which its outputs: declares" \
    1 approval --approve -i note=ok -i rate=0.5
refused "a value of the wrong type" 2 \
    "value 'rate' must be of type float; 'fast' is not" \
    1 approval --approve -i note=ok -i rate=fast -i 'shards=[1,2]'
refused "a list element of the wrong type" 2 \
    "value 'shards' must be of type list<int>; '\[1,\"x\"\]' is not" \
    1 approval --approve -i note=ok -i rate=1 -i 'shards=[1,"x"]'
refused "a value it does not declare" 2 "task 'approval' takes no value 'colour'" \
    1 approval --approve -i note=ok -i rate=1 -i 'shards=[1]' -i colour=red
refused "a rejection without a reason" 2 "a rejection needs a reason of 1 to 1000 bytes" \
    1 approval --reject ""
refused "an unknown task" 2 "run 1 has no task 'nope'" 1 nope --approve
refused "neither --approve nor --reject" 2 "signal takes RUN TASK and one of" 1 approval
refused "an unknown run" 2 "" 99 approval --approve
expect "nothing changed: it still waits" waiting \
    "$(sql "$state" "SELECT state FROM tasks WHERE run_id = 1 AND name = 'approval'")"
"$weft" signal 1 approval --approve -i note=ship -i rate=0.25 -i 'shards=[1, 2, 3]' \
    "${cli[@]}" >"$T/sig.out" 2>&1
expect "an approval with its values is taken" 0 "$?"
expect_grep "... and said" "run 1: task approval approved" "$T/sig.out"
wait_run_ended "$state" 1
expect "the approved run succeeds" succeeded "$st"
expect "... its values are the approval's outputs, typed, with who approved" \
    '{"note":"ship","rate":0.25,"shards":[1,2,3],"approved_by":"insecure"}' \
    "$(sql "$state" "SELECT outputs FROM tasks WHERE run_id = 1 AND name = 'approval'")"
expect "... and what came after read them" "insecure ship 0.5 3" \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 1
                     AND name = 'deploy'")"
expect "... the decision is in the run's events, naming who" "approved|by insecure" \
    "$(sql "$state" "SELECT kind || '|' || detail FROM events WHERE run_id = 1
                     AND task = 'approval' AND kind = 'approved'")"
refused "a second decision" 2 "run 1 is not running \\(it succeeded\\)" \
    1 approval --reject "too late"

# Rejected: the run fails, fatally, with the reason; what needs it is skipped.
"$weft" submit "$T/gate.yaml" "${cli[@]}" >/dev/null || fail "submit 3"
wait_state 3 approval waiting
"$weft" signal 3 approval --reject "AUC too low for production" "${cli[@]}" >/dev/null 2>&1
expect "a rejection is taken" 0 "$?"
wait_run_ended "$state" 3
expect "the rejected run fails" failed "$st"
expect "... the approval fatally, with who and why" \
    "failed|fatal|rejected by insecure: AUC too low for production" "$(task_row 3 approval)"
expect "... and deploy never ran" skipped \
    "$(sql "$state" "SELECT state FROM tasks WHERE run_id = 3 AND name = 'deploy'")"

# Timed out: no decision within its own timeout fails it as timeout.
sed 's/^    type: approve$/    type: approve\n    timeout: 1s/' "$T/gate.yaml" >"$T/timed.yaml"
"$weft" submit "$T/timed.yaml" "${cli[@]}" --wait --timeout 30s >/dev/null 2>&1
expect "an approval nobody decides in time fails its run" 1 "$?"
expect "... as timeout, saying so" "failed|timeout|no approval within 1.0s" "$(task_row 4 approval)"
took=$(sql "$state" "SELECT (finished_us - ready_us) / 1000 FROM tasks WHERE run_id = 4
                     AND name = 'approval'")
[ "$took" -ge 900 ] && [ "$took" -lt 5000 ] && ok "it waited ${took}ms of its 1s" ||
    fail "it waited ${took}ms of its 1s"

# Survives a scheduler kill -9 while waiting: the wait is kept, then approved. A second run
# with a 4s timeout keeps its deadline across the restart.
"$weft" submit "$T/gate.yaml" "${cli[@]}" >/dev/null || fail "submit 5"
sed 's/^    type: approve$/    type: approve\n    timeout: 4s/' "$T/gate.yaml" >"$T/timed4.yaml"
"$weft" submit "$T/timed4.yaml" "${cli[@]}" >/dev/null || fail "submit 6"
wait_state 5 approval waiting
wait_state 6 approval waiting
kill_scheduler
start_scheduler "$state" "$ep"
wait_for_workers "$ep" 1 || exit 1
expect "after a kill -9 the approval still waits" waiting \
    "$(sql "$state" "SELECT state FROM tasks WHERE run_id = 5 AND name = 'approval'")"
"$weft" signal 5 approval --approve -i note=after -i rate=1 -i 'shards=[]' "${cli[@]}" \
    >/dev/null 2>&1
expect "... and is approved after the restart" 0 "$?"
wait_run_ended "$state" 5
expect "... its run succeeds" succeeded "$st"
expect "... deploy read the values" "insecure after 2 0" \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 5
                     AND name = 'deploy'")"
wait_run_ended "$state" 6
expect "the other's deadline held across the restart" "failed|timeout|no approval within 4.0s" \
    "$(task_row 6 approval)"
expect "no approval ever had an attempt" 0 \
    "$(sql "$state" "SELECT count(*) FROM attempts a JOIN tasks t ON t.run_id = a.run_id
                     AND t.idx = a.idx AND t.elem = a.elem WHERE t.type = 'approve'")"
# weft retry of the rejected run asks again, reusing what succeeded before it.
"$weft" retry 3 "${cli[@]}" >/dev/null 2>&1 || fail "retry 3"
retried=$(sql "$state" "SELECT max(id) FROM runs")
wait_state "$retried" approval waiting
expect "a retried run's approval waits again; train is reused, not run again" 0 \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = $retried")"
"$weft" signal "$retried" approval --reject "still no" "${cli[@]}" >/dev/null 2>&1
wait_run_ended "$state" "$retried"
expect "... and is decided again" "failed|fatal|rejected by insecure: still no" \
    "$(task_row "$retried" approval)"

# An approval granted in a run that then failed is not asked again by weft retry.
touch "$T/broken"
cat >"$T/after.yaml" <<YAML
workflow: after
tasks:
  approval: { type: approve, outputs: { note: string } }
  work:
    type: shell
    with: { argv: [sh, -c, 'test ! -e "\$1"', sh, "$T/broken", "\${approval.outputs.note}"] }
YAML
"$weft" submit "$T/after.yaml" "${cli[@]}" >/dev/null || fail "submit after"
first=$(sql "$state" "SELECT max(id) FROM runs")
wait_state "$first" approval waiting
"$weft" signal "$first" approval --approve -i note=once "${cli[@]}" >/dev/null 2>&1
wait_run_ended "$state" "$first"
expect "a run whose task after the approval failed fails" failed "$st"
rm -f "$T/broken"
"$weft" retry "$first" "${cli[@]}" >/dev/null 2>&1 || fail "retry $first"
again=$(sql "$state" "SELECT max(id) FROM runs")
wait_run_ended "$state" "$again"
expect "... its retry succeeds without asking again: the approval is reused" \
    "succeeded|succeeded|once" \
    "$st|$(sql "$state" "SELECT state || '|' || json_extract(outputs, '\$.note') FROM tasks
                          WHERE run_id = $again AND name = 'approval'")"
finish
