#!/usr/bin/env bash
# weft logs -f follows a task's log while the task is still running (the worker streams it
# every heartbeat), prints every line once and in order, ends when the attempt does; a
# whole run's logs are followed until the run ends; a secret the task prints is masked in
# the stream too; an unknown task is refused with its name.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
mkdir -p "$T/secrets"
printf 'hunter2-secret-value' >"$T/secrets/api-key"
chmod 600 "$T/secrets/api-key"
start_scheduler "$state" "$ep"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name w1 --slots 2 --plugin-path "$WEFT_PLUGIN_PATH" \
    --work-dir "$T/work-w1" --heartbeat 200 --secrets-dir "$T/secrets" >"$T/worker-w1.log" 2>&1 &
PIDS+=($!)
wait_for_workers "$ep" 1 || exit 1
w() { "$weft" "$@" --scheduler "$ep"; }

cat >"$T/ticks.yaml" <<'EOF'
workflow: ticks
tasks:
  t:
    type: shell
    secrets: { API_KEY: api-key }
    with: { argv: [sh, -c, 'for i in 1 2 3 4 5 6 7 8; do echo "tick $i key=$API_KEY"; sleep 0.5; done'] }
  after:
    type: shell
    needs: [t]
    with: { argv: [sh, -c, 'echo done-after'] }
EOF
w submit "$T/ticks.yaml" >/dev/null || fail "submit"
run=$(sql "$state" "SELECT max(id) FROM runs")
w logs "$run" t -f >"$T/follow.out" 2>"$T/follow.err" &
follower=$!
live=""
for _ in $(seq 100); do
    if grep -q "tick 2" "$T/follow.out"; then
        live=$(sql "$state" "SELECT state FROM tasks WHERE run_id = $run AND name = 't'")
        break
    fi
    sleep 0.1
done
expect "weft logs -f printed the task's lines while it was still running" running "$live"
expect "... and the secret it printed is masked in the stream" 0 \
    "$(grep -c hunter2 "$T/follow.out")"
for _ in $(seq 150); do kill -0 "$follower" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$follower" 2>/dev/null; then
    fail "weft logs -f did not end when the task did"
    kill "$follower"
fi
wait "$follower"
expect "weft logs -f exits 0 when the attempt ends" 0 "$?"
expect "every line once, in order" "1 2 3 4 5 6 7 8" \
    "$(sed -n 's/^tick \([0-9]\) key=\*\*\*$/\1/p' "$T/follow.out" | tr '\n' ' ' | sed 's/ $//')"
expect "one header for the attempt" 1 "$(grep -c '^==> t (attempt 1) <==$' "$T/follow.out")"
expect "the streamed log is the final log" "$(w logs "$run" t | tail -n +2)" \
    "$(tail -n +2 "$T/follow.out")"

# The whole run: every task, until the run ends.
w submit "$T/ticks.yaml" >/dev/null || fail "submit 2"
run=$(sql "$state" "SELECT max(id) FROM runs")
timeout 30 "$weft" logs "$run" -f --scheduler "$ep" >"$T/run.out" 2>&1
expect "weft logs -f RUN ends with the run" "0 succeeded" \
    "$? $(sql "$state" "SELECT state FROM runs WHERE id = $run")"
expect_grep "... having followed the first task" "^tick 8 key=\*\*\*$" "$T/run.out"
expect_grep "... and the one after it" "^done-after$" "$T/run.out"

out=$(w logs "$run" nosuch -f 2>&1); rc=$?
expect "an unknown task is refused (exit)" 2 "$rc"
expect_text "... with its name" "run $run has no task 'nosuch'" "$out"
