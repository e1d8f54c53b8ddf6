#!/usr/bin/env bash
# Rerun from failure on a 5-stage pipeline whose second stage maps over 100 items, 7 of
# which fail until a marker file exists:
#   - submitting the workflow again after the fix reuses the 93 cached elements (cache: true);
#   - weft retry RUN (after a failure with other inputs) plans and then executes exactly the
#     7 failed elements and the 3 stages below the map, reusing everything else, and the
#     catalogue and `status --json` say where every output came from;
#   - --from, -p and bad requests.
# The salt parameter reaches every stage, so nothing below the map can be a cache hit of an
# earlier run.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker r1 "$ep" 4
wait_for_workers "$ep" 1 || exit 1
mark="$T/fixed"
bad=" 3 17 29 44 58 71 96 "

cat >"$T/pipe.yaml" <<YAML
workflow: five-stages
params:
  salt: { type: string, default: a }
defaults:
  cache: true
tasks:
  gen:
    type: echo
    with: { items: [$(seq -s ', ' 1 100)], salt: "\${params.salt}" }
  square:
    type: shell
    map: \${gen.outputs.items}
    max_parallel: 8
    with:
      argv: [sh, -c, 'v=\$(echo \$0 | tr -d x); if [ ! -e $mark ]; then case "$bad" in *" \$v "*) echo "item \$v fails" >&2; exit 3;; esac; fi; echo "\$1:\$((v * v))"', "x\${item}", "\${gen.outputs.salt}"]
  combine:
    type: echo
    with: { squares: "\${square.outputs.stdout}" }
  analyze:
    type: shell
    with:
      argv: [sh, -c, 'echo "\$0" | tr -dc "0-9," | tr "," "\\n" | awk "{s+=\\\$1} END {print s}"', "s=\${combine.outputs.squares}"]
  report:
    type: shell
    with:
      argv: [sh, -c, 'echo "sum of squares: \$0 (\$1)"', "\${analyze.outputs.stdout}", "\${gen.outputs.salt}"]
YAML
submit() { "$weft" submit "$T/pipe.yaml" --scheduler "$ep" --wait "$@"; }
q() { sql "$state" "$1"; }
failed_items() { q "SELECT group_concat(elem + 1, ' ') FROM (SELECT elem FROM tasks WHERE run_id = $1 AND name LIKE 'square[%' AND state = '$2' ORDER BY elem)"; }

# Run 1: 7 elements fail; the stages below the map are skipped. On a terminal (script(1)),
# the bar shows what the scheduler counted, and each failure has its line.
script -qec "$weft submit $T/pipe.yaml --scheduler $ep --wait" /dev/null >"$T/run1.out" 2>&1
expect "run 1 fails" 1 $?
expect_grep "the bar ends with every task and element counted" \
    "105/105  94 succeeded  11 failed  0 running" "$T/run1.out"
expect "each failed element has its line" 7 "$(grep -c 'm square\[[0-9]*\]: ' "$T/run1.out")"
expect "exactly the 7 bad items failed" "3 17 29 44 58 71 96" "$(failed_items 1 failed)"
expect "93 elements succeeded" 93 "$(q "SELECT count(*) FROM tasks WHERE run_id = 1 AND elem >= 0 AND state = 'succeeded'")"
expect "the stages below the map were skipped" "skipped skipped skipped" "$(q "SELECT group_concat(state, ' ') FROM (SELECT state FROM tasks WHERE run_id = 1 AND name IN ('combine', 'analyze', 'report') ORDER BY idx)")"

# Run 2: the same workflow submitted again after the fix reuses the cached elements.
touch "$mark"
submit >"$T/run2.out" 2>&1
expect "run 2 (resubmitted) succeeds" 0 $?
expect "93 elements came from the cache" 93 "$(q "SELECT count(*) FROM tasks WHERE run_id = 2 AND elem >= 0 AND source = 'cache' AND source_run = 1")"
expect "only the 7 and the 3 stages ran" 10 "$(q "SELECT count(*) FROM attempts WHERE run_id = 2")"
expect "the answer" "sum of squares: 338350 (a)" "$(q "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 2 AND name = 'report'")"

# Run 3: other inputs (salt b, a cache miss everywhere) and the bug is back: 7 fail again.
rm -f "$mark"
submit -p salt=b >"$T/run3.out" 2>&1
expect "run 3 fails" 1 $?
expect "the same 7 failed" "3 17 29 44 58 71 96" "$(failed_items 3 failed)"

# The plan, without running anything.
"$weft" retry 3 --scheduler "$ep" --dry-run >"$T/plan.out" 2>&1
expect "dry run exits 0" 0 $?
expect_grep "plan totals" "^retry of run 3: 94 reused, 10 to execute \(dry run: nothing started\)" "$T/plan.out"
expect_grep "gen is reused" "reuse +gen +succeeded in run 3" "$T/plan.out"
expect_grep "the map is partial" "partial +square +93 of 100 elements reused; 7 execute again" "$T/plan.out"
expect_grep "each failed element is named with why" "square\[16\]: failed in run 3: shell: 'sh' exited with status 3" "$T/plan.out"
expect_grep "downstream executes" "execute +report +upstream task 'analyze' executes again" "$T/plan.out"
expect "a dry run creates no run" 3 "$(q "SELECT max(id) FROM runs")"
"$weft" retry 3 --scheduler "$ep" --dry-run --json >"$T/plan.json"
expect "the plan as JSON" "94 10 7" "$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(p["reused"], p["executed"], p["tasks"][1]["elements"]["executed"])' "$T/plan.json")"

# Run 4: weft retry 3 after the fix.
touch "$mark"
"$weft" retry 3 --scheduler "$ep" --wait >"$T/retry.out" 2>&1
expect "the retry succeeds" 0 $?
expect "run 4 is a retry of run 3" 3 "$(q "SELECT retry_of FROM runs WHERE id = 4")"
expect "exactly the 7 failed elements executed again" "3 17 29 44 58 71 96" "$(q "SELECT group_concat(elem + 1, ' ') FROM (SELECT DISTINCT elem FROM attempts WHERE run_id = 4 AND elem >= 0 ORDER BY elem)")"
expect "and the 3 stages below the map" "analyze combine report" "$(q "SELECT group_concat(name, ' ') FROM (SELECT t.name FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx AND t.elem = a.elem WHERE a.run_id = 4 AND a.elem = -1 ORDER BY t.name)")"
expect "10 attempts in all" 10 "$(q "SELECT count(*) FROM attempts WHERE run_id = 4")"
expect "the 93 elements were reused from run 3" 93 "$(q "SELECT count(*) FROM tasks WHERE run_id = 4 AND elem >= 0 AND source = 'retry' AND source_run = 3")"
expect "gen was reused from run 3" "retry 3" "$(q "SELECT source || ' ' || source_run FROM tasks WHERE run_id = 4 AND name = 'gen'")"
expect "the 7 were computed" 7 "$(q "SELECT count(*) FROM tasks WHERE run_id = 4 AND elem >= 0 AND source = 'computed'")"
expect "the answer" "sum of squares: 338350 (b)" "$(q "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 4 AND name = 'report'")"
expect_grep "the progress says what was reused" "succeeded  square\[0\]: reused \(retry\): computed by run 3, task square\[0\]" "$T/retry.out"

# Lineage in status --json: per task and element, where its outputs came from.
"$weft" status 4 --scheduler "$ep" --json >"$T/status4.json"
expect "lineage per element" "retry:3:square[0] computed:None:None computed:None:None" "$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
sq = [t for t in r["tasks"] if t["name"] == "square"][0]["elements"]
rep = [t for t in r["tasks"] if t["name"] == "report"][0]
f = lambda t: "%s:%s:%s" % (t["source"], t["source_run"], t["source_task"])
print(f(sq[0]), f(sq[2]), f(rep))' "$T/status4.json")"
expect "attempts, classes and workers are listed" "1 r1 None" "$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
a = [t for t in r["tasks"] if t["name"] == "square"][0]["elements"][2]["attempt_list"]
print(len(a), a[0]["worker"], a[0]["error_class"])' "$T/status4.json")"

# --from forces a task and everything below it; -p changes inputs; bad requests.
"$weft" retry 4 --scheduler "$ep" --from analyze --dry-run >"$T/from.out" 2>&1
expect_grep "--from forces analyze" "execute +analyze +forced: --from analyze" "$T/from.out"
expect_grep "--from forces what is below" "execute +report +forced: --from analyze" "$T/from.out"
expect_grep "--from keeps what is above" "reuse +combine +succeeded in run 4" "$T/from.out"
"$weft" retry 4 --scheduler "$ep" -p salt=c --dry-run >"$T/p.out" 2>&1
expect_grep "-p changes gen's inputs" "execute +gen +its inputs changed since run 4" "$T/p.out"
"$weft" retry 4 --scheduler "$ep" --from nope >"$T/bad1.out" 2>&1
expect "an unknown --from task is refused" 2 $?
expect_grep "and named" "weft: --from nope: run 4's workflow has no task 'nope'" "$T/bad1.out"
"$weft" retry 99 --scheduler "$ep" >"$T/bad2.out" 2>&1
expect "an unknown run is refused" 2 $?
expect_grep "and named" "weft: no run 99" "$T/bad2.out"
"$weft" retry 4 --scheduler "$ep" -p nope=1 >"$T/bad3.out" 2>&1
expect "an unknown parameter is refused" 2 $?
expect_grep "and named" "-p nope: the workflow has no parameter 'nope'" "$T/bad3.out"
expect "no run was created by the refused requests" 4 "$(q "SELECT max(id) FROM runs")"

# A finished retry keeps its tasks and elements by state, the same as its rows say, whether
# its map was partly reused (run 4) or reused whole (run 5: --from analyze), and a look at
# it answers them.
rows_json() {
    q "SELECT state || ' ' || count(*) FROM tasks WHERE run_id = $1 GROUP BY state" |
        python3 -c 'import json,sys; print(json.dumps({l.split()[0]: int(l.split()[1]) for l in sys.stdin}, sort_keys=True))'
}
kept_json() {
    q "SELECT coalesce(counts, 'null') FROM runs WHERE id = $1" |
        python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))'
}
expect "run 4 keeps its counts: its rows' ($(rows_json 4))" "$(rows_json 4)" "$(kept_json 4)"
"$weft" retry 4 --scheduler "$ep" --from analyze --wait >"$T/from-run.out" 2>&1
expect "the retry from analyze succeeds" 0 $?
expect "run 5, whose map was reused whole, keeps its rows' counts" "$(rows_json 5)" \
    "$(kept_json 5)"
expect "a look at run 5 answers them ($(rows_json 5))" "counts: $(rows_json 5)" \
    "$("$WEFT_BIN/weft-testpeer" "$ep" progress 5 2>&1 | grep '^counts: ')"
# A weft retry run's first attempt resumes from the last checkpoint its task saved in the
# failed run (same inputs), instead of starting over; a run that retries none starts over.
seq 1 50 | sed 's/^/counted line /' >"$T/text.txt"
cat >"$T/wc.yaml" <<YAML
workflow: wc
tasks:
  count:
    type: example.wordcount
    retry: { max_attempts: 1 }
    with: { text: $T/text.txt, every: 10, crash_after: 25 }
YAML
"$weft" submit "$T/wc.yaml" --scheduler "$ep" --wait >"$T/wc1.out" 2>&1
expect "the counting run fails (its plugin crashes at line 25)" 1 $?
wc_run=$(q "SELECT max(id) FROM runs")
expect "its attempt left a checkpoint" 1 \
    "$(q "SELECT count(*) FROM attempts WHERE run_id = $wc_run AND checkpoint IS NOT NULL")"
"$weft" retry "$wc_run" --scheduler "$ep" --wait >"$T/wc2.out" 2>&1
expect "its retry succeeds" 0 $?
expect "... resuming after the checkpoint of line 20" 20 \
    "$(q "SELECT json_extract(outputs, '\$.resumed_at') FROM tasks WHERE run_id = $((wc_run + 1))")"
expect "... having counted the words of every line" 150 \
    "$(q "SELECT json_extract(outputs, '\$.words') FROM tasks WHERE run_id = $((wc_run + 1))")"
finish
