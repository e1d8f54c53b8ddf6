#!/usr/bin/env bash
# Plugins built wrong are refused with a message naming the plugin and the problem; the
# worker runs on with the good ones. Plugins that misbehave at run time fail only their
# task, with a clear message.
. "$(dirname "$0")/lib.sh"
: "${WEFT_TEST_PLUGINS:?}"
cd "$T" || exit 1
path="$WEFT_PLUGIN_PATH:$WEFT_TEST_PLUGINS"

"$weft" plugins --plugin-path "$path" >plugins.out 2>&1
expect "plugins exits 0 despite refusals" 0 $?
expect_grep "wrong ABI refused" "refused: plugin 'badabi.so' was built for weft plugin ABI 2.0; this executor supports ABI 1.0 to 1.4" plugins.out
expect_grep "missing entry point refused" "refused: plugin 'noentry.so' has no entry point 'weft_plugin_init'" plugins.out
expect_grep "duplicate type refused" "refused: plugin 'duptype.so' declares task type 'duptype.a' twice" plugins.out
expect_grep "good plugins still listed" '^  misbehave.unset \(version 1\)' plugins.out

printf 'workflow: w\ntasks:\n  a: { type: badabi.task }\n' >abi.yaml
"$weft" validate abi.yaml --plugin-path "$path" >abi.out 2>&1
expect "a refused plugin's types are unknown" 2 $?
expect_grep "unknown type message" "unknown task type 'badabi.task'" abi.out

port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker w1 "$ep" 2 "$path"
wait_for_workers "$ep" 1 || exit 1
expect_grep "worker logs the ABI refusal" "plugin 'badabi.so' was built for weft plugin ABI 2.0" "$T/worker-w1.log"

cat >mis.yaml <<'YAML'
workflow: misbehaving
tasks:
  undeclared: { type: misbehave.undeclared }
  unset: { type: misbehave.unset }
  bogus: { type: misbehave.bogus }
  fine: { type: echo, with: { x: 1 } }
YAML
"$weft" submit mis.yaml --scheduler "$ep" --wait >mis.out 2>&1
expect "the run fails" 1 $?
msg() { sql "$T/state" "SELECT error FROM tasks WHERE name = '$1'"; }
expect "undeclared output refused, naming the plugin" "plugin 'misbehave' set output 'surprise', which task type 'misbehave.undeclared' does not declare" "$(msg undeclared)"
expect "unset output caught" "plugin returned OK but did not set output 'value'" "$(msg unset)"
expect "invalid return caught" "plugin returned 42 (not WEFT_OK, WEFT_RETRY or WEFT_FAIL)" "$(msg bogus)"
expect "the good task ran" succeeded "$(sql "$T/state" "SELECT state FROM tasks WHERE name = 'fine'")"
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" --scheduler "$ep" --wait >after.out 2>&1
expect "the worker runs on" 0 $?
kill -0 "$WORKER_PID" 2>/dev/null && ok "worker still alive" || fail "worker died"
finish
