#!/usr/bin/env bash
# The web UI in a real browser: headless Chromium (Debian's) driven by playwright-core
# (tests/node/ui-test.mjs) against a real gateway, scheduler and worker. Log in with a
# token; submit nightly-training from the form made from its typed parameters, with a CSV
# uploaded; watch its graph turn green; download a task's predictions, which must be what
# weft get writes; follow a failing task's log while it prints; retry the failed run from
# its page (the plan first) and see the new run reuse what succeeded. Screenshots land in
# the test's directory (docs/ holds copies: UPDATE_SCREENSHOTS=1 refreshes them).
. "$(dirname "$0")/lib.sh"
node_dir="$WEFT_SRC/tests/node"
if ! command -v node >/dev/null || [ ! -d "$node_dir/node_modules/playwright-core" ] ||
    [ ! -x /usr/bin/chromium ]; then
    skip "needs node, playwright-core (tests/node) and Debian's chromium (scripts/deps.sh)"
    exit 0
fi
if [ -n "${WEFT_SANITIZED:-}" ]; then
    skip "nightly-training's XGBoost is not run under the sanitizers (as in plugins.ml)"
    exit 0
fi
state="$T/state"
start_curve_scheduler "$state" "tcp://127.0.0.1:$(free_port)"
lep="ipc://$state/scheduler.sock"
start_worker w1 "$lep" 2
wait_for_workers "$lep" 1 || exit 1
wq() { "$weft" "$@" --state "$state"; }
token=$(wq keys token alice --role client --project p1 2>/dev/null)
(cd "$WEFT_SRC" && WEFT_PROJECT=p1 "$weft" register workflows/nightly-training.yaml \
    --state "$state" >"$T/register.out")
expect "nightly-training is registered" \
    "registered nightly-training in project p1 (version 1)" "$(cat "$T/register.out")"
cat >"$T/flaky.yaml" <<'EOF'
workflow: flaky
tasks:
  before: { type: echo, with: { x: 1 } }
  noisy:
    type: shell
    needs: [before]
    with:
      argv: [sh, -c, 'for i in 1 2 3 4 5 6 7 8; do echo "step $i"; sleep 0.6; done; echo "no model" >&2; exit 1']
EOF
port=$(free_port)
"$WEFT_BIN/weft-gateway" --state "$state" --listen "http://127.0.0.1:$port" >"$T/gateway.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
mkdir -p "$T/ui"
BASE="http://127.0.0.1:$port" TOKEN="$token" CSV="$WEFT_SRC/workflows/data/breast-cancer.csv" \
    OUT="$T/ui" FLAKY="$T/flaky.yaml" timeout 300 node "$node_dir/ui-test.mjs" >"$T/ui.out" 2>&1
expect "the browser test passes" 0 $?
cat "$T/ui.out"
if [ -s "$T/ui/run.txt" ]; then
    run=$(cat "$T/ui/run.txt")
    (cd "$T" && wq get "$run/xgboost_predict/predictions" -o "$T/got.csv" >/dev/null)
    cmp -s "$T/ui/predictions.csv" "$T/got.csv"
    expect "the predictions the browser downloaded are what weft get writes" 0 $?
    expect "... the run the form made used the uploaded CSV" succeeded \
        "$(sql "$state" "SELECT state FROM runs WHERE id = $run")"
fi
for f in run submit log; do
    [ -s "$T/ui/$f.png" ] && ok "screenshot $f.png" || fail "no screenshot $f.png"
done
if [ -n "${UPDATE_SCREENSHOTS:-}" ]; then
    cp "$T/ui/run.png" "$WEFT_SRC/docs/ui-run.png"
    cp "$T/ui/submit.png" "$WEFT_SRC/docs/ui-submit.png"
fi
finish
