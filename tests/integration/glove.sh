#!/usr/bin/env bash
# The glove backend through a real scheduler and worker, with the real GloVe vectors
# (scripts/glove.sh fetches and converts them once): sentences about the same thing rank
# above sentences about other things, and related words above unrelated ones. A small
# vectors file converted here checks the converter (escapes, the weights, the word table),
# and bad vectors files and a search with other vectors than the index's are refused.
. "$(dirname "$0")/lib.sh"
glove=$(WEFT_BUILD="$WEFT_BIN/.." "$WEFT_SRC/scripts/glove.sh" 2>"$T/glove.err")
expect "scripts/glove.sh makes the vectors file" "0" "$?"
[ -s "$glove" ] || { cat "$T/glove.err"; exit 1; }
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker g1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1

# shard FILE TEXT...: a JSONL shard whose ids are the texts themselves.
shard() {
    local f=$1
    shift
    : >"$f"
    for t in "$@"; do printf '{"id": "%s", "text": "%s"}\n' "$t" "$t" >>"$f"; done
}
shard "$T/sentences.jsonl" \
    "The cat sat on the mat and purred." \
    "Stock markets fell sharply after the central bank raised interest rates." \
    "The team won the football match in extra time." \
    "Heavy rain and strong winds are expected tomorrow." \
    "She baked bread and a chocolate cake." \
    "The patient was treated at the hospital by a surgeon." \
    "The spacecraft orbited the moon before landing on mars." \
    "The orchestra played a symphony by beethoven."
shard "$T/words.jsonl" queen nurse truck piano ocean banana poem volcano
sentence_q='["A kitten chased a mouse around the house.", "Investors sold shares as inflation worries grew.",
  "The striker scored two goals in the final.", "The forecast warns of a storm with thunder.",
  "Add flour, sugar and eggs, then put it in the oven.", "Doctors performed an operation in the clinic.",
  "Astronauts launched a rocket into space.", "A violinist performed a concerto for piano and strings."]'
word_q='["king", "doctor", "car", "guitar", "sea", "fruit", "poetry", "eruption"]'
cat >"$T/glove.yaml" <<YAML
workflow: glove-sanity
params:
  glove: { type: file }
tasks:
  enc_s: { type: embed.encode, with: { shard: $T/sentences.jsonl, backend: glove, glove: "\${params.glove}" } }
  enc_w: { type: embed.encode, with: { shard: $T/words.jsonl, backend: glove, glove: "\${params.glove}" } }
  idx_s: { type: embed.index, with: { vectors: ["\${enc_s.outputs.vectors}"], ids: ["\${enc_s.outputs.ids}"], method: exact } }
  idx_w: { type: embed.index, with: { vectors: ["\${enc_w.outputs.vectors}"], ids: ["\${enc_w.outputs.ids}"], method: exact } }
  ask_s: { type: embed.search, with: { index: "\${idx_s.outputs.index}", glove: "\${params.glove}", k: 8, queries: $sentence_q } }
  ask_w: { type: embed.search, with: { index: "\${idx_w.outputs.index}", glove: "\${params.glove}", k: 8, queries: $word_q } }
YAML
"$weft" submit "$T/glove.yaml" -p glove="$glove" --scheduler "$ep" --wait >"$T/run1.out" 2>&1
expect "the glove sanity workflow succeeds" 0 $?
# top1 TASK: the top hit of each query, one per line; then the score margin of the right
# answer over the best wrong one, smallest first.
top1() { task_out 1 "$1" results | python3 -c '
import json, sys
for r in json.load(sys.stdin): print(r["hits"][0]["id"])'; }
expected_s=$(printf '%s\n' "The cat sat on the mat and purred." \
    "Stock markets fell sharply after the central bank raised interest rates." \
    "The team won the football match in extra time." \
    "Heavy rain and strong winds are expected tomorrow." \
    "She baked bread and a chocolate cake." \
    "The patient was treated at the hospital by a surgeon." \
    "The spacecraft orbited the moon before landing on mars." \
    "The orchestra played a symphony by beethoven.")
expect "each sentence's nearest neighbour is the one on its topic (no shared words)" \
    "$expected_s" "$(top1 ask_s)"
expect "each word's nearest neighbour is the related word" \
    "$(printf '%s\n' queen nurse truck piano ocean banana poem volcano)" "$(top1 ask_w)"
expect "the ids file records the encoder" "glove 100 glove-" \
    "$(task_blob 1 enc_w ids | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["backend"], d["dim"], d["model"][:6])')"

# A small vectors file: four words of three dimensions, one with escapes, in the package's
# JSON shape. The converter keeps the package's order, weights by rank and finds each word.
cat >"$T/tiny.json" <<'JSON'
{"precision":8,"l2NormIndex":3,"wordIndex":4,"size":4,"dimensions":3,
 "words":["the","caf\u00e9","\"q\"","zebra"],
 "vectors":{"the":[1,0,0,1,0],"caf\u00e9":[0,1,0,1,1],"\"q\"":[0,0,1,1,2],"zebra":[0,1,1,1.4,3]},
 "unkVector":[0,0,0,0,-1]}
JSON
"$WEFT_BIN/weft-glove-convert" "$T/tiny.json" "$T/tiny.bin" >"$T/tiny.out" 2>&1
expect "weft-glove-convert converts the package's JSON shape" "0" "$?"
expect_grep "it reports words and dimensions" "tiny.bin: 4 words x 3 dimensions, glove-[0-9a-f]{16}" "$T/tiny.out"
python3 - "$T/tiny.bin" >"$T/tiny.check" <<'PY'
import struct, sys
raw = open(sys.argv[1], "rb").read()
magic, order, dim, count, nslots, pool, gid, a = struct.unpack("<8sIIIIQQf", raw[:44])
off = 64 + count * dim * 4
w = struct.unpack("<%df" % count, raw[off:off + count * 4])
words = raw[len(raw) - pool:].split(b"\0")[:count]
ok = magic == b"WEFTGLV1" and (dim, count) == (3, 4) and w[0] < w[1] < w[2] < w[3] < 1
print("fine" if ok and words == [b"the", "café".encode(), b'"q"', b"zebra"] else (words, w))
PY
expect "the file holds the words in order, with weights rising with rank" "fine" "$(cat "$T/tiny.check")"
head -c 100 "$T/tiny.bin" >"$T/short.bin"
printf 'not glove vectors\n' >"$T/text.bin"
cat >"$T/bad.yaml" <<YAML
workflow: glove-bad
params:
  glove: { type: file }
tasks:
  enc: { type: embed.encode, with: { shard: $T/words.jsonl, backend: glove, glove: "\${params.glove}" } }
YAML
refused() { # refused RUN FILE PATTERN WHAT
    "$weft" submit "$T/bad.yaml" -p glove="$2" --scheduler "$ep" --wait >"$T/bad$1.out" 2>&1
    expect "$4: the run fails" "failed 1" \
        "$(sql "$T/state" "SELECT state FROM runs WHERE id = $1") $(sql "$T/state" "SELECT attempts FROM tasks WHERE run_id = $1")"
    sql "$T/state" "SELECT error FROM tasks WHERE run_id = $1" >"$T/bad$1.err"
    expect_grep "$4: the message names it" "$3" "$T/bad$1.err"
}
refused 2 "$T/text.bin" "embed.encode: glove: not a weft glove vectors file" "a text file as vectors"
refused 3 "$T/short.bin" "embed.encode: glove: truncated or damaged: 100 bytes where its header says" \
    "a truncated vectors file"
cat >"$T/nofile.yaml" <<YAML
workflow: glove-nofile
tasks:
  enc: { type: embed.encode, with: { shard: $T/words.jsonl, backend: glove } }
YAML
"$weft" submit "$T/nofile.yaml" --scheduler "$ep" --wait >"$T/bad4.out" 2>&1
expect_grep "glove without its vectors file is refused, naming the input" \
    "embed.encode: the glove backend needs its vectors file as 'glove' \(made by scripts/glove.sh\)" \
    <(sql "$T/state" "SELECT error FROM tasks WHERE run_id = 4")
cat >"$T/other.yaml" <<YAML
workflow: glove-other
params:
  index: { type: file }
  glove: { type: file }
tasks:
  ask: { type: embed.search, with: { index: "\${params.index}", glove: "\${params.glove}", queries: [king] } }
YAML
"$weft" submit "$T/other.yaml" -p index="$(blob_path "$(task_out 1 idx_w index.artifact)")" \
    -p glove="$T/tiny.bin" --scheduler "$ep" --wait >"$T/bad5.out" 2>&1
expect_grep "searching with other vectors than the index's is refused" \
    "embed.search: the index was encoded by glove glove-[0-9a-f]{16}, but these inputs give glove glove-[0-9a-f]{16}" \
    <(sql "$T/state" "SELECT error FROM tasks WHERE run_id = 5")
# The example workflow, end to end on the whole Python documentation.
(cd "$T" && "$weft" run "$WEFT_SRC/workflows/rag-ingest-glove.yaml" -p glove="$glove" \
    --state "$T/example" >"$T/example.out" 2>&1)
expect "workflows/rag-ingest-glove.yaml runs" 0 $?
at_least "its HNSW recall@10 against exact search is at least 0.95" 0.95 \
    "$(sql "$T/example" "SELECT json_extract(outputs, '\$.recall_at_10') FROM tasks WHERE name = 'index'")"
expect_grep "command-line arguments are found in argparse's documentation" "library/argparse" \
    <(sql "$T/example" "SELECT json_extract(outputs, '\$.results[3].hits[0].id') FROM tasks WHERE name = 'search'")

h=$(task_out 1 idx_w index.artifact)
expect "run 1's index is untouched by the refusals" "$h" \
    "$(b2sum -l 256 "$(blob_path "$h")" | cut -d' ' -f1)"
expect "the worker still serves" "up" "$(sql "$T/state" "SELECT state FROM workers WHERE name = 'g1'")"
finish
