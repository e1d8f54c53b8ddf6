#!/usr/bin/env bash
# Map fan-out through a real scheduler and worker: one element per list item, ${item} and
# ${index}, at most max_parallel elements at once, downstream gets the list of element
# outputs in order; min_success decides the task; the scheduler is killed with SIGKILL
# mid-map and the map finishes after a restart with every element run exactly once (each
# element logs its executions to a file, counted against the catalogue's attempts);
# cancelling a run mid-map cancels its elements; a status names at most 20 elements and
# counts them all; a run too large to list whole is refused with how to read it; following a
# map of more than 100 elements prints its failures and counts, not a line per element.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker m1 "$ep" 4
wait_for_workers "$ep" 1 || exit 1

items=$(seq -s ', ' 1 40)
write_map() { # NAME MAX_PARALLEL MIN_SUCCESS SLEEP FAIL_WHEN
    cat >"$T/$1.yaml" <<YAML
workflow: $1
tasks:
  src:
    type: echo
    with: { items: [$items] }
  work:
    type: shell
    map: \${src.outputs.items}
    max_parallel: $2
    min_success: $3
    retry: { max_attempts: 3, interval: 50ms, on: [lost, crash] }
    with:
      argv: [sh, -c, 'echo "\$WEFT_TASK \$WEFT_ATTEMPT" >>"\$EXECS"; v=\$(echo \$0 | tr -d x); sleep $4; if $5; then echo "no \$v" >&2; exit 3; fi; echo "\$1:\$((v * 2))"',
             "x\${item}", "i\${index}"]
      env: { EXECS: "$T/$1.executions" }
  join:
    type: echo
    with: { all: "\${work.outputs.stdout}", codes: "\${work.outputs.exit_code}" }
YAML
}
submit() { "$weft" submit "$T/$1.yaml" --scheduler "$ep" "${@:2}"; }

# 1. Everything succeeds; never more than 3 elements at once.
write_map fan 3 100% 0.05 false
submit fan --wait >"$T/fan.out" 2>&1
expect "the mapped run succeeds" 0 $?
expect "one row per element" 40 "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 1 AND elem >= 0")"
expect "elements are named task[index]" "work[0] work[39]" "$(sql "$state" "SELECT min(name) || ' ' || max(name) FROM tasks WHERE run_id = 1 AND elem IN (0, 39)")"
expect "one attempt per element" 40 "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 1 AND elem >= 0")"
expect "join gets the element outputs in order" "i0:2 i1:4 i39:80" "$(sql "$state" "SELECT trim(json_extract(outputs, '\$.all[0]'), char(10)) || ' ' || trim(json_extract(outputs, '\$.all[1]'), char(10)) || ' ' || trim(json_extract(outputs, '\$.all[39]'), char(10)) FROM tasks WHERE run_id = 1 AND name = 'join'")"
expect "join gets one exit code per element" 40 "$(sql "$state" "SELECT json_array_length(outputs, '\$.codes') FROM tasks WHERE run_id = 1 AND name = 'join'")"
# Attempts overlapping in time: each attempt's start against every running one.
overlap=$(sql "$state" "SELECT max(n) FROM (SELECT (SELECT count(*) FROM attempts b WHERE b.run_id = 1 AND b.elem >= 0 AND b.dispatched_us <= a.dispatched_us AND b.finished_us > a.dispatched_us) AS n FROM attempts a WHERE a.run_id = 1 AND a.elem >= 0)")
[ "$overlap" -ge 1 ] && [ "$overlap" -le 3 ] && ok "at most 3 elements ran at once ($overlap)" || fail "max_parallel 3 broken: $overlap at once"
"$weft" status 1 --scheduler "$ep" >"$T/status1.out"
expect_grep "status summarises the elements" "work +shell +succeeded +40 .*40 elements: 40 succeeded" "$T/status1.out"
timeout 30 "$weft" logs 1 work -f --scheduler "$ep" >"$T/follow1.out" 2>&1
expect "logs -f of a mapped task ends with it" 0 $?
expect "... printing every element's log" 40 "$(grep -cE '^i[0-9]+:[0-9]+$' "$T/follow1.out")"
timeout 30 "$weft" logs 1 'work[7]' -f --scheduler "$ep" >"$T/follow7.out" 2>&1
expect "... and of one element, that element's alone" "i7:16" "$(grep -E '^i[0-9]+:' "$T/follow7.out")"

# 2. min_success: 5 of 40 fail. 85% (34) lets the task succeed with nulls; a count of 36 fails it and
# names the failed elements.
write_map partial 8 85% 0 '[ $((v % 8)) -eq 0 ]'
submit partial --wait >"$T/partial.out" 2>&1
expect "85% of 40 with 5 failures succeeds" 0 $?
expect "failed elements are null in the list" "5" "$(sql "$state" "SELECT count(*) FROM json_each((SELECT outputs FROM tasks WHERE run_id = 2 AND name = 'join'), '\$.all') WHERE type = 'null'")"
sed -i "s/min_success: 85%/min_success: 36/" "$T/partial.yaml"
submit partial --wait >"$T/partial2.out" 2>&1
expect "a count above the successes fails the run" 1 $?
expect_grep "the failure counts the elements" "work failed \(fatal\): 5 of 40 elements did not succeed \(at least 36 must\); first: work\[[0-9]+\]" "$T/partial2.out"
expect_grep "and points at an element's log" "see: weft logs 3 'work\[7\]'" "$T/partial2.out"
"$weft" logs 3 'work[7]' --scheduler "$ep" >"$T/log7.out" 2>&1
expect_grep "an element has its own log" "no 8" "$T/log7.out"
expect "join is skipped" skipped "$(sql "$state" "SELECT state FROM tasks WHERE run_id = 3 AND name = 'join'")"

# 3. kill -9 mid-map: the restarted scheduler restores the elements and finishes the map.
write_map restart 2 100% 0.2 false
submit restart >/dev/null || fail "submit restart"
for _ in $(seq 100); do
    n=$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 4 AND elem >= 0 AND state = 'succeeded'")
    [ "${n:-0}" -ge 6 ] && break
    sleep 0.1
done
kill_scheduler
ok "killed the scheduler with $n elements done"
start_scheduler "$state" "$ep"
wait_run_ended "$state" 4
expect "the map finished after the restart" succeeded "$st"
expect "every element succeeded" 40 "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 4 AND elem >= 0 AND state = 'succeeded'")"
expect "no element succeeded twice" 0 "$(sql "$state" "SELECT count(*) FROM (SELECT elem FROM attempts WHERE run_id = 4 AND state = 'succeeded' GROUP BY idx, elem HAVING count(*) > 1)")"
sleep 0.5 # time for any execution still under way (there should be none) to log itself
check_executions "$state" 4 "$T/restart.executions"
at_most "elements lost to the kill, at most the 2 running" 2 "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 4 AND error_class = 'lost'")"
expect "join has all 40 outputs" 0 "$(sql "$state" "SELECT count(*) FROM json_each((SELECT outputs FROM tasks WHERE run_id = 4 AND name = 'join'), '\$.all') WHERE type = 'null'")"

# 4. Cancel mid-map.
write_map cancel 2 100% 0.3 false
submit cancel >/dev/null || fail "submit cancel"
for _ in $(seq 100); do
    n=$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 5 AND elem >= 0")
    [ "${n:-0}" -ge 3 ] && break
    sleep 0.1
done
"$weft" cancel 5 --scheduler "$ep" >/dev/null || fail "cancel"
wait_run_ended "$state" 5
expect "the run ends cancelled" cancelled "$st"
expect "the mapped task ends cancelled" cancelled "$(sql "$state" "SELECT state FROM tasks WHERE run_id = 5 AND name = 'work'")"
expect "no element is left open" 0 "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 5 AND elem >= 0 AND state NOT IN ('succeeded', 'cancelled')")"
expect "unstarted elements never ran" 0 "$(sql "$state" "SELECT count(*) FROM tasks t WHERE run_id = 5 AND elem >= 0 AND state = 'cancelled' AND attempts = 0 AND EXISTS (SELECT 1 FROM attempts a WHERE a.run_id = 5 AND a.idx = t.idx AND a.elem = t.elem)")"
# 5. A summary names at most 20 elements and counts them all; --json lists every one.
write_map many 8 5 0 '[ $((v % 4)) -ne 0 ]'
submit many --wait >"$T/many.out" 2>&1
expect "30 of 40 failing with min_success 5 succeeds" 0 $?
"$weft" status 6 --scheduler "$ep" >"$T/status6.out"
expect_grep "status counts every element" "40 elements: 10 succeeded, 30 failed" "$T/status6.out"
expect "status names 20 failed elements" 20 "$(grep -c "see: weft logs 6 'work\[" "$T/status6.out")"
expect_grep "and counts the rest" "\.\.\. and 10 more \(weft status 6\)" "$T/status6.out"
"$weft" status 6 --scheduler "$ep" --json >"$T/status6.json"
expect "--json lists every element, counts them and their attempts" "40 30 40" "$(python3 -c 'import json,sys; t=[x for x in json.load(open(sys.argv[1]))["tasks"] if x["name"] == "work"][0]; print(len(t["elements"]), t["element_counts"]["failed"], t["element_attempts"])' "$T/status6.json")"

# 6. A run too large to list whole: run 6 given 100,000 more (succeeded) element rows.
sql "$state" "WITH RECURSIVE n(i) AS (SELECT 40 UNION ALL SELECT i + 1 FROM n WHERE i < 100039)
              INSERT INTO tasks (run_id, idx, elem, name, type, type_version, state, attempts)
              SELECT 6, idx, i, 'work[' || i || ']', type, type_version, 'succeeded', 1
              FROM n, tasks WHERE run_id = 6 AND name = 'work'"
"$weft" status 6 --scheduler "$ep" --json >"$T/big.json" 2>"$T/big.err"
expect "--json of a run past 100,000 tasks and elements is refused" 2 $?
expect_grep "... saying how to read it" "run 6 has 100043 tasks and map elements; a listing of every one stops at 100000" "$T/big.err"
"$weft" status 6 --scheduler "$ep" >"$T/status6b.out"
expect_grep "status still counts them all" "100040 elements: 100010 succeeded, 30 failed" "$T/status6b.out"

# 7. A map of more than 100 elements followed line by line prints its elements' failures and
# its counts, not a line per element event.
items=$(seq -s ', ' 1 150)
write_map wide 8 90% 0 '[ $((v % 50)) -eq 0 ]'
submit wide --wait >"$T/wide.out" 2>&1
expect "a map of 150 with 3 failing succeeds at 90%" 0 $?
expect "no line per element dispatched or succeeded" 0 "$(grep -cE '^(dispatched|succeeded) +work\[' "$T/wide.out")"
expect "a line per failed element" "work[49] work[99] work[149]" "$(grep -E '^failed +work\[' "$T/wide.out" | awk '{print $2}' | tr -d : | tr '\n' ' ' | sed 's/ $//')"
expect_grep "the map's counts, then the mapped task's own line" "^elements +work: 147 of 150 elements succeeded, 3 failed" "$T/wide.out"
expect "... in that order" "elements succeeded" "$(grep -E '^(elements|succeeded) +work(:|$)' "$T/wide.out" | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"

# 8. A map expanding to more element rows than one turn holds before writing them (16,384)
# writes them all, each once, and runs every element.
{ echo "workflow: many"; echo "tasks:"
  echo "  src: { type: echo, with: { items: [$(seq -s ', ' 1 20000)] } }"
  echo '  work: { type: noop, map: "${src.outputs.items}" }'; } >"$T/many.yaml"
"$weft" submit "$T/many.yaml" --scheduler "$ep" --wait --timeout 120s >/dev/null 2>&1
expect "a map of 20,000 no-op elements succeeds" 0 $?
run=$(sql "$state" "SELECT max(id) FROM runs")
expect "each element has one row, succeeded once" "20000 20000 20000" \
    "$(sql "$state" "SELECT count(*), count(DISTINCT elem), sum(state = 'succeeded') FROM tasks WHERE run_id = $run AND elem >= 0" | tr '|' ' ')"
finish
