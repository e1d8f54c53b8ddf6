#!/usr/bin/env bash
# The embed plugin through a real scheduler and worker, on part of the Python documentation
# (Debian's python3.11-doc): chunks respect their size, overlap, cover every file and never
# split a UTF-8 sequence; vectors are .npy files of unit rows; the HNSW index's recall@10
# against exact search is >= 0.95 (its own measurement, and 20 queries through
# embed.search); adding one file re-encodes only its shard. Bad inputs fail with messages
# naming the cause.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker e1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
q() { sql "$T/state" "$1"; }
docs=/usr/share/doc/python3.11/html/_sources
mkdir -p "$T/corpus"
cp -r "$docs/tutorial" "$docs/faq" "$T/corpus/"
printf 'Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9e \xf0\x9f\x8d\xae. Na\xc3\xafve r\xc3\xa9sum\xc3\xa9.\n\n\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe6\x96\x87\xe7\xab\xa0\xe3\x80\x82\n' >"$T/corpus/utf8.txt"
printf 'not \xff\xfe text\n' >"$T/corpus/latin1.txt"

queries='["how do I define a function", "what is a list comprehension", "read a file", "exceptions and errors",
  "classes and inheritance", "virtual environments and packages", "floating point arithmetic issues",
  "how to format strings", "modules and import", "dictionary methods", "while loops", "lambda expressions",
  "why is python slow", "garbage collection", "how do I make an executable", "what is the GIL",
  "keyword arguments", "iterators and generators", "standard library tour", "interactive interpreter"]'
cat >"$T/rag.yaml" <<YAML
workflow: rag
tasks:
  chunk: { type: embed.chunk, with: { source: $T/corpus, size: 400, overlap: 60, shards: 8 } }
  encode: { type: embed.encode, cache: true, map: "\${chunk.outputs.shards}", with: { shard: "\${item}", dim: 256 } }
  hnsw: { type: embed.index, with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}" } }
  exact: { type: embed.index, with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}", method: exact } }
  ivf: { type: embed.index, with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}", method: ivf } }
  search_hnsw: { type: embed.search, with: { index: "\${hnsw.outputs.index}", k: 10, queries: $queries } }
  search_ivf: { type: embed.search, with: { index: "\${ivf.outputs.index}", k: 10, queries: $queries } }
  search_exact: { type: embed.search, with: { index: "\${exact.outputs.index}", k: 10, queries: $queries } }
YAML
"$weft" submit "$T/rag.yaml" --scheduler "$ep" --wait >"$T/run1.out" 2>&1
expect "the ingestion succeeds" 0 $?
files=$(find "$T/corpus" -name '*.txt' | wc -l)
expect "every file but the one that is not UTF-8 is chunked" "$((files - 1)) 1" \
    "$(task_out 1 chunk files) $(task_out 1 chunk skipped)"
expect "8 shards, each encoded" "8 8" \
    "$(q "SELECT json_array_length(outputs, '\$.shards') FROM tasks WHERE run_id = 1 AND name = 'chunk'") $(q "SELECT count(*) FROM tasks WHERE run_id = 1 AND elem >= 0 AND state = 'succeeded'")"
for i in $(seq 0 7); do task_blob 1 chunk "shards[$i]"; done >"$T/chunks.jsonl"
python3 - "$T/chunks.jsonl" "$T/corpus" 400 >"$T/chunks.check" <<'PY'
import json, os, sys
path, root, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
by_file, ids, problems = {}, set(), []
for line in open(path, encoding="utf-8"):
    c = json.loads(line)
    if c["id"] in ids: problems.append("duplicate id " + c["id"])
    ids.add(c["id"])
    if len(c["text"]) > size: problems.append("%s has %d characters" % (c["id"], len(c["text"])))
    raw = open(os.path.join(root, c["source"]), "rb").read()
    if raw[c["start"]:c["end"]].decode("utf-8") != c["text"]: problems.append(c["id"] + " is not its bytes")
    by_file.setdefault(c["source"], []).append(c)
overlaps = 0
for src, cs in by_file.items():
    cs.sort(key=lambda c: c["start"])
    raw = open(os.path.join(root, src), "rb").read()
    if raw[:cs[0]["start"]].strip(): problems.append(src + ": text before the first chunk")
    if raw[cs[-1]["end"]:].strip(): problems.append(src + ": text after the last chunk")
    for a, b in zip(cs, cs[1:]):
        if b["start"] > a["end"] and raw[a["end"]:b["start"]].strip(): problems.append(src + ": a gap")
        overlaps += b["start"] < a["end"]
print(len(ids), len(by_file), overlaps, "; ".join(problems[:5]) or "fine")
PY
read -r nchunks nfiles overlaps verdict <"$T/chunks.check"
expect "chunks: at most 400 characters, their own bytes, unique ids, covering every file" \
    "$(task_out 1 chunk chunks) $((files - 1)) fine" "$nchunks $nfiles $verdict"
at_least "neighbouring chunks overlap" "$((nchunks / 2))" "$overlaps"
expect "multibyte characters survive whole" "Café crème brûlée 🍮. Naïve résumé." \
    "$(grep '"source":"utf8.txt"' "$T/chunks.jsonl" | head -n 1 | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["text"].splitlines()[0])')"
task_blob 1 encode 'vectors[0]' >"$T/v0.npy"
task_blob 1 encode 'ids[0]' >"$T/ids0.json"
expect "vectors are a float32 .npy matrix of unit rows, one per id" "ok" "$(python3 - "$T/v0.npy" "$T/ids0.json" <<'PY'
import ast, json, math, struct, sys
raw = open(sys.argv[1], "rb").read()
ids = json.load(open(sys.argv[2]))
assert raw[:6] == b"\x93NUMPY" and raw[6] == 1
hlen = struct.unpack("<H", raw[8:10])[0]
h = ast.literal_eval(raw[10:10 + hlen].decode())
assert (10 + hlen) % 64 == 0 and h["descr"] == "<f4" and not h["fortran_order"]
rows, dim = h["shape"]
assert rows == len(ids["ids"]) and dim == 256 == ids["dim"] and ids["backend"] == "hashing"
data = raw[10 + hlen:]
assert len(data) == rows * dim * 4
for r in range(rows):
    v = struct.unpack_from("<%df" % dim, data, r * dim * 4)
    assert abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-4, r
print("ok")
PY
)"
at_least "HNSW's own recall@10 against exact search" 0.95 "$(task_out 1 hnsw recall_at_10)"
expect "both indexes hold every chunk" "$nchunks $nchunks" "$(task_out 1 hnsw count) $(task_out 1 exact count)"

# 20 questions through embed.search on each index (the search_* tasks).
for m in hnsw ivf exact; do
    q "SELECT outputs FROM tasks WHERE run_id = 1 AND name = 'search_$m'" >"$T/$m.json"
done
# recall METHOD: the share of exact search's hits that METHOD's search found too.
recall() {
    python3 - "$T/$1.json" "$T/exact.json" <<'PY'
import json, sys
h, e = (json.load(open(p))["results"] for p in sys.argv[1:3])
found = sum(len({x["id"] for x in a["hits"]} & {x["id"] for x in b["hits"]}) for a, b in zip(h, e))
print(found / sum(len(b["hits"]) for b in e))
PY
}
at_least "recall@10 of 20 queries, HNSW against exact" 0.95 "$(recall hnsw)"
at_least "IVF's own recall@10 at its defaults (nlist about sqrt(n), nprobe 32)" 0.95 \
    "$(task_out 1 ivf recall_at_10)"
at_least "recall@10 of 20 queries, IVF against exact" 0.9 "$(recall ivf)"
expect "a question finds its page among its hits" "tutorial/controlflow.rst.txt" \
    "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(sorted({h["id"].split("#")[0] for h in r["hits"]})[-1])' "$T/exact.json")"

# One file more: only its shard is encoded again.
cp "$docs/library/functools.rst.txt" "$T/corpus/faq/functools.rst.txt"
"$weft" submit "$T/rag.yaml" --scheduler "$ep" --wait >"$T/run2.out" 2>&1
expect "the rerun succeeds" 0 $?
expect "one shard is encoded again, seven come from the cache" "computed:1 cache:7" \
    "$(q "SELECT group_concat(source || ':' || n, ' ') FROM (SELECT source, count(*) AS n FROM tasks WHERE run_id = 2 AND elem >= 0 GROUP BY source ORDER BY source DESC)")"
expect "the new file's chunks are in the index" "$(task_out 2 chunk chunks)" "$(task_out 2 hnsw count)"
at_least "and there are more of them" "$((nchunks + 1))" "$(task_out 2 hnsw count)"

# Bad inputs.
printf 'not json\n' >"$T/bad.jsonl"
printf '{"id":"a#0","text":"hello world"}\n{"id":"a#1","text":"goodbye"}\n' >"$T/good.jsonl"
printf 'weft-model 1\n{}\n' >"$T/fake.index"
cat >"$T/bad.yaml" <<YAML
workflow: bad-embed
tasks:
  overlap: { type: embed.chunk, with: { source: $T/corpus, size: 100, overlap: 100 } }
  nothing: { type: embed.chunk, with: { size: 1000 } }
  shard: { type: embed.encode, with: { shard: $T/bad.jsonl } }
  backend: { type: embed.encode, with: { shard: $T/bad.jsonl, backend: word2vec } }
  lists: { type: embed.index, with: { vectors: ["\${ok.outputs.vectors}"], ids: [] } }
  method: { type: embed.index, with: { vectors: ["\${ok.outputs.vectors}"], ids: ["\${ok.outputs.ids}"], method: lsh } }
  nlist: { type: embed.index, with: { vectors: ["\${ok.outputs.vectors}"], ids: ["\${ok.outputs.ids}"], method: ivf, nlist: 5 } }
  not_index: { type: embed.search, with: { index: $T/fake.index, queries: [x] } }
  text: { type: embed.encode, with: { shard: $T/corpus/utf8.txt } }
  ok: { type: embed.encode, with: { shard: $T/good.jsonl } }
YAML
"$weft" submit "$T/bad.yaml" --scheduler "$ep" --wait >"$T/run3.out" 2>&1
expect "the run with bad inputs fails" 1 $?
err() { q "SELECT error FROM tasks WHERE run_id = 3 AND name = '$1'"; }
expect "overlap must be smaller than size" \
    "embed.chunk: overlap must be at least 0 and less than size (100), not 100" "$(err overlap)"
expect "a chunk task needs something to read" "embed.chunk: give a source directory or files" "$(err nothing)"
expect "a shard line that is not a chunk is named" \
    "embed.encode: bad.jsonl: line 1 is not a chunk ({id, text, ...}): '[' or '{' expected near 'not'" "$(err shard)"
expect "an unknown backend is named" "embed.encode: backend must be hashing, glove or http, not 'word2vec'" "$(err backend)"
expect "a text file is not a shard either" \
    "embed.encode: utf8.txt: line 1 is not a chunk ({id, text, ...}): '[' or '{' expected near 'Caf'" "$(err text | sed "s/\xc3\xa9.*'/'/")"
expect "as many ids files as vectors files" "embed.index: 1 vectors files but 0 ids files" "$(err lists)"
expect "an unknown index method is named" "embed.index: method must be hnsw, ivf or exact, not 'lsh'" "$(err method)"
expect "more IVF cells than vectors is refused" "embed.index: nlist 5 is more than the 2 vectors to index" "$(err nlist)"
expect "an index file of the wrong kind is refused" \
    "embed.search: fake.index is not a usable weft index: it does not start with 'weft-index 1' (indexes come from embed.index)" "$(err not_index)"
expect "all fatal, tried once" 9 "$(q "SELECT count(*) FROM tasks WHERE run_id = 3 AND state = 'failed' AND error_class = 'fatal' AND attempts = 1")"
"$weft" submit "$T/rag.yaml" --scheduler "$ep" --wait >"$T/run4.out" 2>&1
expect "the worker still serves" 0 $?
finish
