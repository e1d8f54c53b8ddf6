#!/usr/bin/env bash
# The embed plugin's http backend against a real local HTTP server implementing the
# OpenAI embeddings endpoint (embed_server.py): a burst of 429 answers is ridden out by
# weft's retries with backoff; vectors are placed by their index and searchable; the API
# key travels only in the Authorization header and is written nowhere. A malformed answer,
# a short one and a refused key fail at once (fatal, not retried); a timeout is transient.
. "$(dirname "$0")/lib.sh"
key="sk-test-$RANDOM$RANDOM-secret"
export EMBED_SERVER_KEY="$key" OPENAI_API_KEY="$key"
python3 "$WEFT_SRC/tests/integration/embed_server.py" --port-file "$T/http.port" \
    --log "$T/requests.txt" --burst 3 >"$T/server.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do [ -s "$T/http.port" ] && break; sleep 0.1; done
api="http://127.0.0.1:$(cat "$T/http.port")/v1"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker h1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
q() { sql "$T/state" "$1"; }
mkdir -p "$T/corpus"
cp /usr/share/doc/python3.11/html/_sources/tutorial/{appetite,interpreter,whatnow,interactive}.rst.txt "$T/corpus/"

cat >"$T/rag.yaml" <<YAML
workflow: rag-http
defaults:
  retry: { max_attempts: 6, interval: 200ms, backoff_rate: 2 }
tasks:
  chunk: { type: embed.chunk, with: { source: $T/corpus, size: 300, overlap: 40, shards: 4 } }
  encode:
    type: embed.encode
    map: "\${chunk.outputs.shards}"
    with: { shard: "\${item}", backend: http, endpoint: "$api", model: test-embed, batch: 8 }
  index: { type: embed.index, with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}", method: exact } }
YAML
"$weft" submit "$T/rag.yaml" --scheduler "$ep" --wait >"$T/run1.out" 2>&1
expect "the ingestion through the http backend succeeds" 0 $?
expect "the 429 burst was answered three times" 3 "$(grep -c '^429 ' "$T/requests.txt")"
expect "each 429 cost one transient attempt, retried" "3 transient" \
    "$(q "SELECT count(*), group_concat(DISTINCT error_class) FROM attempts WHERE run_id = 1 AND state != 'succeeded'" | tr '|' ' ')"
expect_grep "the transient attempts name the answer" \
    "embed.encode: http://127.0.0.1:[0-9]+/v1/embeddings answered HTTP 429: rate limited \(after 0 of [0-9]+ texts\)" \
    <(q "SELECT error FROM attempts WHERE run_id = 1 AND error IS NOT NULL")
expect "every chunk has a vector, in batches of at most 8" "$(task_out 1 chunk chunks) 8" \
    "$(task_out 1 index count) $(awk '$1 == 200 { if ($2 > m) m = $2 } END { print m }' "$T/requests.txt")"
expect "every answered request carried the key" "0" "$(grep -c ' no$' "$T/requests.txt")"
task_blob 1 encode 'ids[0]' >"$T/ids0.json"
expect "the ids record the http encoder and the endpoint's dimension" "http test-embed 32" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["backend"], d["model"], d["dim"])' "$T/ids0.json")"
for i in 0 1 2 3; do task_blob 1 chunk "shards[$i]"; done >"$T/chunks.jsonl"
python3 - "$T/chunks.jsonl" >"$T/queries.json" <<'PY'
import json, sys
cs = [json.loads(l) for l in open(sys.argv[1])][::7][:5]
print(json.dumps({"texts": [c["text"] for c in cs], "ids": [c["id"] for c in cs]}))
PY
cat >"$T/search.yaml" <<YAML
workflow: search-http
params:
  index: { type: file }
tasks:
  ask: { type: embed.search, with: { index: "\${params.index}", endpoint: "$api", k: 3, queries: $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["texts"]))' "$T/queries.json") } }
YAML
"$weft" submit "$T/search.yaml" -p index="$(blob_path "$(task_out 1 index index.artifact)")" \
    --scheduler "$ep" --wait >"$T/run2.out" 2>&1
expect "search through the endpoint succeeds" 0 $?
expect "a chunk's own text finds that chunk first (vectors placed by index, not order)" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ids"])' "$T/queries.json")" \
    "$(task_out 2 ask results | python3 -c 'import json,sys; print([r["hits"][0]["id"] for r in json.load(sys.stdin)])')"

# A 503 in the middle of a shard: the retry resumes from the last checkpoint (one per
# batch here) and asks only for the rest; its vectors are byte for byte those of a run
# that never failed.
head -n 40 "$T/chunks.jsonl" >"$T/forty.jsonl"
cat >"$T/resume.yaml" <<YAML
workflow: resume-http
tasks:
  flaky:
    type: embed.encode
    retry: { max_attempts: 3, interval: 100ms }
    with: { shard: $T/forty.jsonl, backend: http, endpoint: "$api", model: fail-at-4, batch: 8, checkpoint_batches: 1 }
  steady:
    type: embed.encode
    with: { shard: $T/forty.jsonl, backend: http, endpoint: "$api", model: fail-at-99, batch: 8 }
YAML
: >"$T/requests.txt"
"$weft" submit "$T/resume.yaml" --scheduler "$ep" --wait >"$T/run3.out" 2>&1
expect "the shard is encoded despite a 503 in its middle" 0 $?
expect "attempt 1 failed transient on the 503, attempt 2 succeeded" "transient succeeded" \
    "$(q "SELECT group_concat(coalesce(error_class, state), ' ') FROM (SELECT error_class, state FROM attempts WHERE run_id = 3 AND idx = 0 ORDER BY number)")"
expect_grep "the retry resumed after the three batches done" "resuming after 24 of 40 texts" \
    "$T/state/logs/3/flaky.2.log"
# Both tasks: 5 answered requests each for their 40 texts, and one 503; starting over
# would have cost the flaky one 3 more requests and 24 more texts.
expect "only the texts left were asked for again (answered requests, texts, 503s)" "10 80 1" \
    "$(awk '$1 == 200 { n++; t += $2 } $1 == 503 { f++ } END { print n, t, f }' "$T/requests.txt")"
expect "its vectors are those of the run that never failed" \
    "$(task_out 3 steady vectors.artifact)" "$(task_out 3 flaky vectors.artifact)"

# fails RUN MODEL CLASS ATTEMPTS PATTERN WHAT [EXTRA WITH [ENDPOINT]]
fails() {
    cat >"$T/bad$1.yaml" <<YAML
workflow: bad-http
defaults:
  retry: { max_attempts: $4, interval: 100ms }
tasks:
  enc: { type: embed.encode, with: { shard: $T/one.jsonl, backend: http, endpoint: "${8:-$api}", model: $2, batch: 4 ${7:-} } }
YAML
    "$weft" submit "$T/bad$1.yaml" --scheduler "$ep" --wait >"$T/bad$1.out" 2>&1
    expect "$6: fails ($3) after $4 attempt(s)" "failed $3 $4" \
        "$(q "SELECT state, error_class, attempts FROM tasks WHERE run_id = $1" | tr '|' ' ')"
    expect_grep "$6: the message says why" "$5" <(q "SELECT error FROM tasks WHERE run_id = $1")
}
head -n 6 "$T/chunks.jsonl" >"$T/one.jsonl"
fails 4 garbage fatal 1 "embed.encode: malformed answer from $api/embeddings: not JSON" \
    "an answer that is not JSON"
fails 5 short fatal 1 "malformed answer from $api/embeddings: 3 vectors in 'data' for 4 texts" \
    "an answer one vector short"
fails 6 test-embed fatal 1 "answered HTTP 401: Incorrect API key provided" \
    "a key the endpoint refuses" ", api_key_env: WEFT_NO_SUCH_KEY"
fails 7 slow transient 2 "embed.encode: $api/embeddings: Timeout was reached \(after 0 of 6 texts\)" \
    "an endpoint slower than the timeout" ", timeout: 300ms"
fails 8 test-embed fatal 1 "embed.encode: http: endpoint must be an http:// or https:// URL" \
    "an endpoint that is not a URL" "" ftp.example.com
if grep -rqF -- "$key" "$T/state" "$T"/*.log "$T"/work-* "$T"/*.out 2>/dev/null; then
    fail "the API key appears in the catalogue, a log or a work directory"
else
    ok "the API key appears in no catalogue row, log, artifact or work directory"
fi
finish
