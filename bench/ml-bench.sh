#!/usr/bin/env bash
# Training and batch inference: seconds per train.xgboost on fixed datasets (breast-cancer,
# 200 rounds of depth 2; a generated 100,000-row table, 100 rounds of depth 6), repeated
# with different seeds so nothing comes from the cache; and infer.batch's rows/s and peak
# RSS over a generated 1,000,000-row CSV at two batch sizes. Times are the tasks' own
# (started to finished, from the catalogue), run locally with one slot.
#
#   bench/ml-bench.sh [BUILD_DIR] [REPEATS]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
repeats=${2:-3}
bin="$build/bin"
. "$root/bench/lib.sh"
bench_need_build
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

bench_header "1 slot, XGBoost on $(nproc) threads"
awk -v rows=100000 -v seed=1 -f "$root/tests/tools/gen-rows.awk" >"$T/train100k.csv"
awk -v rows=1000000 -v seed=2 -f "$root/tests/tools/gen-rows.awk" >"$T/rows1m.csv"

cat >"$T/train.yaml" <<YAML
workflow: bench-train
params:
  seed: { type: int }
tasks:
  tumours:
    type: train.xgboost
    with: { dataset: $root/workflows/data/breast-cancer.csv, target: benign, objective: binary,
            rounds: 200, seed: "\${params.seed}", params: { max_depth: 2, eta: 0.05 } }
  synthetic:
    type: train.xgboost
    needs: [tumours]
    with: { dataset: $T/train100k.csv, target: label, objective: binary, rounds: 100,
            features: [x1, x2, x3, x4, x5, x6, x7, x8], seed: "\${params.seed}",
            params: { max_depth: 6, eta: 0.1 } }
YAML
secs() { sqlite3 "$T/state/catalog.db" "SELECT printf('%.3f', avg(finished_us - started_us) / 1e6) FROM tasks WHERE name = '$1'"; }
for s in $(seq "$repeats"); do
    "$bin/weft" run "$T/train.yaml" -p seed="$s" --slots 1 --state "$T/state" >/dev/null
done
echo "train.xgboost, breast-cancer (569 x 30, 200 rounds, depth 2): $(secs tumours) s (mean of $repeats)"
echo "train.xgboost, synthetic (100,000 x 8, 100 rounds, depth 6): $(secs synthetic) s (mean of $repeats)"

run=$(sqlite3 "$T/state/catalog.db" "SELECT max(id) FROM runs")
model=$(sqlite3 "$T/state/catalog.db" \
    "SELECT json_extract(outputs, '\$.model.artifact') FROM tasks WHERE run_id = $run AND name = 'synthetic'")
cp "$T/state/artifacts/${model:0:2}/${model:2}" "$T/model.weft"
for batch in 10000 100000; do
    cat >"$T/infer.yaml" <<YAML
workflow: bench-infer-$batch
tasks:
  predict:
    type: infer.batch
    with: { model: $T/model.weft, dataset: $T/rows1m.csv, batch_size: $batch, keep: [id] }
YAML
    rm -rf "$T/istate"
    "$bin/weft" run "$T/infer.yaml" --slots 1 --state "$T/istate" >/dev/null
    line=$("$bin/weft" logs 1 predict --state "$T/istate" | grep 'rows in')
    echo "infer.batch, 1,000,000 rows x 8 features ($(( $(stat -c %s "$T/rows1m.csv") / 1048576 )) MiB)," \
         "batch $batch: ${line#infer.batch: }"
done
