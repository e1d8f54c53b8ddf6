#!/usr/bin/env bash
# Secrets: a task names them (secrets: { VAR: name }); the worker that runs it reads each from
# its --secrets-dir or (--secret-env) its own environment, and the value reaches the task's
# environment only: a shell task's, and embed.encode's (api_key_env) against a local
# OpenAI-style endpoint that requires the key. Then every catalogue
# table, event, log file, artifact and cache key, the scheduler's and worker's logs, and the
# command lines of the processes involved are searched for the value: it is found nowhere
# but masked. A secret the worker lacks fails the task with the reason; a secret may not
# take a variable weft or every program relies on.
. "$(dirname "$0")/lib.sh"
value="s3cr3t-VALUE-4711"
mkdir -m 700 "$T/secrets"
printf '%s\n' "$value" >"$T/secrets/api-token"
# A second secret comes from the worker's environment (--secret-env): an embeddings API key
# that a local OpenAI-style endpoint requires.
key="sk-EMBED-$RANDOM$RANDOM-key"
EMBED_SERVER_KEY="$key" python3 "$WEFT_SRC/tests/integration/embed_server.py" \
    --port-file "$T/http.port" --log "$T/requests.txt" >"$T/server.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do [ -s "$T/http.port" ] && break; sleep 0.1; done
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_scheduler "$state" "$ep"
EMBED_KEY="$key" "$WEFT_BIN/weft-worker" --scheduler "$ep" --name keeper --slots 1 \
    --plugin-path "$WEFT_PLUGIN_PATH" --work-dir "$T/work-keeper" --heartbeat 200 \
    --secrets-dir "$T/secrets" --secret-env EMBED_KEY >"$T/worker-keeper.log" 2>&1 &
worker_pid=$!
PIDS+=("$worker_pid")
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
# While it runs: the command lines of every weft process hold no value; the environment
# secret was taken out of the worker's environment, so no executor has it either.
for p in $(pgrep -f 'weft-(scheduler|worker|executor)'); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null
    echo
done >"$T/cmdlines.txt"
for p in $worker_pid $(pgrep -f weft-executor); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null
done >"$T/environs.txt"
[ -s "$T/environs.txt" ] && ok "environments were read" || fail "no environment was read"
if grep -qF "$key" "$T/environs.txt"; then
    fail "the worker's or an executor's environment holds the --secret-env value"
else
    ok "neither the worker's nor its executors' environments hold the --secret-env value"
fi
wait_run_ended "$state" 1
expect "the run using the secret succeeded" succeeded "$st"
"$weft" logs 1 --scheduler "$ep" >"$T/logs.txt"
expect_grep "the task saw the value (its length is in the log)" "^17$" "$T/logs.txt"
expect_grep "... and what it printed of it is masked" "^token: \*\*\*$" "$T/logs.txt"
expect "the stdout output is masked" "token: ***" \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 1")"

# embed.encode's api_key_env names the variable its task's secret is given as.
mkdir -p "$T/corpus"
for i in 1 2 3; do printf 'Document %s talks about secrets and keys, line after line.\n' "$i" >"$T/corpus/d$i.txt"; done
cat >"$T/embed.yaml" <<YAML
workflow: embed-secret
tasks:
  chunk: { type: embed.chunk, with: { source: $T/corpus, size: 200, overlap: 0, shards: 1 } }
  encode:
    type: embed.encode
    secrets: { EMBED_API: EMBED_KEY }
    map: "\${chunk.outputs.shards}"
    with:
      shard: "\${item}"
      backend: http
      endpoint: "http://127.0.0.1:$(cat "$T/http.port")/v1"
      model: test-embed
      api_key_env: EMBED_API
YAML
"$weft" submit "$T/embed.yaml" --scheduler "$ep" --wait >"$T/embed.out" 2>&1
expect "embed.encode with its key as a secret succeeds" 0 "$?"
expect_grep "the endpoint saw the key" "^200 [0-9]+ yes$" "$T/requests.txt"

for run in 1 2; do
    "$weft" status "$run" --scheduler "$ep" --json
    "$weft" events "$run" --scheduler "$ep"
    "$weft" logs "$run" --scheduler "$ep"
done >"$T/status.txt" 2>&1
sqlite3 "$state/catalog.db" .dump >"$T/dump.sql"
expect_grep "the catalogue holds the secrets' names" "api-token" "$T/dump.sql"
expect_grep "... both" "EMBED_KEY" "$T/dump.sql"
for v in "$value" "$key"; do
    found=$(grep -rlaF "$v" "$state" "$T/work-keeper" "$T/dump.sql" "$T/status.txt" "$T/logs.txt" \
            "$T/cmdlines.txt" "$T/scheduler.log" "$T/worker-keeper.log" 2>/dev/null)
    expect "the value ${v:0:6}... is nowhere: catalogue (and WAL), logs, artifacts, cache, events, status, daemon logs, command lines" \
        "" "$found"
done
[ -s "$T/cmdlines.txt" ] && ok "command lines were read ($(wc -l <"$T/cmdlines.txt") processes)" ||
    fail "no command line was read"

# A parameter of type secret chooses the secret at submit time; it names it, never holds it.
cat >"$T/chosen.yaml" <<'YAML'
workflow: chosen
params:
  token: { type: secret, default: not-here }
tasks:
  use:
    type: shell
    secrets: { API_TOKEN: "${params.token}" }
    with: { argv: [sh, -c, 'printf "%s" "$API_TOKEN" | wc -c'] }
YAML
"$weft" submit "$T/chosen.yaml" -p token=api-token --scheduler "$ep" --wait >/dev/null 2>&1
expect "a run choosing its secret by a parameter succeeds" 0 "$?"
expect "... and the task got the value (its length)" 17 \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 3")"
expect "the run's parameters hold the secret's name" '{"token":"api-token"}' \
    "$(sql "$state" "SELECT params FROM runs WHERE id = 3")"

# A secret the worker does not have.
cat >"$T/missing.yaml" <<'YAML'
workflow: missing
tasks:
  want: { type: shell, secrets: { X: not-here }, with: { argv: ["true"] } }
YAML
"$weft" submit "$T/missing.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a task whose secret the worker lacks fails" 1 "$?"
expect_grep "... saying which and why" \
    "secret 'not-here' is not available on this worker: it is neither in the secrets directory nor among --secret-env" \
    <(sql "$state" "SELECT error FROM tasks WHERE run_id = 4")

# Names a secret may not take.
cat >"$T/bad.yaml" <<'YAML'
workflow: bad
tasks:
  a: { type: shell, secrets: { PATH: x, WEFT_OUT: y, OK: ../etc/passwd }, with: { argv: ["true"] } }
YAML
"$weft" validate "$T/bad.yaml" >"$T/bad.txt" 2>&1
expect "a workflow giving secrets bad names is refused" 2 "$?"
expect "... with one message each" 3 "$(grep -c "secrets: " "$T/bad.txt")"

# A --secret-env the worker's environment lacks, or that is no variable's name.
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name x --secret-env WEFT_NO_SUCH_VAR >"$T/noenv.txt" 2>&1
expect "a worker given a --secret-env its environment lacks does not start" 2 "$?"
expect_grep "... saying so" "--secret-env WEFT_NO_SUCH_VAR: the worker's environment has no WEFT_NO_SUCH_VAR" \
    "$T/noenv.txt"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name x --secret-env 'A-B' >"$T/badenv.txt" 2>&1
expect_grep "a --secret-env that is no variable's name is refused" "not an environment variable's name" \
    "$T/badenv.txt"
