#!/usr/bin/env bash
# Secrets: a task names them (secrets: { VAR: name }); the worker that runs it reads each from
# its --secrets-dir, and the value reaches the task's environment only. Then every catalogue
# table, event, log file, artifact and cache key, the scheduler's and worker's logs, and the
# command lines of the processes involved are searched for the value: it is found nowhere
# but masked. A secret the worker lacks fails the task with the reason; a secret may not
# take a variable weft or every program relies on.
. "$(dirname "$0")/lib.sh"
value="s3cr3t-VALUE-4711"
mkdir -m 700 "$T/secrets"
printf '%s\n' "$value" >"$T/secrets/api-token"
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_scheduler "$state" "$ep"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name keeper --slots 1 --plugin-path "$WEFT_PLUGIN_PATH" \
    --work-dir "$T/work-keeper" --heartbeat 200 --secrets-dir "$T/secrets" >"$T/worker-keeper.log" 2>&1 &
PIDS+=("$!")
wait_for_workers "$ep" 1 || exit 1
cat >"$T/use.yaml" <<'YAML'
workflow: secrets
tasks:
  use:
    type: shell
    secrets: { API_TOKEN: api-token }
    cache: true
    with:
      argv: [sh, -c, 'echo "token: $API_TOKEN"; printf "%s" "$API_TOKEN" | wc -c >&2; sleep 1']
YAML
"$weft" submit "$T/use.yaml" --scheduler "$ep" >/dev/null || fail "submit"
for _ in $(seq 30); do
    pgrep -f weft-executor >/dev/null && break
    sleep 0.1
done
# While it runs: the command lines of every weft process hold no value.
for p in $(pgrep -f 'weft-(scheduler|worker|executor)'); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null
    echo
done >"$T/cmdlines.txt"
wait_run_ended "$state" 1
expect "the run using the secret succeeded" succeeded "$st"
"$weft" logs 1 --scheduler "$ep" >"$T/logs.txt"
expect_grep "the task saw the value (its length is in the log)" "^17$" "$T/logs.txt"
expect_grep "... and what it printed of it is masked" "^token: \*\*\*$" "$T/logs.txt"
expect "the stdout output is masked" "token: ***" \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 1")"
"$weft" status 1 --scheduler "$ep" --json >"$T/status.json"
"$weft" events 1 --scheduler "$ep" >"$T/events.txt"
sqlite3 "$state/catalog.db" .dump >"$T/dump.sql"
expect_grep "the catalogue holds the secret's name" "api-token" "$T/dump.sql"
found=$(grep -rlaF "$value" "$state" "$T/work-keeper" "$T/dump.sql" "$T/status.json" "$T/events.txt" "$T/logs.txt" \
        "$T/cmdlines.txt" "$T/scheduler.log" "$T/worker-keeper.log" 2>/dev/null)
expect "the value is nowhere: catalogue (and WAL), logs, artifacts, cache, events, daemon logs, command lines" \
    "" "$found"
[ -s "$T/cmdlines.txt" ] && ok "command lines were read ($(wc -l <"$T/cmdlines.txt") processes)" ||
    fail "no command line was read"

# A secret the worker does not have.
cat >"$T/missing.yaml" <<'YAML'
workflow: missing
tasks:
  want: { type: shell, secrets: { X: not-here }, with: { argv: ["true"] } }
YAML
"$weft" submit "$T/missing.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a task whose secret the worker lacks fails" 1 "$?"
expect_grep "... saying which and why" \
    "secret 'not-here' is not available on this worker: it is not in the secrets directory" \
    <(sql "$state" "SELECT error FROM tasks WHERE run_id = 2")

# Names a secret may not take.
cat >"$T/bad.yaml" <<'YAML'
workflow: bad
tasks:
  a: { type: shell, secrets: { PATH: x, WEFT_OUT: y, OK: ../etc/passwd }, with: { argv: ["true"] } }
YAML
"$weft" validate "$T/bad.yaml" >"$T/bad.txt" 2>&1
expect "a workflow giving secrets bad names is refused" 2 "$?"
expect "... with one message each" 3 "$(grep -c "secrets: " "$T/bad.txt")"
