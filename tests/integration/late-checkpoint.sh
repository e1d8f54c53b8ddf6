#!/usr/bin/env bash
# A late result's checkpoint. A worker frozen (SIGSTOP) while its attempt runs, the attempt
# having saved a checkpoint, is declared lost; the task is retried on the other worker,
# whose attempt saves a checkpoint of its own and succeeds. When the frozen worker thaws, its
# attempt ends and its result, carrying the first checkpoint, arrives after its run ended:
# the scheduler keeps that checkpoint on the attempt that saved it (moved to attempt_rows
# when the retry started), and the task's row keeps the retry's attempt and checkpoint.
. "$(dirname "$0")/lib.sh"
: "${WEFT_TEST_PLUGINS:?}"
path="$WEFT_PLUGIN_PATH:$WEFT_TEST_PLUGINS"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker one "$ep" 1 "$path"; pid_one=$WORKER_PID
start_worker two "$ep" 1 "$path"; pid_two=$WORKER_PID
wait_for_workers "$ep" 2 || exit 1

cat >"$T/c.yaml" <<'YAML'
workflow: late-checkpoint
tasks:
  save:
    type: crashy.saver
    with: { ms: 1500 }
    retry: { max_attempts: 2, interval: 50ms, on: [lost] }
YAML
"$weft" submit "$T/c.yaml" --scheduler "$ep" >/dev/null || fail "submit"
w=$(worker_of_attempt "$state" 1)
[ "$w" = one ] && frozen=$pid_one || frozen=$pid_two
# Freeze it once the attempt has saved its checkpoint (the file is in its work dir).
for _ in $(seq 50); do
    [ -n "$(find "$T/work-$w" -name saver.checkpoint 2>/dev/null)" ] && break
    sleep 0.1
done
kill -STOP "$frozen"
ok "froze worker $w after its attempt saved a checkpoint"
wait_run_ended "$state" 1
expect "the run succeeded on the other worker" "succeeded|2" \
    "$(sql "$state" "SELECT t.state || '|' || t.attempts FROM tasks t WHERE t.name = 'save'")"
expect "no checkpoint of attempt 1 yet" 0 \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE number = 1 AND checkpoint IS NOT NULL")"
kill -CONT "$frozen"
ok "thawed worker $w"
for _ in $(seq 100); do
    [ "$(sql "$state" "SELECT count(*) FROM events WHERE kind = 'stale_result'")" -ge 1 ] && break
    sleep 0.1
done
expect "its late result was recorded as stale" 1 \
    "$(sql "$state" "SELECT count(*) >= 1 FROM events WHERE kind = 'stale_result'")"
expect "attempt 1, in attempt_rows, keeps the checkpoint it saved" 1 \
    "$(sql "$state" "SELECT count(*) FROM attempt_rows WHERE number = 1 AND checkpoint IS NOT NULL")"
expect "the task's row keeps attempt 2 and its own checkpoint" "2|1" \
    "$(sql "$state" "SELECT attempts || '|' || (checkpoint IS NOT NULL) FROM tasks WHERE name = 'save'")"
expect "the two checkpoints differ" 2 \
    "$(sql "$state" "SELECT count(DISTINCT checkpoint) FROM attempts WHERE checkpoint IS NOT NULL")"
expect "the task still succeeded once" 1 \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE state = 'succeeded'")"
finish
