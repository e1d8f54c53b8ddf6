#!/usr/bin/env bash
# weft run, as a user runs it: the example workflows in workflows/, in a fresh directory,
# with no daemon started by hand. Checks exit codes, the catalogue, logs and retry timing.
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 1

"$weft" run "$WEFT_SRC/workflows/word-count.yaml" >run1.out 2>&1
expect "word-count exits 0" 0 $?
expect_grep "summary line" '^run 1 succeeded: 4/4 tasks succeeded' run1.out
"$weft" logs 1 report >report.out 2>&1
expect_grep "report log has the counts" '^lines: 674$' report.out
expect_grep "report log has the top words" '^ +[0-9]+ the$' report.out
expect "report output recorded" 1 "$(sql .weft "SELECT json_extract(outputs, '$.stdout') LIKE '%words: %' FROM tasks WHERE run_id = 1 AND name = 'report'")"

"$weft" run "$WEFT_SRC/workflows/fail-on-purpose.yaml" >run2.out 2>&1
expect "fail-on-purpose exits 1" 1 $?
expect_grep "failure summary names the error" "broken failed \(fatal, attempt 1\): shell: 'sh' exited with status 3" run2.out
expect "fine succeeded" succeeded "$(sql .weft "SELECT state FROM tasks WHERE run_id = 2 AND name = 'fine'")"
expect "after skipped" skipped "$(sql .weft "SELECT state FROM tasks WHERE run_id = 2 AND name = 'after'")"
expect "broken not retried (fatal)" 1 "$(sql .weft "SELECT count(*) FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx WHERE a.run_id = 2 AND t.name = 'broken'")"
expect "flaky attempted twice (transient)" "transient|transient" "$(sql .weft "SELECT group_concat(a.error_class, '|') FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx WHERE a.run_id = 2 AND t.name = 'flaky'")"
# The retry waited at least its interval (200ms) between the two attempts.
gap=$(sql .weft "SELECT max(a.dispatched_us) - min(a.finished_us) FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx WHERE a.run_id = 2 AND t.name = 'flaky'")
[ "$gap" -ge 200000 ] && ok "retry delay ${gap}us >= 200ms" || fail "retry delay ${gap}us < 200ms"
"$weft" logs 2 broken >broken.out 2>&1
expect_grep "stderr of the failed command is in its log" 'no such column: price' broken.out
"$weft" list --json >list.json
expect "list --json has both runs" 2 "$(grep -c '"workflow"' list.json)"
"$weft" status 2 --json >status.json
expect_grep "status --json has attempts" '"attempt_list"' status.json

# catch: the failure is routed to its handler, which gets the error; the run succeeds.
"$weft" run "$WEFT_SRC/workflows/catch-fallback.yaml" >run3.out 2>&1
expect "catch-fallback exits 0" 0 $?
states=$(sql .weft "SELECT group_concat(s, ' ') FROM (SELECT name || '=' || state AS s FROM tasks WHERE run_id = 3 ORDER BY idx, elem)")
expect "task outcomes" "build=succeeded publish=caught report=not_run notify=succeeded checksum=succeeded archive=not_run" "$states"
"$weft" logs 3 notify >notify.out 2>&1
expect_grep "the handler got the error and its class" "^publish failed \(fatal\): shell: 'sh' exited with status 2$" notify.out
expect_grep "... and the end of the failed attempt's log" "^registry answered 403 Forbidden$" notify.out

# A workflow error stops weft run before anything starts.
printf 'workflow: w\ntasks:\n  a: { type: sleep, with: { duration: 3 } }\n' >bad.yaml
"$weft" run bad.yaml >bad.out 2>&1
expect "invalid workflow exits 2" 2 $?
expect_grep "invalid workflow message" "^bad.yaml:3:39: task 'a' input 'duration': expected duration, got int$" bad.out
expect "no run was created for it" 3 "$(sql .weft "SELECT count(*) FROM runs")"
# The embedded scheduler and worker stopped cleanly every time (no sanitizer reports).
if grep -H "the local \(scheduler\|worker\)\|Sanitizer\|runtime error" ./*.out; then
    fail "a local daemon did not stop cleanly (above)"
fi
finish
