#!/usr/bin/env bash
# RAG ingestion on the Python 3.11 documentation's sources (python3.11-doc, 12 MB): chunks/s
# of embed.chunk; vectors/s of embed.encode over 16 shards for each local backend (hashing
# at 384 dimensions, glove at 100) with one worker and with two (one slot each, separate
# worker processes); embed.index build time and recall@10 for HNSW, IVF and exact; embed.search
# queries/s against each. Times are the tasks' own, from the catalogue. The glove vectors
# come from scripts/glove.sh (fetched and converted once).
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
glove=$(WEFT_BUILD="$build" "$root/scripts/glove.sh")

bench_header "corpus $corpus ($(du -sh "$corpus" | cut -f1))"
python3 - "$T/queries.json" <<'PY'
import json, random, sys
words = ("file read write list dict sort string format thread process socket error "
         "exception class function module import path time date json parse async loop").split()
r = random.Random(1)
json.dump([" ".join(r.sample(words, 4)) for _ in range(1000)], open(sys.argv[1], "w"))
PY
# rag BACKEND: the workflow for one backend.
rag() {
    local with="backend: $1, dim: 384" search=""
    [ "$1" = glove ] && with="backend: glove, glove: \"\${params.glove}\"" && search=", glove: \"\${params.glove}\""
    cat <<YAML
workflow: bench-rag
params:
  glove: { type: file, default: $glove }
tasks:
  chunk: { type: embed.chunk, with: { source: $corpus, size: 1000, overlap: 150, shards: 16 } }
  encode: { type: embed.encode, map: "\${chunk.outputs.shards}", with: { shard: "\${item}", $with } }
  hnsw: { type: embed.index, with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}" } }
  ivf: { type: embed.index, needs: [hnsw], with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}", method: ivf } }
  exact: { type: embed.index, needs: [ivf], with: { vectors: "\${encode.outputs.vectors}", ids: "\${encode.outputs.ids}", method: exact } }
  search_hnsw: { type: embed.search, needs: [exact], with: { index: "\${hnsw.outputs.index}", queries: $(cat "$T/queries.json")$search } }
  search_ivf: { type: embed.search, needs: [search_hnsw], with: { index: "\${ivf.outputs.index}", queries: $(cat "$T/queries.json")$search } }
  search_exact: { type: embed.search, needs: [search_ivf], with: { index: "\${exact.outputs.index}", queries: $(cat "$T/queries.json")$search } }
YAML
}
q() { sqlite3 "$T/$1/catalog.db" "$2"; }
span() { q "$1" "SELECT printf('%.3f', (max(finished_us) - min(started_us)) / 1e6) FROM tasks WHERE $2"; }
rate() { echo "$1 $2" | awk '{printf "%.0f", $1 / $2}'; }
for backend in hashing glove; do
    rag "$backend" >"$T/$backend.yaml"
    for workers in 1 2; do
        st="$backend-$workers"
        "$bin/weft" run "$T/$backend.yaml" --workers "$workers" --slots 1 --state "$T/$st" >/dev/null
        chunks=$(q "$st" "SELECT json_extract(outputs, '\$.chunks') FROM tasks WHERE name = 'chunk'")
        enc=$(span "$st" "name LIKE 'encode[%'")
        echo "encode $backend, $workers worker(s) of 1 slot: $chunks vectors in $enc s: $(rate "$chunks" "$enc") vectors/s"
    done
done
chunk=$(span hashing-1 "name = 'chunk'")
echo "chunk: $chunks chunks in $chunk s: $(rate "$chunks" "$chunk") chunks/s"
for backend in hashing glove; do
    for m in hnsw ivf exact; do
        st="$backend-1"
        echo "index $backend $m: built in $(span "$st" "name = '$m'") s (task), recall@10 $(q "$st" "SELECT json_extract(outputs, '\$.recall_at_10') FROM tasks WHERE name = '$m'")"
        s=$(span "$st" "name = 'search_$m'")
        echo "search $backend $m: 1000 queries (k 10) in $s s (task, including loading the index and encoder): $(rate 1000 "$s") queries/s"
    done
done
