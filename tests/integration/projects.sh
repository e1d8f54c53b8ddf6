#!/usr/bin/env bash
# Projects on TCP loopback with CURVE: every run belongs to one, and a client key uses only
# the projects it was added with. Bob (project b) can neither read, cancel nor retry alice's
# runs (project a), nor submit to a, nor see them listed; an identical memoized task in b
# neither reuses a's cache entry nor waits for a's identical task in flight; a's limits on
# running runs, tasks per run (map elements included) and attempts in flight hold. Every
# refusal names its reason and records nothing.
. "$(dirname "$0")/lib.sh"
unset WEFT_INSECURE
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_curve_scheduler "$state" "$ep"
skey="$state/scheduler.key.pub"
runs() { sql "$state" "SELECT count(*) FROM runs"; }

for k in alice bob w1; do "$weft" keys gen "$T/$k.key" >/dev/null || fail "keys gen $k"; done
"$weft" keys add alice --role client --project a "$T/alice.key.pub" --state "$state" \
    >"$T/add-alice.txt" || fail "add alice"
expect_grep "keys add names the projects" "projects \[\"a\"\]" "$T/add-alice.txt"
"$weft" keys add bob --role client --project b "$T/bob.key.pub" --state "$state" >/dev/null ||
    fail "add bob"
"$weft" keys add w1 --role worker --project a "$T/w1.key.pub" --state "$state" 2>"$T/wproj.txt"
expect "a worker key with projects is refused" 2 "$?"
expect_grep "... with the reason" "only a client key takes projects" "$T/wproj.txt"
"$weft" keys add w1 --role worker "$T/w1.key.pub" --state "$state" >/dev/null || fail "add w1"
"$weft" keys add carol --role client --project 'a/b' "$T/bob.key.pub" --state "$state" \
    2>"$T/badproj.txt"
expect_grep "a bad project name is refused" "not 'a/b'" "$T/badproj.txt"
"$weft" keys ls --state "$state" >"$T/keys.txt" || fail "keys ls"
expect_grep "keys ls shows a client's projects" "alice +client .*\[\"a\"\]" "$T/keys.txt"

"$WEFT_BIN/weft-worker" --scheduler "$ep" --name w1 --slots 2 --key "$T/w1.key" \
    --server-key "$skey" --work-dir "$T/work-w1" --heartbeat 200 >"$T/worker-w1.log" 2>&1 &
PIDS+=("$!")
WEFT_KEY="$T/alice.key" WEFT_SERVER_KEY="$skey" wait_for_workers "$ep" 1 || exit 1
as_alice=(--scheduler "$ep" --key "$T/alice.key" --server-key "$skey")
as_bob=(--scheduler "$ep" --key "$T/bob.key" --server-key "$skey")

# A memoized task whose output is new on every execution.
cat >"$T/memo.yaml" <<'YAML'
workflow: memo
params:
  nap: { type: int, default: 0 }
tasks:
  rand:
    type: shell
    cache: true
    with: { argv: [sh, -c, 'sleep ${params.nap}; od -An -N8 -tx8 /dev/urandom | tr -d " "'] }
YAML
out() { sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = $1"; }
src() { sql "$state" "SELECT source FROM tasks WHERE run_id = $1"; }

"$weft" submit "$T/memo.yaml" --project a --wait "${as_alice[@]}" >/dev/null || fail "alice run 1"
"$weft" submit "$T/memo.yaml" --project a --wait "${as_alice[@]}" >/dev/null || fail "alice run 2"
expect "alice's second run reuses her first" "cache|$(out 1)" "$(src 2)|$(out 2)"
"$weft" submit "$T/memo.yaml" --wait "${as_bob[@]}" 2>"$T/bob-default.txt"
expect "bob cannot submit to 'default' (his key names b only)" 4 "$?"
expect_grep "... with the reason" "refused: 'bob' may not use project 'default'" "$T/bob-default.txt"
"$weft" submit "$T/memo.yaml" --project a "${as_bob[@]}" 2>"$T/bob-a.txt"
expect "bob cannot submit to a" 4 "$?"
expect_grep "... with the reason" "'bob' may not use project 'a'" "$T/bob-a.txt"
expect_grep "the refusal is logged with the principal" \
    "refused a submit from 'bob': 'bob' may not use project 'a'" "$T/scheduler.log"
WEFT_PROJECT=b "$weft" submit "$T/memo.yaml" --wait "${as_bob[@]}" >/dev/null || fail "bob run 3"
expect "bob's identical task does not reuse a's cache entry" computed "$(src 3)"
if [ "$(out 3)" != "$(out 1)" ]; then ok "... and computed its own output"; else fail "bob got a's output"; fi
expect "the runs' projects" "a a b" "$(sql "$state" "SELECT group_concat(project, ' ') FROM runs")"
expect "one cache entry per project" "a b" \
    "$(sql "$state" "SELECT group_concat(project, ' ') FROM (SELECT project FROM cache ORDER BY project)")"

# Bob cannot read, follow, cancel, retry or signal alice's runs.
for cmd in "status 1" "logs 1" "events 1" "cancel 1" "retry 1" "retry 1 --dry-run" \
    "logs 1 rand -f" "get 1/rand/stdout" "notifications 1" "signal 1 rand --approve"; do
    # shellcheck disable=SC2086
    "$weft" $cmd "${as_bob[@]}" >"$T/bob-cmd.txt" 2>&1
    expect "bob: weft $cmd is refused" 4 "$?"
    expect_grep "... with the reason" "refused: run 1 is not in a project 'bob' may use" "$T/bob-cmd.txt"
done
# Nor the progress a following client asks for (weft submit --wait on a terminal).
WEFT_KEY="$T/bob.key" WEFT_SERVER_KEY="$skey" "$WEFT_BIN/weft-testpeer" "$ep" progress 1 \
    >"$T/bob-progress.txt" 2>&1
expect_grep "bob: the progress of run 1 is refused, with the reason" \
    "^progress: -[0-9]+ refused: run 1 is not in a project 'bob' may use" "$T/bob-progress.txt"
WEFT_KEY="$T/alice.key" WEFT_SERVER_KEY="$skey" "$WEFT_BIN/weft-testpeer" "$ep" progress 1 \
    >"$T/alice-progress.txt" 2>&1
expect_grep "alice: the progress of run 1 is answered" "^progress: 0 $" "$T/alice-progress.txt"
"$weft" status 99 "${as_bob[@]}" 2>"$T/bob-99.txt"
expect "an unknown run is still unknown" 2 "$?"
"$weft" list "${as_bob[@]}" --json >"$T/bob-list.json" || fail "bob list"
expect "bob lists only his own run" "3" "$(grep -o '"id": [0-9]*' "$T/bob-list.json" | sed 's/.*: //' | tr '\n' ' ' | sed 's/ $//')"
"$weft" list --project a "${as_bob[@]}" 2>"$T/bob-list-a.txt"
expect "bob cannot list project a" 4 "$?"
"$weft" list "${as_alice[@]}" >"$T/alice-list.txt" || fail "alice list"
expect "alice lists her two runs" 2 "$(grep -c ' memo ' "$T/alice-list.txt")"
expect_grep "... with their project" "^2 +memo +a +succeeded" "$T/alice-list.txt"
"$weft" list --state "$state" --project b >"$T/local-b.txt" || fail "local list --project b"
expect "the local admin lists project b alone" 1 "$(grep -c ' memo ' "$T/local-b.txt")"
expect "nothing recorded by bob's refused requests" 3 "$(runs)"
expect "no cancel was recorded" 0 "$(sql "$state" "SELECT sum(cancel_requested) FROM runs")"

# Alice retries her own run: the new run is hers, in a.
"$weft" retry 1 "${as_alice[@]}" >/dev/null || fail "alice retries run 1"
expect "the retry belongs to a" a "$(sql "$state" "SELECT project FROM runs WHERE id = 4")"

# In flight: identical slow tasks of a and b submitted together both execute.
"$weft" submit "$T/memo.yaml" -p nap=2 --project a "${as_alice[@]}" >/dev/null || fail "a nap"
"$weft" submit "$T/memo.yaml" -p nap=2 --project b "${as_bob[@]}" >/dev/null || fail "b nap"
wait_run_ended "$state" 5
wait_run_ended "$state" 6
expect "neither waited for the other's identical task" "computed computed" "$(src 5) $(src 6)"
if [ "$(out 5)" != "$(out 6)" ]; then ok "... each with its own output"; else fail "a and b shared an output"; fi

# Limits: only an admin sets them; a's apply to a alone.
"$weft" project set a --max-runs 1 "${as_alice[@]}" 2>"$T/alice-set.txt"
expect "a client cannot set limits" 4 "$?"
expect_grep "... with the reason" "'alice' does not hold the admin role" "$T/alice-set.txt"
"$weft" project set a --priority 3 "${as_alice[@]}" 2>"$T/alice-prio.txt"
expect "nor a project's priority" 4 "$?"
expect_grep "... with the reason" "'alice' does not hold the admin role" "$T/alice-prio.txt"
expect "... which stays as it was" 0 \
    "$(sql "$state" "SELECT coalesce((SELECT priority FROM projects WHERE name = 'a'), 0)")"
"$weft" project set a --max-runs 1 --max-inflight 1 --max-tasks 4 --state "$state" \
    >"$T/set.txt" || fail "project set"
expect_grep "project set prints the limits" \
    "project a: max runs 1, max tasks per run 4, max attempts in flight 1" "$T/set.txt"
"$weft" project set a --max-runs x --state "$state" 2>"$T/set-bad.txt"
expect "a bad limit is refused" 2 "$?"
"$weft" project ls "${as_bob[@]}" >"$T/bob-projects.txt" || fail "bob project ls"
expect "bob sees only project b" "b" "$(awk 'NR > 1 {print $1}' "$T/bob-projects.txt")"
cat >"$T/two.yaml" <<'YAML'
workflow: two
tasks:
  x: { type: shell, with: { argv: [sh, -c, 'sleep 1'] } }
  y: { type: shell, with: { argv: [sh, -c, 'sleep 1'] } }
YAML
before=$(runs)
"$weft" submit "$T/two.yaml" --project a "${as_alice[@]}" >/dev/null || fail "submit two"
two=$((before + 1))
"$weft" submit "$T/two.yaml" --project a "${as_alice[@]}" 2>"$T/second.txt"
expect "a second running run of a is refused" 2 "$?"
expect_grep "... with the reason" "project 'a' has 1 runs running, its limit" "$T/second.txt"
"$weft" project ls --state "$state" >"$T/projects.txt" || fail "project ls"
expect_grep "project ls shows a's use and limits" "^a +1 +1 +[01] +1 +4 " "$T/projects.txt"
wait_run_ended "$state" "$two"
"$weft" submit "$T/two.yaml" --project b --wait "${as_bob[@]}" >/dev/null || fail "b is not limited"
expect "a's run ran its two tasks one at a time (1 attempt in flight)" 1 \
    "$(sql "$state" "SELECT (SELECT max(dispatched_us) FROM attempts WHERE run_id = $two) >= (SELECT min(finished_us) FROM attempts WHERE run_id = $two)")"
b_two=$((two + 1))
expect "b's identical run ran them together (2 slots)" 1 \
    "$(sql "$state" "SELECT (SELECT max(dispatched_us) FROM attempts WHERE run_id = $b_two) < (SELECT min(finished_us) FROM attempts WHERE run_id = $b_two)")"
cat >"$T/five.yaml" <<'YAML'
workflow: five
tasks:
  a: { type: echo, with: { v: 1 } }
  b: { type: echo, with: { v: 1 } }
  c: { type: echo, with: { v: 1 } }
  d: { type: echo, with: { v: 1 } }
  e: { type: echo, with: { v: 1 } }
YAML
before=$(runs)
"$weft" submit "$T/five.yaml" --project a "${as_alice[@]}" 2>"$T/five.txt"
expect "a run of 5 tasks is refused in a (4 per run)" 2 "$?"
expect_grep "... with the reason" "project 'a' allows 4 tasks and map elements per run; this run has 5 tasks" "$T/five.txt"
expect "nothing recorded" "$before" "$(runs)"
cat >"$T/fan.yaml" <<'YAML'
workflow: fan
tasks:
  src: { type: echo, with: { items: [1, 2, 3, 4, 5] } }
  work:
    type: echo
    map: ${src.outputs.items}
    with: { v: "${item}" }
YAML
"$weft" submit "$T/fan.yaml" --project a --wait "${as_alice[@]}" >/dev/null 2>&1
expect "a map past a's tasks per run fails the run" 1 "$?"
fan=$(sql "$state" "SELECT max(id) FROM runs")
expect_grep "... naming the limit" \
    "map: 5 elements would make 7 tasks and elements in this run; its project allows 4" \
    <(sql "$state" "SELECT error FROM tasks WHERE run_id = $fan AND name = 'work'")
"$weft" submit "$T/fan.yaml" --project b --wait "${as_bob[@]}" >/dev/null || fail "the same map in b succeeds"

# Uploads are a client's, for its projects: bob cannot upload for 'default', a worker key
# not at all; nothing is stored.
printf 'abc' >"$T/blob.txt"
WEFT_KEY="$T/bob.key" WEFT_SERVER_KEY="$skey" "$WEFT_BIN/weft-testpeer" "$ep" upload \
    "$T/blob.txt" 3 >"$T/up-bob.txt" 2>&1
expect_grep "an upload for a project the client may not use is refused" \
    "^-14 refused: 'bob' may not use project 'default'" "$T/up-bob.txt"
WEFT_KEY="$T/w1.key" WEFT_SERVER_KEY="$skey" "$WEFT_BIN/weft-testpeer" "$ep" upload \
    "$T/blob.txt" 3 >"$T/up-w1.txt" 2>&1
expect_grep "a worker key cannot upload" "^-14 refused: 'w1' does not hold the client role" \
    "$T/up-w1.txt"
expect "neither upload was recorded" 0 "$(sql "$state" "SELECT count(*) FROM uploads")"

# Idempotency keys are per principal: bob's key never answers with alice's run.
submitted() { sed -n 's/^run \([0-9]*\) submitted.*/\1/p' "$1"; }
"$weft" submit "$T/memo.yaml" --project a --idempotency-key shared-1 "${as_alice[@]}" \
    >"$T/k-alice.txt" || fail "alice's keyed submit"
"$weft" submit "$T/memo.yaml" --project b --idempotency-key shared-1 "${as_bob[@]}" \
    >"$T/k-bob.txt" || fail "bob's submit with the same key"
"$weft" submit "$T/memo.yaml" --project a --idempotency-key shared-1 "${as_alice[@]}" \
    >"$T/k-alice2.txt" || fail "alice's repeated keyed submit"
expect "alice's repeated key answers with her run" "$(submitted "$T/k-alice.txt")" \
    "$(submitted "$T/k-alice2.txt")"
if [ -n "$(submitted "$T/k-bob.txt")" ] && [ "$(submitted "$T/k-bob.txt")" != "$(submitted "$T/k-alice.txt")" ]; then
    ok "bob's same key made a run of his own"
else
    fail "bob's key answered with alice's run: $(cat "$T/k-bob.txt")"
fi
wait_run_ended "$state" "$(submitted "$T/k-alice.txt")"

# Schedules belong to their project: bob can neither see nor pause nor remove alice's.
cat >"$T/hourly.yaml" <<'YAML'
workflow: hourly
schedule: { every: 1h }
tasks:
  t: { type: noop }
YAML
"$weft" schedule add "$T/hourly.yaml" --project a "${as_alice[@]}" >/dev/null ||
    fail "alice adds a schedule"
for cmd in pause resume rm; do
    "$weft" schedule "$cmd" hourly "${as_bob[@]}" 2>"$T/bob-sched.txt"
    expect "bob: weft schedule $cmd of alice's schedule is refused" 4 "$?"
    expect_grep "... with the reason" "'bob' may not use project 'a'" "$T/bob-sched.txt"
done
"$weft" schedule add "$T/hourly.yaml" --project a --name bobs "${as_bob[@]}" 2>/dev/null
expect "bob cannot add a schedule to project a" 4 "$?"
expect "bob's schedule ls shows none of a's" "" \
    "$("$weft" schedule ls --json "${as_bob[@]}" | jq -r '.[].name')"
expect "alice's schedule is untouched" "hourly|0|" \
    "$(sql "$state" "SELECT name || '|' || paused || '|' || coalesce(removed_us, '')
        FROM schedules")"
"$weft" notifications "${as_bob[@]}" --json >"$T/bob-notes.json" || fail "bob notifications"
expect "bob's notifications list holds none of a's" 0 "$(jq length "$T/bob-notes.json")"

# The limits survive a restart; a client's old key rows load with their projects.
kill_scheduler
start_curve_scheduler "$state" "$ep"
WEFT_KEY="$T/alice.key" WEFT_SERVER_KEY="$skey" wait_for_workers "$ep" 1 || exit 1
"$weft" submit "$T/five.yaml" --project a "${as_alice[@]}" 2>"$T/five-again.txt"
expect "after a restart a's limit still holds" 2 "$?"
"$weft" status 1 "${as_bob[@]}" 2>/dev/null
expect "after a restart bob still cannot read run 1" 4 "$?"
finish
