#!/usr/bin/env bash
# Subworkflows, through a real scheduler and worker: a workflow calls lib/features.yaml
# twice (type: workflow, uses:, with:), once with a value an upstream task computed and
# once with a constant, and reads its typed outputs; the tasks inside run as a.NAME and
# b.NAME, shown nested in weft graph. A second run is memoized inside the calls. A failure
# inside a call fails the run; weft retry reruns only that, from the definition stored with
# the run (the called file has changed on disk meanwhile). Cancel reaches inside a call. A
# file that calls itself is refused at submit, naming the chain.
. "$(dirname "$0")/lib.sh"
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker w1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
cli=(--scheduler "$ep")
mkdir -p "$T/wf/lib"
cat >"$T/wf/lib/features.yaml" <<'YAML'
workflow: features
params:
  n: { type: int }
  marker: { type: string, default: /nonexistent }
outputs:
  doubled: { type: int, value: "${ int(double.outputs.stdout) }" }
  label: "${label.outputs.stdout}"
tasks:
  double:
    type: shell
    cache: true
    with: { argv: [sh, -c, "echo $((${params.n} * 2))"] }
  label:
    type: shell
    cache: true
    with: { argv: [echo, "n=${params.n}"] }
  check:
    type: shell
    needs: [double]
    with: { argv: [sh, -c, 'test ! -e "$1" || { echo "broken: $1" >&2; exit 3; }', sh,
                   "${params.marker}"] }
YAML
cat >"$T/wf/main.yaml" <<'YAML'
workflow: main
params:
  marker: { type: string, default: /nonexistent }
tasks:
  seed: { type: shell, with: { argv: [echo, "5"] } }
  a:
    type: workflow
    uses: lib/features.yaml
    with: { n: "${ int(seed.outputs.stdout) }" }
  b:
    type: workflow
    uses: lib/features.yaml
    with: { n: 2, marker: "${params.marker}" }
  sum:
    type: shell
    with: { argv: [echo, "${ string(a.outputs.doubled + b.outputs.doubled) }",
                   "${a.outputs.label}", "${b.outputs.label}"] }
YAML
cd "$T" || exit 1 # paths are the workflow's own, not the shell's
"$weft" validate wf/main.yaml >"$T/valid.txt" 2>&1
expect "weft validate reads the called file beside the caller" 0 "$?"
expect_grep "... counting the tasks inside" "ok: workflow 'main', 12 tasks" "$T/valid.txt"
"$weft" graph wf/main.yaml --dot >"$T/graph.dot" 2>&1
expect_grep "weft graph shows each call as a cluster" 'subgraph "cluster_a"' "$T/graph.dot"
expect_grep "... holding its tasks" '"a.double" -> "a.check"' "$T/graph.dot"

"$weft" submit wf/main.yaml "${cli[@]}" --wait --timeout 60s >"$T/run1.txt" 2>&1
expect "a workflow calling another twice succeeds" 0 "$?"
expect "... each call with its own values, typed outputs read after it" "14 n=5 n=2" \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 1
                     AND name = 'sum'")"
expect "... the tasks inside run under the call's name" \
    "a|a.check|a.double|a.label|a.params|b|b.check|b.double|b.label|b.params" \
    "$(sql "$state" "SELECT group_concat(name, '|') FROM (SELECT name FROM tasks
                     WHERE run_id = 1 AND (name LIKE 'a%' OR name LIKE 'b%') ORDER BY name)")"
expect "... the call's outputs are the called workflow's" '{"doubled":10,"label":"n=5"}' \
    "$(sql "$state" "SELECT outputs FROM tasks WHERE run_id = 1 AND name = 'a'")"
expect "... no worker ran the entry or the exit of a call" 0 \
    "$(sql "$state" "SELECT count(*) FROM attempts a JOIN tasks t ON t.run_id = a.run_id
                     AND t.idx = a.idx WHERE t.type = 'workflow'")"
"$weft" status 1 "${cli[@]}" >"$T/status1.txt" 2>&1
expect_grep "weft status shows the nesting" "b.double" "$T/status1.txt"

"$weft" submit wf/main.yaml "${cli[@]}" --wait --timeout 60s >/dev/null 2>&1
expect "the same workflow again succeeds" 0 "$?"
expect "... its memoized tasks inside both calls come from the cache, not a worker" \
    "a.double|a.label|b.double|b.label" \
    "$(sql "$state" "SELECT group_concat(name, '|') FROM (SELECT name FROM tasks
                     WHERE run_id = 2 AND source = 'cache' ORDER BY name)")"

# A failure inside a call fails the run; retry reruns only what failed and what follows.
touch "$T/broken"
"$weft" submit wf/main.yaml -p marker="$T/broken" "${cli[@]}" --wait --timeout 60s \
    >"$T/run3.txt" 2>&1
expect "a failure inside a call fails the run" 1 "$?"
expect "... at the task inside, by name" "b.check|failed" \
    "$(sql "$state" "SELECT name || '|' || state FROM tasks WHERE run_id = 3
                     AND state = 'failed'")"
expect "... what follows the call is skipped" "skipped skipped" \
    "$(sql "$state" "SELECT (SELECT state FROM tasks WHERE run_id = 3 AND name = 'b') || ' ' ||
                     (SELECT state FROM tasks WHERE run_id = 3 AND name = 'sum')")"
rm -f "$T/broken"
echo "this is not the file the run was submitted with" >"$T/wf/lib/features.yaml"
"$weft" retry 3 "${cli[@]}" >"$T/retry.txt" 2>&1 || fail "retry 3: $(cat "$T/retry.txt")"
wait_run_ended "$state" 4
expect "weft retry of it succeeds, from the definition stored with the run" succeeded "$st"
expect "... running again only the failed task inside and what follows it" "b.check sum" \
    "$(sql "$state" "SELECT group_concat(t.name, ' ') FROM (SELECT DISTINCT t.name
                     FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx
                     WHERE a.run_id = 4 ORDER BY t.name) t")"

# A failure caught inside a call: the call ends with its handler's outputs, and the caller
# goes on.
cat >"$T/wf/guarded.yaml" <<'YAML'
workflow: guarded
outputs:
  result: "${fallback.outputs.stdout}"
tasks:
  risky:
    type: fail
    with: { message: "no data tonight" }
    catch: { next: fallback }
  publish: { type: echo, needs: [risky], with: { x: 1 } }
  fallback: { type: shell, with: { argv: [echo, "fallback after: ${risky.error.message}"] } }
YAML
cat >"$T/wf/calls-guarded.yaml" <<'YAML'
workflow: calls-guarded
tasks:
  g: { type: workflow, uses: guarded.yaml }
  after: { type: shell, with: { argv: [echo, "${g.outputs.result}"] } }
YAML
"$weft" submit wf/calls-guarded.yaml "${cli[@]}" --wait --timeout 60s >"$T/guarded.txt" 2>&1
expect "a failure caught inside a call lets the caller go on" 0 "$?"
run=$(sql "$state" "SELECT max(id) FROM runs")
expect "... the task after the call read the handler's output" \
    "fallback after: no data tonight" \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = $run
                     AND name = 'after'")"
expect "... inside: caught, handled, and not run below it" "caught succeeded not_run" \
    "$(sql "$state" "SELECT (SELECT state FROM tasks WHERE run_id = $run AND name = 'g.risky')
                     || ' ' || (SELECT state FROM tasks WHERE run_id = $run
                     AND name = 'g.fallback') || ' ' || (SELECT state FROM tasks
                     WHERE run_id = $run AND name = 'g.publish')")"

# Cancel reaches inside a call.
cat >"$T/wf/slow.yaml" <<'YAML'
workflow: slow
tasks:
  wait: { type: sleep, with: { duration: 30s } }
YAML
cat >"$T/wf/calls-slow.yaml" <<'YAML'
workflow: calls-slow
tasks:
  inner: { type: workflow, uses: slow.yaml }
YAML
"$weft" submit wf/calls-slow.yaml "${cli[@]}" >/dev/null 2>&1 || fail "submit calls-slow"
run=$(sql "$state" "SELECT max(id) FROM runs")
for _ in $(seq 100); do
    [ "$(sql "$state" "SELECT state FROM tasks WHERE run_id = $run AND name = 'inner.wait'")" = \
        running ] && break
    sleep 0.1
done
"$weft" cancel "$run" "${cli[@]}" >/dev/null 2>&1
wait_run_ended "$state" "$run"
expect "a cancel stops the task running inside a call" "cancelled cancelled" \
    "$st $(sql "$state" "SELECT state FROM tasks WHERE run_id = $run AND name = 'inner.wait'")"

# Recursion is refused at submit, naming the chain.
cat >"$T/wf/x.yaml" <<'YAML'
workflow: x
tasks:
  y: { type: workflow, uses: sub/y.yaml }
YAML
mkdir -p "$T/wf/sub"
cat >"$T/wf/sub/y.yaml" <<'YAML'
workflow: y
tasks:
  back: { type: workflow, uses: ../x.yaml }
YAML
runs_before=$(sql "$state" "SELECT count(*) FROM runs")
"$weft" submit wf/x.yaml "${cli[@]}" >"$T/rec.out" 2>&1
expect "a workflow that calls itself is refused at submit" 2 "$?"
expect_grep "... naming the chain" \
    "wf/sub/y.yaml:3:33: uses: 'x.yaml' calls itself \\(x.yaml -> sub/y.yaml -> x.yaml\\)" \
    "$T/rec.out"
expect "... and no run is made" "$runs_before" "$(sql "$state" "SELECT count(*) FROM runs")"
finish
