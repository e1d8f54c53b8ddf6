#!/usr/bin/env bash
# A `shell` task's child sees an allow-listed environment, never the worker's whole one (which
# may hold credentials): PATH, HOME, LANG, LC_ALL, TZ, TMPDIR, the variables named by the
# worker's --pass-env, weft's own, and what the task declares in `env`.
. "$(dirname "$0")/lib.sh"
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_scheduler "$state" "$ep"
SECRET_TOKEN=hunter2 AWS_SECRET_ACCESS_KEY=abc FOO=bar "$WEFT_BIN/weft-worker" --scheduler "$ep" \
    --name env --slots 1 --plugin-path "$WEFT_PLUGIN_PATH" --work-dir "$T/work-env" \
    --heartbeat 200 --pass-env FOO >"$T/worker-env.log" 2>&1 &
PIDS+=("$!")
wait_for_workers "$ep" 1 || exit 1
cat >"$T/env.yaml" <<'YAML'
workflow: env
params:
  auc: 0.9788732394
tasks:
  show:
    type: shell
    with:
      argv: [env]
      env: { DECLARED: "yes", AUC: "${params.auc}", AUC_TEXT: "auc ${params.auc}" }
YAML
"$weft" submit "$T/env.yaml" --scheduler "$ep" --wait >/dev/null || fail "run"
sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 1" >"$T/env.txt"
expect_grep "the child has PATH" "^PATH=" "$T/env.txt"
expect_grep "... weft's own variables" "^WEFT_TASK=show$" "$T/env.txt"
expect_grep "... what the task declares" "^DECLARED=yes$" "$T/env.txt"
expect_grep "... a float in its shortest round-trip form" "^AUC=0.9788732394$" "$T/env.txt"
expect_grep "... inside text too" "^AUC_TEXT=auc 0.9788732394$" "$T/env.txt"
expect_grep "... what the worker passes on" "^FOO=bar$" "$T/env.txt"
if grep -q "hunter2\|SECRET_TOKEN\|AWS_SECRET" "$T/env.txt"; then
    fail "the worker's other variables reached the task"
else
    ok "the worker's other variables do not reach the task"
fi
"$WEFT_BIN/weft-worker" --scheduler "$ep" --pass-env 'BAD NAME' >"$T/bad.txt" 2>&1
expect "--pass-env with a name that is not a variable's is refused" 2 "$?"
