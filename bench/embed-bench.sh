#!/usr/bin/env bash
# RAG ingestion on the Python 3.11 documentation's sources (python3.11-doc, 12 MB): chunks/s
# of embed.chunk; vectors/s of embed.encode (hashing, 384 dimensions) over 16 shards with
# one worker of 1 slot and with 2 slots; embed.index build time for HNSW and exact; and
# embed.search queries/s against each. Times are the tasks' own, from the catalogue.
#
#   bench/embed-bench.sh [BUILD_DIR] [CORPUS_DIR]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
corpus=${2:-/usr/share/doc/python3.11/html/_sources}
bin="$build/bin"
. "$root/bench/lib.sh"
bench_need_build
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

bench_header "corpus $corpus ($(du -sh "$corpus" | cut -f1))"
python3 - "$T/queries.json" <<'PY'
import json, random, sys
words = ("file read write list dict sort string format thread process socket error "
         "exception class function module import path time date json parse async loop").split()
r = random.Random(1)
json.dump([" ".join(r.sample(words, 4)) for _ in range(1000)], open(sys.argv[1], "w"))
PY
cat >"$T/rag.yaml" <<YAML
workflow: bench-rag
tasks:
  chunk: { type: embed.chunk, with: { source: $corpus, size: 1000, overlap: 150, shards: 16 } }
  encode: { type: embed.encode, map: "\${chunk.outputs.shards}", with: { shard: "\${item}", dim: 384 } }
  hnsw: { type: embed.index, with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}" } }
  exact: { type: embed.index, needs: [hnsw], with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}", method: exact } }
  search_hnsw: { type: embed.search, needs: [exact], with: { index: "\${hnsw.outputs.index}", queries: $(cat "$T/queries.json") } }
  search_exact: { type: embed.search, needs: [search_hnsw], with: { index: "\${exact.outputs.index}", queries: $(cat "$T/queries.json") } }
YAML
q() { sqlite3 "$T/s$1/catalog.db" "$2"; }
span() { q "$1" "SELECT printf('%.3f', (max(finished_us) - min(started_us)) / 1e6) FROM tasks WHERE $2"; }
for slots in 1 2; do
    "$bin/weft" run "$T/rag.yaml" --slots "$slots" --state "$T/s$slots" >/dev/null
    chunks=$(q "$slots" "SELECT json_extract(outputs, '\$.chunks') FROM tasks WHERE name = 'chunk'")
    enc=$(span "$slots" "name LIKE 'encode[%'")
    echo "encode, $slots slot(s): $chunks vectors in $enc s: $(echo "$chunks $enc" | awk '{printf "%.0f", $1 / $2}') vectors/s"
done
chunk=$(span 1 "name = 'chunk'")
echo "chunk: $chunks chunks in $chunk s: $(echo "$chunks $chunk" | awk '{printf "%.0f", $1 / $2}') chunks/s"
for m in hnsw exact; do
    echo "index $m: built in $(span 1 "name = '$m'") s (task), recall@10 $(q 1 "SELECT json_extract(outputs, '\$.recall_at_10') FROM tasks WHERE name = '$m'")"
    s=$(span 1 "name = 'search_$m'")
    echo "search $m: 1000 queries (k 10) in $s s (task, including loading the index): $(echo "$s" | awk '{printf "%.0f", 1000 / $1}') queries/s"
done
