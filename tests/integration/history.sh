#!/usr/bin/env bash
# Run history: a failed run's summary shows its failed task's log tail; runs carry labels given at submit (-l k=v), kept by a retry and shown by
# weft status; weft list filters by workflow, state (--status), creation time (--since,
# --until), labels, and pages with --limit and --before, from a scheduler and from the
# local catalogue alike; bad labels and filters are refused with the reason.
. "$(dirname "$0")/lib.sh"
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker h1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
cat >"$T/ok.yaml" <<'YAML'
workflow: ok
tasks:
  a: { type: noop }
YAML
cat >"$T/bad.yaml" <<'YAML'
workflow: bad
tasks:
  a: { type: shell, with: { argv: [sh, -c, 'for i in $(seq 1 25); do echo "line $i" >&2; done; exit 3'] } }
YAML
sub() { "$weft" submit "$@" --scheduler "$ep" --wait >/dev/null 2>&1; }
sub "$T/ok.yaml" -l team=a -l stage=dev || fail "run 1"
sub "$T/ok.yaml" -l team=b || fail "run 2"
"$weft" submit "$T/bad.yaml" -l team=a --scheduler "$ep" --wait >"$T/bad.out" 2>&1
expect "the failing run fails" 1 "$?"
expect_grep "--wait prints the failed task's error" "a failed \(fatal, attempt 1\)" "$T/bad.out"
expect_grep "... and the last lines of its log" "^    \| line 25$" "$T/bad.out"
expect "... 20 of them: from line 7 (the last is the plugin's own message)" "20 line 7" \
    "$(grep -c '^    | ' "$T/bad.out") $(grep '^    | ' "$T/bad.out" | head -n 1 | sed 's/^    | //')"
sleep 1.1 # (the time is to the second)
mid=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.1
sub "$T/ok.yaml" -l team=a -l stage=prod || fail "run 4"
sub "$T/ok.yaml" || fail "run 5"
ids() { "$weft" list "$@" --json | jq -r '[.[].id] | join(" ")'; }
expect "every run, newest first" "5 4 3 2 1" "$(ids --scheduler "$ep")"
expect "--workflow" "3" "$(ids --scheduler "$ep" --workflow bad)"
expect "--status failed" "3" "$(ids --scheduler "$ep" --status failed)"
expect "--label team=a" "4 3 1" "$(ids --scheduler "$ep" --label team=a)"
expect "two labels must both hold" "4" "$(ids --scheduler "$ep" --label team=a --label stage=prod)"
expect "--since" "5 4" "$(ids --scheduler "$ep" --since "$mid")"
expect "--until" "3 2 1" "$(ids --scheduler "$ep" --until "$mid")"
expect "--since a duration ago" "5 4 3 2 1" "$(ids --scheduler "$ep" --since 1h)"
expect "--limit" "5 4" "$(ids --scheduler "$ep" --limit 2)"
expect "--before pages on" "3 2" "$(ids --scheduler "$ep" --limit 2 --before 4)"
"$weft" list --scheduler "$ep" --limit 2 >"$T/page.txt"
expect_grep "a full page says how to get the next" "next page: weft list --before 4" "$T/page.txt"
expect "the local catalogue filters the same" "4 3 1" "$(ids --state "$state" --label team=a)"
expect "... and pages the same" "3 2" "$(ids --state "$state" --limit 2 --before 4)"
"$weft" status 4 --scheduler "$ep" >"$T/status.txt"
expect_grep "status shows the labels" "^labels: stage=prod, team=a$" "$T/status.txt"
"$weft" list --scheduler "$ep" >"$T/list.txt"
expect_grep "list shows them" "^4 +ok .* stage=prod, team=a$" "$T/list.txt"
"$weft" retry 3 --scheduler "$ep" >/dev/null 2>&1
expect "a retry keeps its run's labels" '{"team":"a"}' \
    "$(sql "$state" "SELECT labels FROM runs WHERE id = 6")"

before=$(sql "$state" "SELECT count(*) FROM runs")
"$weft" submit "$T/ok.yaml" -l 'bad key=x' --scheduler "$ep" >/dev/null 2>"$T/badlabel.txt"
expect "a bad label key is refused" 2 "$?"
expect_grep "... with the reason" "label 'bad key': a key is 1 to 63 characters" "$T/badlabel.txt"
"$weft" submit "$T/ok.yaml" -l "k=$(printf 'a\tb')" --scheduler "$ep" >/dev/null 2>&1
expect "a label value with a control character is refused" 2 "$?"
expect "nothing was recorded" "$before" "$(sql "$state" "SELECT count(*) FROM runs")"
"$weft" list --status sleeping --scheduler "$ep" >/dev/null 2>"$T/badstatus.txt"
expect "an unknown --status is a usage error" 2 "$?"
expect_grep "... naming the states" "running, succeeded, failed or cancelled" "$T/badstatus.txt"
"$weft" list --since yesterday --scheduler "$ep" >/dev/null 2>"$T/badsince.txt"
expect "a bad --since is a usage error" 2 "$?"
finish
