#!/usr/bin/env bash
# Prometheus metrics: Debian's Prometheus server scrapes the gateway's /metrics (with a
# bearer token, every second) while runs go on, and its query API answers with the counts
# the catalogue holds: runs and tasks by state, failed attempts by error class, cache hits
# and misses, workers and slots, the scheduler's histograms fill, and its WAL checkpoints
# are counted. promtool finds the exposition clean; /metrics needs a token, and a token
# sees only its projects' series.
. "$(dirname "$0")/lib.sh"
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    skip "needs Debian's prometheus (scripts/deps.sh installs it)"
    exit 0
fi
state="$T/state"
start_curve_scheduler "$state" "tcp://127.0.0.1:$(free_port)"
lep="ipc://$state/scheduler.sock"
start_worker w1 "$lep" 2
wait_for_workers "$lep" 1 || exit 1
wq() { "$weft" "$@" --state "$state"; }
wq keys token ops --role admin >"$T/admin.token" 2>/dev/null
other=$(wq keys token eve --role client --project elsewhere 2>/dev/null)
port=$(free_port)
"$WEFT_BIN/weft-gateway" --state "$state" --listen "http://127.0.0.1:$port" >"$T/gateway.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done

pport=$(free_port)
cat >"$T/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: weft
    authorization: {type: Bearer, credentials_file: $T/admin.token}
    static_configs: [{targets: ["127.0.0.1:$port"]}]
EOF
promtool check config "$T/prometheus.yml" >"$T/promtool-config.txt" 2>&1
expect "promtool accepts the scrape configuration" 0 $?
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
    --web.listen-address="127.0.0.1:$pport" >"$T/prometheus.out" 2>&1 &
prom_pid=$!
trap 'kill "$prom_pid" 2>/dev/null; wait "$prom_pid" 2>/dev/null; cleanup' EXIT
# promq QUERY: the value of a PromQL query's first sample now ("" when none).
promq() {
    curl -s --get --data-urlencode "query=$1" "http://127.0.0.1:$pport/api/v1/query" |
        jq -r '.data.result[0].value[1] // ""'
}
# until_promq WHAT QUERY VALUE: waits (30 s) until Prometheus answers VALUE.
until_promq() {
    local got=""
    for _ in $(seq 150); do
        got=$(promq "$2")
        [ "$got" = "$3" ] && { ok "$1 ($got)"; return; }
        sleep 0.2
    done
    fail "$1: Prometheus answers '$got', the catalogue holds '$3'"
}

until_promq "Prometheus scrapes the gateway" 'up{job="weft"}' 1

# ---- during a run ----
cat >"$T/slow.yaml" <<'EOF'
workflow: slow
tasks:
  wait: { type: shell, with: { argv: [sh, -c, "sleep 4"] } }
  then: { type: echo, with: { after: "${wait.outputs.exit_code}" } }
EOF
wq submit "$T/slow.yaml" >/dev/null
until_promq "a running run is counted while it runs" 'sum(weft_runs{state="running"})' 1
until_promq "... and its running task" 'sum(weft_tasks{workflow="slow",state="running"})' 1
until_promq "... and the slots it takes" 'weft_free_slots' 1

# ---- the autoscaler's signal: ready tasks, through prometheus-adapter's query ----
# deploy/kubernetes scales workers on this expression (its ConfigMap's metricsQuery, for
# this job).
wait_run_ended "$state" 1
hpa_query='sum(weft_ready_tasks{job="weft"}) or sum(0 * weft_scheduler_up{job="weft"})'
until_promq "the autoscaler's signal is 0 while nothing waits" "$hpa_query" 0
cat >"$T/wide.yaml" <<'EOF'
workflow: wide
tasks:
  a: { type: shell, with: { argv: [sleep, "3"] } }
  b: { type: shell, with: { argv: [sleep, "3"] } }
  c: { type: shell, with: { argv: [sleep, "3"] } }
  d: { type: shell, with: { argv: [sleep, "3"] } }
  e: { type: shell, with: { argv: [sleep, "3"] } }
EOF
wq submit "$T/wide.yaml" >/dev/null
until_promq "ready tasks by type while work waits for the two slots" \
    'weft_ready_tasks{type="shell"}' 3
until_promq "... which is the autoscaler's signal" "$hpa_query" 3
expect "... by the query deploy/kubernetes gives prometheus-adapter" "$hpa_query" \
    "$(sed -n "s/^ *metricsQuery: '\(.*\)'$/\1/p" "$WEFT_SRC/deploy/kubernetes/weft.yaml" |
       sed 's/<<.LabelMatchers>>/job="weft"/g')"

# ---- failures, retries, the cache ----
wq submit "$WEFT_SRC/workflows/fail-on-purpose.yaml" --wait >/dev/null 2>&1
wq submit "$WEFT_SRC/workflows/word-count.yaml" --wait >/dev/null 2>&1
wq submit "$WEFT_SRC/workflows/word-count.yaml" --wait >/dev/null 2>&1
for _ in $(seq 100); do
    [ "$(sql "$state" "SELECT count(*) FROM runs WHERE state = 'running'")" = 0 ] && break
    sleep 0.1
done
for st in succeeded failed; do
    want=$(sql "$state" "SELECT count(*) FROM runs WHERE state = '$st'")
    until_promq "runs $st as the catalogue counts them" "sum(weft_runs{state=\"$st\"})" "$want"
done
want=$(sql "$state" "SELECT count(*) FROM tasks WHERE elem = -1 AND state = 'succeeded'")
until_promq "tasks succeeded as the catalogue counts them" 'sum(weft_tasks{state="succeeded"})' "$want"
want=$(sql "$state" "SELECT count(*) FROM attempts WHERE error_class = 'transient'")
until_promq "transient attempts as the catalogue counts them" \
    'sum(weft_attempts{error_class="transient"})' "$want"
at_least "... which the failing workflow made" 2 "$want"
want=$(sql "$state" "SELECT count(*) FROM tasks WHERE source = 'cache'")
until_promq "cache hits as the catalogue counts them" 'sum(weft_cache_lookups{result="hit"})' "$want"
at_least "... the second word count's" 4 "$want"
until_promq "cache misses: the first word count's" 'sum(weft_cache_lookups{result="miss"})' 4
until_promq "workers" 'weft_workers' 1
until_promq "slots" 'weft_slots' 2
n=$(promq 'weft_queue_wait_seconds_count')
at_least "the queue-wait histogram counts every dispatch" "$(sql "$state" "SELECT count(*) FROM attempts")" "$n"
at_least "the commit-time histogram fills" 1 "$(promq 'weft_catalog_commit_seconds_count')"
until_promq "the WAL's checkpoints are counted, by the thread and by commits" \
    'count(weft_catalog_checkpoints_total)' 2
at_least "the gateway counts its requests" 1 \
    "$(promq 'sum(weft_http_requests_total{route="/metrics",code="200"})')"

# ---- the exposition itself ----
curl -s -H "Authorization: Bearer $(cat "$T/admin.token")" "http://127.0.0.1:$port/metrics" >"$T/metrics.txt"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.txt" 2>&1
expect "promtool check metrics finds nothing wrong" 0 $?
cat "$T/promtool.txt"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")
expect "/metrics without a token: 401" 401 "$code"
curl -s -H "Authorization: Bearer $other" "http://127.0.0.1:$port/metrics" >"$T/other.txt"
expect "a token of another project sees none of these runs" 0 "$(grep -c '^weft_runs{' "$T/other.txt")"
finish
