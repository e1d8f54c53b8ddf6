#!/usr/bin/env bash
# Synchronous execution over HTTP: POST /api/v1/workflows/predict/execute, a registered
# one-task workflow (infer.batch of one row with an XGBoost model trained here on
# breast-cancer.csv), through a real gateway, scheduler and worker on this machine, at a
# fixed request rate (open loop: bench/http-load.py). The row travels in the request as a
# file given in JSON (a different row each time); the answer holds the prediction. Every
# request is a run the catalogue records (durable: WAL, synchronous=FULL). Prints the
# machine, then latency percentiles per rate and what the worker's executors did.
#
#   [KEEP=1] bench/serve-bench.sh [BUILD_DIR] [RATES (default "20 50")] [SECONDS (default 20)]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rates=${2:-20 50}
seconds=${3:-20}
bin="$build/bin"
. "$root/bench/lib.sh"
bench_need_build
T=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
bench_header "1 worker x 2 slots, local socket"

state="$T/state"
"$bin/weft-scheduler" --state "$state" --log-level warn 2>"$T/sched.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$state/scheduler.sock" ] && break; sleep 0.05; done
ep="ipc://$state/scheduler.sock"
"$bin/weft-worker" --scheduler "$ep" --name w --slots 2 --work-dir "$T/work" \
    --log-level warn 2>"$T/worker.log" &
pids+=($!)
port=$((10000 + RANDOM % 22000))
"$bin/weft-gateway" --state "$state" --listen "http://127.0.0.1:$port" --sched-conns 8 \
    --log-level warn 2>"$T/gateway.log" &
pids+=($!)
W() { "$bin/weft" "$@" --scheduler "$ep" --timeout 120s; }
for _ in $(seq 100); do W status --json 2>/dev/null | grep -q '"workers": 1' && break; sleep 0.1; done

cat >"$T/train.yaml" <<EOF
workflow: train
tasks:
  model:
    type: train.xgboost
    with: { dataset: $root/workflows/data/breast-cancer.csv, target: benign,
            objective: binary, rounds: 100, params: { max_depth: 3 } }
EOF
W submit "$T/train.yaml" --wait >/dev/null
run=$(sqlite3 "$state/catalog.db" "SELECT max(id) FROM runs")
(cd "$T" && W get "$run/model/model" -o "$T/model.weft" >/dev/null)
cat >"$T/predict.yaml" <<EOF
workflow: predict
params:
  model: { type: model, default: $T/model.weft }
  rows: { type: dataset, doc: "a CSV of the model's features" }
tasks:
  predict:
    type: infer.batch
    with: { model: "\${params.model}", dataset: "\${params.rows}" }
EOF
W register "$T/predict.yaml" >/dev/null
token=$(W keys token bench --role client 2>/dev/null)
# One body per row of the dataset (its features), so that no two requests in a row send
# the same file.
python3 - "$root/workflows/data/breast-cancer.csv" >"$T/bodies" <<'PY'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1])))
keep = [i for i, h in enumerate(rows[0]) if h != "benign"]
head = ",".join(rows[0][i] for i in keep)
for r in rows[1:]:
    text = head + "\n" + ",".join(r[i] for i in keep) + "\n"
    print(json.dumps({"params": {"rows": {"content": text, "name": "row.csv"}}}))
PY
row=$(head -n 1 "$T/bodies")
url="http://127.0.0.1:$port/api/v1/workflows/predict/execute"
echo "one answer: $(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "$row" "$url" | python3 -c 'import json,sys; a=json.load(sys.stdin);
print(a["state"], repr(a["outputs"]["predictions"]["content"].splitlines()[-1]))')"
before=$(sqlite3 "$state/catalog.db" "SELECT count(*) FROM runs")
for rate in $rates; do
    python3 "$root/bench/http-load.py" execute "$url" "$token" "$T/bodies" "$rate" "$seconds"
done
after=$(sqlite3 "$state/catalog.db" "SELECT count(*) FROM runs WHERE state = 'succeeded'")
echo "catalogue: $((after - before + 1)) more runs succeeded, each with its task and attempt recorded"
q() { sqlite3 -batch -noheader "$state/catalog.db" "$1"; }
echo "per run, from the catalogue (ms): created -> finished p50 $(q "WITH v AS (SELECT finished_us - created_us AS x FROM runs WHERE id > $before) SELECT printf('%.2f', x / 1000.0) FROM v ORDER BY x LIMIT 1 OFFSET (SELECT count(*) / 2 FROM v)"), executor run time p50 $(q "WITH v AS (SELECT a.finished_us - a.started_us AS x FROM attempts a WHERE a.run_id > $before) SELECT printf('%.2f', x / 1000.0) FROM v ORDER BY x LIMIT 1 OFFSET (SELECT count(*) / 2 FROM v)")"
echo "executors kept the model loaded for $(grep -c 'kept loaded by this executor' "$state"/logs/*/predict.*.log 2>/dev/null | awk -F: '{s += $2} END {print s + 0}') of $((after - before + 1)) predictions"
