#!/usr/bin/env bash
# Expressions inside ${ }, through a real scheduler and worker: arithmetic, comparison,
# logic and functions over parameters and task outputs, typed at submit; a map fanning out
# over range(); a shell task's printed lines counted; an expression that fails at run time
# (int() of text that is no number) fails its task, naming why, and the run.
. "$(dirname "$0")/lib.sh"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$T/state" "$ep"
start_worker w1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
cat >"$T/exprs.yaml" <<'YAML'
workflow: exprs
params:
  auc: 0.9788732394
  n: 3
  names: { type: "list<string>", default: [a, b, c] }
tasks:
  count:
    type: shell
    with: { argv: [sh, -c, 'printf "x\ny\nz\n"'] }
  show:
    type: shell
    with:
      argv: [echo, "${ string(params.auc * 100) }",
             "${ format('{} of {}', params.n, len(params.names)) }",
             "${ join(params.names, '+') }", "${ string(params.auc >= 0.95 && params.n > 2) }",
             "${ string(len(lines(count.outputs.stdout))) }", "x ${ params.n * 2 + 1 } y",
             "${ string(contains(split('p,q', ','), 'q') || false) }",
             "${ string(int('42') + float(1) / 4) }", "${ json(fromjson('[1, 2]')) }"]
  fan:
    type: echo
    map: "${ range(0, params.n) }"
    with: { v: "${ item * 10 }", odd: "${ item % 2 == 1 }" }
YAML
"$weft" submit "$T/exprs.yaml" --scheduler "$ep" --wait --timeout 30s >"$T/out.txt" 2>&1
expect "a run full of expressions succeeds" 0 "$?"
expect "each expression gives its value" \
    "97.88732394 3 of 3 a+b+c true 3 x 7 y true 42.25 [1,2]" \
    "$(sql "$T/state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE name = 'show'")"
expect "map fans out over range(0, 3), each element computing from its item" \
    '[0,10,20] [false,true,false]' \
    "$(sql "$T/state" "SELECT json_extract(outputs, '\$.v') || ' ' || json_extract(outputs, '\$.odd')
                       FROM tasks WHERE name = 'fan' AND elem < 0")"

# A script drives a fan-out: map over the lines it printed.
cat >"$T/fanout.yaml" <<'YAML'
workflow: fanout
tasks:
  list: { type: shell, with: { argv: [seq, "1", "50"] } }
  each:
    type: echo
    map: "${ lines(list.outputs.stdout) }"
    with: { n: "${ int(item) * 2 }" }
  total:
    type: shell
    with: { argv: [echo, "${ len(each.outputs.n) } elements"] }
YAML
"$weft" submit "$T/fanout.yaml" --scheduler "$ep" --wait --timeout 60s >"$T/fanout.txt" 2>&1
expect "a map fans out over the 50 lines a shell task printed" 0 "$?"
expect "... one element per line" 50 \
    "$(sql "$T/state" "SELECT count(*) FROM tasks WHERE run_id = 2 AND name LIKE 'each[%' AND elem >= 0")"
expect "... each computing from its line" "2 100" \
    "$(sql "$T/state" "SELECT json_extract(outputs, '\$.n[0]') || ' ' || json_extract(outputs, '\$.n[49]')
                       FROM tasks WHERE run_id = 2 AND name = 'each' AND elem < 0")"
expect "... and a task after it sees them all" "50 elements" \
    "$(sql "$T/state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 2 AND name = 'total'")"

cat >"$T/bad.yaml" <<'YAML'
workflow: bad
tasks:
  word: { type: shell, with: { argv: [echo, seven] } }
  use: { type: echo, with: { n: "${ int(word.outputs.stdout) + 1 }" } }
YAML
"$weft" submit "$T/bad.yaml" --scheduler "$ep" --wait --timeout 30s >"$T/bad.txt" 2>&1
expect "an expression that fails at run time fails the run" 1 "$?"
expect "... its task fatally, naming why" "failed|fatal|int(): 'seven' is not a number" \
    "$(sql "$T/state" "SELECT state || '|' || error_class || '|' || error FROM tasks
                       WHERE name = 'use' AND run_id = 3")"
expect "... before any attempt" 0 \
    "$(sql "$T/state" "SELECT count(*) FROM attempts a JOIN tasks t ON t.run_id = a.run_id
                       AND t.idx = a.idx WHERE t.name = 'use'")"
"$weft" validate "$T/exprs.yaml" >"$T/valid.txt" 2>&1
expect "weft validate accepts the expressions" 0 "$?"
finish
