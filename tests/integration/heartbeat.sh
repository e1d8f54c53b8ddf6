#!/usr/bin/env bash
# Heartbeats, through a real scheduler and worker: a task with `heartbeat: 1s` whose log stays
# unchanged that long is killed and fails as timeout, "no heartbeat for 1.0s", in about one
# interval; a slow plugin that calls weft_heartbeat, and a shell command that keeps printing
# (to stdout or stderr), run past the interval and succeed.
. "$(dirname "$0")/lib.sh"
: "${WEFT_TEST_PLUGINS:?}"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$T/state" "$ep"
start_worker w1 "$ep" 6 "$WEFT_PLUGIN_PATH:$WEFT_TEST_PLUGINS"
wait_for_workers "$ep" 1 || exit 1
cat >"$T/beats.yaml" <<'YAML'
workflow: beats
defaults: { heartbeat: 1s }
tasks:
  hung: { type: crashy.hang }
  slow: { type: crashy.slow, with: { ms: 3000 } }
  printing:
    type: shell
    with: { argv: [sh, -c, 'for i in 1 2 3 4 5 6 7 8 9 10; do echo $i; sleep 0.3; done'] }
  grumbling:
    type: shell
    with: { argv: [sh, -c, 'for i in 1 2 3 4 5 6 7 8 9 10; do echo $i >&2; sleep 0.3; done'] }
  quiet: { type: shell, with: { argv: [sleep, "5"] } }
  unwatched: { type: shell, heartbeat: 0s, with: { argv: [sleep, "1.5"] } }
YAML
"$weft" submit "$T/beats.yaml" --scheduler "$ep" --wait --timeout 60s >"$T/out.txt" 2>&1
expect "the run fails (two tasks hung)" 1 "$?"
row() { sql "$T/state" "SELECT state || '|' || coalesce(error_class, '') || '|' || coalesce(error, '')
                        FROM tasks WHERE name = '$1'"; }
took() { sql "$T/state" "SELECT (a.finished_us - a.started_us) / 1000 FROM attempts a JOIN tasks t
                         ON t.run_id = a.run_id AND t.idx = a.idx WHERE t.name = '$1'"; }
expect "a hung plugin fails as timeout, saying no heartbeat came" \
    "failed|timeout|no heartbeat for 1.0s from crashy.hang; executor killed (attempt 1)" \
    "$(row hung)"
at_least "... after its interval (ms)" 1000 "$(took hung)"
at_most "... in about one interval" 2500 "$(took hung)"
expect "a slow plugin that calls weft_heartbeat succeeds" "succeeded||" "$(row slow)"
at_least "... running past the interval (ms)" 2900 "$(took slow)"
expect "a shell command printing to stdout succeeds" "succeeded||" "$(row printing)"
expect "... and one printing to stderr" "succeeded||" "$(row grumbling)"
at_least "... each running past the interval (ms)" 2700 "$(took grumbling)"
expect "a silent shell command fails as timeout" \
    "failed|timeout|no heartbeat for 1.0s from shell; executor killed (attempt 1)" "$(row quiet)"
at_most "... in about one interval" 2500 "$(took quiet)"
expect "heartbeat: 0s watches nothing: a silent command succeeds" "succeeded||" "$(row unwatched)"
"$weft" status 1 --scheduler "$ep" >"$T/status.txt"
expect_grep "weft status names the missed heartbeat" "^hung .* no heartbeat for 1.0s" "$T/status.txt"
finish
