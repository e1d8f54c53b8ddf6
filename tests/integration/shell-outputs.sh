#!/usr/bin/env bash
# A shell task's typed outputs, made from what it printed (stdout: lines | json and the
# task's outputs:), through a real scheduler and worker: 50 printed lines fanned out by map;
# a JSON object's members as an int, a float and a list, read by a condition and by
# inputs; and each way a script can break the promise (a missing member, a member of the
# wrong type, lines declared as list<int>, more than 1 MiB) failing its task fatally,
# naming why, while what succeeded before it stays recorded.
. "$(dirname "$0")/lib.sh"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$T/state" "$ep"
start_worker w1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1

cat >"$T/fan.yaml" <<'YAML'
workflow: fan
tasks:
  list:
    type: shell
    with: { argv: [seq, "1", "50"], stdout: lines }
    outputs: { items: list<string> }
  each:
    type: echo
    map: ${list.outputs.items}
    with: { n: "${ int(item) * 2 }" }
  stats:
    type: shell
    with:
      argv: [sh, -c, 'printf "{\"auc\": 0.97, \"rows\": 50, \"tags\": [\"a\", \"b\"]}\n"']
      stdout: json
    outputs: { auc: float, rows: int, tags: list<string> }
  gate:
    type: echo
    when: ${ stats.outputs.auc >= 0.95 && stats.outputs.rows == len(each.outputs.n) }
    with: { rows: "${stats.outputs.rows}", first: "${stats.outputs.tags[1]}" }
  never:
    type: echo
    when: ${ stats.outputs.auc < 0.5 }
    with: { x: 1 }
YAML
"$weft" validate "$T/fan.yaml" >"$T/valid.txt" 2>&1
expect "weft validate types the declared outputs" 0 "$?"
"$weft" submit "$T/fan.yaml" --scheduler "$ep" --wait --timeout 60s >"$T/fan.txt" 2>&1
expect "a run fanned out over a script's lines succeeds" 0 "$?"
expect "... its lines are a typed list output" 'text|1|50|50' \
    "$(sql "$T/state" "SELECT json_type(outputs, '\$.items[0]') || '|' ||
                       json_extract(outputs, '\$.items[0]') || '|' ||
                       json_extract(outputs, '\$.items[49]') || '|' ||
                       json_array_length(outputs, '\$.items') FROM tasks
                       WHERE run_id = 1 AND name = 'list'")"
expect "... one element per printed line" 50 \
    "$(sql "$T/state" "SELECT count(*) FROM tasks WHERE run_id = 1 AND name LIKE 'each[%'")"
expect "... each computing from its line" "2 100" \
    "$(sql "$T/state" "SELECT json_extract(outputs, '\$.n[0]') || ' ' ||
                       json_extract(outputs, '\$.n[49]') FROM tasks WHERE run_id = 1
                       AND name = 'each' AND elem < 0")"
expect "... the JSON members are typed outputs: a float, an int, a list" \
    '0.97|real|50|integer|["a","b"]' \
    "$(sql "$T/state" "SELECT json_extract(outputs, '\$.auc') || '|' ||
                       json_type(outputs, '\$.auc') || '|' || json_extract(outputs, '\$.rows')
                       || '|' || json_type(outputs, '\$.rows') || '|' ||
                       json_extract(outputs, '\$.tags') FROM tasks WHERE run_id = 1
                       AND name = 'stats'")"
expect "... a condition reads them: gate ran with them, never was skipped" \
    'succeeded|50|b skipped' \
    "$(sql "$T/state" "SELECT (SELECT state || '|' || json_extract(outputs, '\$.rows') || '|' ||
                       json_extract(outputs, '\$.first') FROM tasks WHERE run_id = 1
                       AND name = 'gate') || ' ' || (SELECT state FROM tasks WHERE run_id = 1
                       AND name = 'never')")"

# Each broken promise: the task fails fatally, naming why; the task before it keeps its
# outputs.
bad() { # name, printed (sh -c text), mode, declared outputs
    cat >"$T/$1.yaml" <<YAML
workflow: $1
tasks:
  before: { type: shell, with: { argv: [echo, kept] } }
  broken:
    type: shell
    needs: [before]
    with: { argv: [sh, -c, '$2'], stdout: $3 }
    outputs: $4
YAML
    "$weft" submit "$T/$1.yaml" --scheduler "$ep" --wait --timeout 60s >"$T/$1.txt" 2>&1
}
run_of() {
    sql "$T/state" "SELECT r.id FROM runs r JOIN workflows w ON w.id = r.workflow_id
                    WHERE w.name = '$1'"
}
failure_of() { # workflow: broken's state|class|error and before's kept stdout
    sql "$T/state" "SELECT state || '|' || error_class || '|' || error FROM tasks
                    WHERE run_id = $(run_of "$1") AND name = 'broken'"
    sql "$T/state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks
                    WHERE run_id = $(run_of "$1") AND name = 'before'"
}
bad missing 'echo "{\"x\": 1}"' json '{ x: int, y: string }'
expect "a JSON object without a declared member fails the run" 1 "$?"
expect "... fatally, naming the member; the task before keeps its output" \
    "failed|fatal|shell: 'sh' printed a JSON object without 'y', which the task declares (outputs:)
kept" "$(failure_of missing)"
bad wrongtype 'echo "{\"x\": \"seven\"}"' json '{ x: int }'
expect "a member of the wrong type fails the run" 1 "$?"
expect "... naming the value and the type" \
    "failed|fatal|shell: 'sh' printed 'x': \"seven\", which is not of type int
kept" "$(failure_of wrongtype)"
bad notjson 'echo "x = 1"' json '{ x: int }'
expect "stdout that is no JSON object fails the run" 1 "$?"
expect "... saying so" "failed|fatal|shell: 'sh' printed no JSON object on stdout (stdout: json): '[' or '{' expected near 'x'
kept" "$(failure_of notjson)"
bad intlines 'seq 1 3' lines '{ n: list<int> }'
expect "lines declared as anything but one list<string> fail the run" 1 "$?"
expect "... saying what to declare" \
    "failed|fatal|shell: stdout: lines makes one output of type list<string>; declare outputs: { NAME: list<string> }
kept" "$(failure_of intlines)"
bad huge 'head -c 1100000 /dev/zero | tr "\\0" "a"; echo' lines '{ n: list<string> }'
expect "more than 1 MiB of lines fails the run" 1 "$?"
expect "... rather than parsing a truncated list" \
    "failed|fatal|shell: 'sh' printed more than 1048576 bytes; stdout: lines reads at most that
kept" "$(failure_of huge)"
expect "no broken task was retried (fatal)" 5 \
    "$(sql "$T/state" "SELECT count(*) FROM attempts a JOIN tasks t ON t.run_id = a.run_id
                       AND t.idx = a.idx WHERE t.name = 'broken'")"
finish
