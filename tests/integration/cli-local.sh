#!/usr/bin/env bash
# The CLI against a real scheduler: bad submissions are refused without creating anything,
# and unreachable schedulers, unknown runs and usage errors get their exit codes.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1

"$weft" plugins >plugins.out 2>&1
expect "plugins exits 0" 0 $?
for t in noop sleep fail echo shell; do expect_grep "plugins lists $t" "^  $t \(version [0-9]+\)" plugins.out; done
expect_grep "plugins shows ports" 'argv +list<string>' plugins.out
"$weft" plugins --json >plugins.json && expect_grep "plugins --json" '"name": "shell"' plugins.json

"$weft" graph "$WEFT_SRC/workflows/word-count.yaml" --dot >g.dot
expect_grep "graph --dot has edges" '"lines" -> "report";' g.dot
"$weft" graph "$WEFT_SRC/workflows/word-count.yaml" >/dev/null 2>&1
expect "graph without a format is a usage error" 2 $?

port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker w1 "$ep" 1
wait_for_workers "$ep" 1 || exit 1

printf 'workflow: w\ntasks:\n  a: { type: echo, with: { x: "${b.outputs.y}" } }\n' >bad.yaml
"$weft" submit bad.yaml --scheduler "$ep" >bad.out 2>&1
expect "submitting an invalid workflow exits 2" 2 $?
expect_grep "the scheduler's message has the position" "^bad.yaml:3:31: unknown task 'b'" bad.out
expect "no run created" 0 "$(sql "$T/state" "SELECT count(*) FROM runs")"
expect "no workflow stored" 0 "$(sql "$T/state" "SELECT count(*) FROM workflows")"

# The scheduler enforces the size limit itself, whatever the client does.
{ echo "workflow: big"; echo "tasks:"; echo "  a: { type: noop }"; head -c 17000000 /dev/zero | tr '\0' '#'; echo; } >big.yaml
"$WEFT_BIN/weft-testpeer" "$ep" submit-file big.yaml >big.out 2>&1
expect_grep "oversized submission refused" "^big.yaml:1:1: workflow is [0-9]+ bytes; the limit is 16777216 bytes" big.out
expect "no run created for it" 0 "$(sql "$T/state" "SELECT count(*) FROM runs")"
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" --scheduler "$ep" --wait >ok.out 2>&1
expect "the scheduler still serves after a bad submission" 0 $?
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" --scheduler "$ep" -p top=zz --wait >p.out 2>&1
expect "a run whose task fails exits 1" 1 $?
"$weft" status 99 --scheduler "$ep" >missing.out 2>&1
expect "status of an unknown run exits 2" 2 $?
expect_grep "unknown run message" '^weft: no run 99$' missing.out
"$weft" logs 1 nosuchtask --scheduler "$ep" >nolog.out 2>&1
expect "logs of an unknown task exits 2" 2 $?
"$weft" status --scheduler "$ep" >sched.out 2>&1
expect_grep "scheduler status" '^scheduler: 0 active runs, 1 workers' sched.out

"$weft" list --scheduler "ipc://$T/nobody.sock" --timeout 500ms >dead.out 2>&1
expect "unreachable scheduler exits 3" 3 $?
expect_grep "unreachable message" "no answer from the scheduler at ipc://$T/nobody.sock within 500 ms" dead.out
WEFT_SCHEDULER="ipc://$T/nobody.sock" WEFT_TIMEOUT=200ms "$weft" submit "$WEFT_SRC/workflows/word-count.yaml" >dead2.out 2>&1
expect "submit to an unreachable scheduler exits 3" 3 $?
"$weft" list --timeout soon >/dev/null 2>&1
expect "a bad --timeout is a usage error" 2 $?
"$weft" list --state "$T/nothing-here" >nostate.out 2>&1
expect "no local state exits 3" 3 $?
"$weft" frobnicate >usage.out 2>&1
expect "unknown command exits 2" 2 $?
"$weft" >usage.out 2>&1
expect "no command exits 2" 2 $?

# weft schedule next: a schedule's next fire times, in its zone, across a DST night.
cat >nightly.yaml <<'YAML'
workflow: nightly
schedule: { cron: "30 2 * * *", timezone: Europe/Oslo }
tasks:
  t: { type: noop }
YAML
"$weft" schedule next nightly.yaml -n 2 --after 2026-03-28T12:00:00Z >next.out 2>&1
expect "schedule next lists the fires, the skipped 02:30 at 03:00" \
    "2026-03-29T03:00:00+02:00 2026-03-30T02:30:00+02:00" "$(tr '\n' ' ' <next.out | sed 's/ $//')"
"$weft" schedule next nightly.yaml -n 1 --after 2026-03-28T12:00:00Z --json >next.json 2>&1
expect "... and as JSON" 2026-03-29T03:00:00+02:00 "$(jq -r '.fires[0]' next.json)"
"$weft" schedule next nightly.yaml --after tomorrow >next-bad.out 2>&1
expect "a bad --after is a usage error" 2 $?
expect_grep "... saying what it takes" "--after takes an RFC 3339 time" next-bad.out
"$weft" schedule next "$WEFT_SRC/workflows/word-count.yaml" >none.out 2>&1
expect_grep "a workflow without a schedule is named" "has no schedule" none.out

# A second scheduler on the same state directory is refused.
"$WEFT_BIN/weft-scheduler" --state "$T/state" --listen "tcp://127.0.0.1:$(free_port)" --insecure >second.out 2>&1
expect "second scheduler on one state dir exits 1" 1 $?
expect_grep "it says who holds it" 'is in use by another scheduler \(pid [0-9]+\)' second.out
finish
