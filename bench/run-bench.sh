#!/usr/bin/env bash
# Scheduler throughput and latency: 10,000 independent no-op tasks (with what their
# catalogue rows alone cost: weft-bench-rows, bench/rows.c), a 1,000-task chain (with
# the floor of its link on this machine: weft-bench-floor, bench/floor.c), a
# 100 x 100 layered DAG (each task needs two of the layer above), a map of 10,000 no-op
# elements and 10,000 memoized tasks
# run twice (the rerun all cache hits), through a real scheduler and two real workers on TCP
# loopback, with the catalogue durable (WAL, synchronous=FULL). Prints the machine, then
# tasks/s and latency percentiles computed from the catalogue's timestamps, the scheduler's
# memory per task, the time from a one-task workflow's submit to its first dispatch, and
# how long a scheduler killed (-9) in the middle of a 10,000-task run takes from its restart
# to dispatching again; then a file of 100,000 tasks (BIG_FILE=N sets its size, 0 leaves it
# out): its compile, its rate and the memory per task of the scheduler and of the client
# following it; then a map of a million elements with a
# kill -9 half way (BIG_MAP=N sets its size, 0 leaves it out; about 7 minutes). With
# SECURITY=curve (the default) every connection speaks CURVE with keys the scheduler admits;
# SECURITY=insecure runs plain TCP, to measure CURVE's cost.
#
# PREFETCH=N gives each worker a queue of N attempts beyond its slots (weft-worker
# --prefetch; default 64, as weft run's local workers; 0: none, each slot waits for the
# scheduler between tasks; "" leaves the flag out, for builds that predate it).
#
# With POLLERS=N, a gateway (weft serve) runs beside the scheduler and N clients poll it as
# web UIs left open do (the run list and the newest run, every POLL_S seconds, default 1),
# to measure what they cost the scheduler.
#
#   [SECURITY=curve|insecure] [PREFETCH=N] [POLLERS=N [POLL_S=S]] [BIG_FILE=N] [BIG_MAP=N]
#       bench/run-bench.sh [BUILD_DIR]
#       [INDEPENDENT_TASKS] [CHAIN_LENGTH] [SLOTS_PER_WORKER]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n_indep=${2:-10000}
n_chain=${3:-1000}
slots=${4:-2}
bin="$build/bin"
. "$root/bench/lib.sh"
bench_need_build
T=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$T"' EXIT

security=${SECURITY:-curve}
pollers=${POLLERS:-0}
prefetch=()
PREFETCH=${PREFETCH-64}
[ -n "$PREFETCH" ] && prefetch=(--prefetch "$PREFETCH")
bench_header "2 workers x $slots slots (queue ${PREFETCH:-none}), $security, $pollers HTTP pollers"

port=$((10000 + RANDOM % 22000))
ep="tcp://127.0.0.1:$port"
if [ "$security" = curve ]; then
    sched_args=(--state "$T/state" --listen "$ep" --log-level warn)
    "$bin/weft-scheduler" "${sched_args[@]}" 2>"$T/sched.log" &
    sched_pid=$!
    for k in client worker; do "$bin/weft" keys gen "$T/$k.key" >/dev/null; done
    for _ in $(seq 100); do [ -S "$T/state/scheduler.sock" ] && break; sleep 0.05; done
    "$bin/weft" keys add bench --role worker "$T/worker.key.pub" --state "$T/state" >/dev/null
    "$bin/weft" keys add client --role client "$T/client.key.pub" --state "$T/state" >/dev/null
    export WEFT_SERVER_KEY="$T/state/scheduler.key.pub"
    client_key=(--key "$T/client.key")
    worker_key=(--key "$T/worker.key")
else
    sched_args=(--state "$T/state" --listen "$ep" --insecure --log-level warn)
    "$bin/weft-scheduler" "${sched_args[@]}" 2>"$T/sched.log" &
    sched_pid=$!
    export WEFT_INSECURE=1
    client_key=()
    worker_key=()
fi
pids+=($sched_pid)
tick=$(getconf CLK_TCK)
# The scheduler's CPU time so far (user + system), in microseconds.
sched_cpu_us() { awk -v t="$tick" '{print ($14 + $15) * 1000000 / t}' "/proc/$sched_pid/stat"; }
worker_pids=()
for w in a b; do
    "$bin/weft-worker" --scheduler "$ep" --name "bench.$w" --slots "$slots" \
        "${prefetch[@]}" "${worker_key[@]}" \
        --work-dir "$T/work-$w" --log-level warn 2>"$T/worker-$w.log" &
    pids+=($!)
    worker_pids+=($!)
done
# proc_ns PID [IO]: the time process PID's threads have run so far (ns, the scheduler's own
# count: /proc/PID/task/*/schedstat), or with IO its ZeroMQ I/O threads' alone.
proc_ns() {
    local t
    for t in /proc/"$1"/task/*; do
        [ -z "${2:-}" ] || case "$(cat "$t/comm" 2>/dev/null)" in ZMQbg/IO*) ;; *) continue ;; esac
        awk '{print $1}' "$t/schedstat" 2>/dev/null
    done | awk '{s += $1} END {printf "%.0f\n", s}'
}
# The CPU time so far (ns) of the scheduler, its ZeroMQ I/O thread, the workers, their I/O
# threads and the executors the workers started (those still running).
all_ns() {
    local w=0 wio=0 e=0 p c
    for p in "${worker_pids[@]}"; do
        w=$((w + $(proc_ns "$p"))); wio=$((wio + $(proc_ns "$p" io)))
        for c in $(pgrep -P "$p" weft-executor); do e=$((e + $(proc_ns "$c"))); done
    done
    echo "$(proc_ns "$sched_pid") $(proc_ns "$sched_pid" io) $w $wio $e"
}
# wait_workers TRIES: until the scheduler counts both workers, at most TRIES tenths of a second.
wait_workers() {
    for _ in $(seq "$1"); do
        "$bin/weft" status --scheduler "$ep" "${client_key[@]}" --json 2>/dev/null |
            grep -q '"workers": 2' && break
        sleep 0.1
    done
}
wait_workers 100

{ echo "workflow: bench-independent"; echo "tasks:"
  for i in $(seq 1 "$n_indep"); do echo "  t$i: { type: noop }"; done; } >"$T/indep.yaml"
{ echo "workflow: bench-chain"; echo "tasks:"; echo "  t1: { type: noop }"
  for i in $(seq 2 "$n_chain"); do echo "  t$i: { type: noop, needs: [t$((i - 1))] }"; done; } >"$T/chain.yaml"

q() { sqlite3 -batch -noheader -cmd ".timeout 10000" "$T/state/catalog.db" "$1"; }
# pct RUN P EXPR: the P-th percentile of EXPR over the run's tasks (t = tasks, a = attempts).
pct() {
    q "WITH v AS (SELECT $3 AS x FROM tasks t JOIN attempts a
                  ON a.run_id = t.run_id AND a.idx = t.idx AND a.elem = t.elem WHERE t.run_id = $1 AND $3 IS NOT NULL)
       SELECT printf('%.2f', x / 1000.0) FROM v ORDER BY x
       LIMIT 1 OFFSET (SELECT max(0, CAST(count(*) * $2 / 100.0 AS INT) - 1) FROM v)"
}

run_one() { # NAME FILE
    local out cpu0 cpu1 t0 t1 all0 all1
    all0=$(all_ns)
    cpu0=$(sched_cpu_us)
    t0=$(date +%s%6N)
    out=$("$bin/weft" submit "$2" --scheduler "$ep" "${client_key[@]}" --wait --json --timeout 60s)
    t1=$(date +%s%6N)
    local run
    run=$(echo "$out" | sed -n '1s/.*"run": \([0-9]*\).*/\1/p')
    cpu1=$(sched_cpu_us)
    all1=$(all_ns)
    local state wall n
    state=$(q "SELECT state FROM runs WHERE id = $run")
    wall=$(q "SELECT finished_us - created_us FROM runs WHERE id = $run")
    n=$(q "SELECT count(*) FROM tasks WHERE run_id = $run AND state = 'succeeded'")
    echo
    if [ "$wall" -gt 0 ]; then
        echo "$1: run $run $state, $n tasks in $(awk "BEGIN {printf \"%.3f\", $wall / 1e6}") s" \
             "= $(awk "BEGIN {printf \"%.0f\", $n / ($wall / 1e6)}") tasks/s"
    else
        echo "$1: run $run $state, $n tasks within the turn that created it"
    fi
    echo "  end to end at the client (submit, compile, run, answer): $(awk "BEGIN {printf \"%.3f\", ($t1 - $t0) / 1e6}") s"
    echo "  scheduler CPU: $(awk "BEGIN {printf \"%.1f\", ($cpu1 - $cpu0) / $n}") us/task" \
         "(fsync waits excluded; steadier than wall time on a shared disk)"
    echo "$all0 $all1" | awk -v n="$n" '{
        for (i = 1; i <= 5; i++) d[i] = ($(i + 5) - $i) / 1e3 / n
        printf "  CPU a task, every process: scheduler %.1f (its ZeroMQ I/O thread %.1f)," \
               " workers %.1f (their I/O threads %.1f), executors %.1f; in all %.1f us\n",
               d[1], d[2], d[3], d[4], d[5], d[1] + d[3] + d[5] }'
    [ "$(q "SELECT count(*) FROM attempts WHERE run_id = $run")" -gt 0 ] || return 0
    echo "  dispatch -> result recorded (ms): p50 $(pct "$run" 50 't.finished_us - a.dispatched_us')" \
         "p99 $(pct "$run" 99 't.finished_us - a.dispatched_us')"
    echo "  ready -> result recorded (ms):    p50 $(pct "$run" 50 't.finished_us - t.ready_us')" \
         "p99 $(pct "$run" 99 't.finished_us - t.ready_us')"
    echo "  executor run time (ms):           p50 $(pct "$run" 50 'a.finished_us - a.started_us')" \
         "p99 $(pct "$run" 99 'a.finished_us - a.started_us')"
}

if [ "$pollers" -gt 0 ]; then
    gport=$((10000 + RANDOM % 22000))
    "$bin/weft-gateway" --state "$T/state" --listen "http://127.0.0.1:$gport" --log-level warn \
        2>"$T/gateway.log" &
    pids+=($!)
    token=$("$bin/weft" keys token poller --role admin --state "$T/state" 2>/dev/null)
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$gport/healthz" && break; sleep 0.05; done
    python3 "$root/bench/http-load.py" poll "http://127.0.0.1:$gport" "$token" "$pollers" \
        "${POLL_S:-1}" 100000 >"$T/poll.out" 2>&1 &
    poll_pid=$!
    pids+=($poll_pid)
fi

# The scheduler's resident memory now and at its peak, in MiB.
sched_rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %.0f MiB ", $1, $2 / 1024}' "/proc/$sched_pid/status"; }

run_one "independent no-op x $n_indep" "$T/indep.yaml"
echo "  scheduler memory after it: $(sched_rss)"
# What the catalogue's rows of those tasks cost alone, the floor under the scheduler's CPU.
[ ! -x "$bin/weft-bench-rows" ] || "$bin/weft-bench-rows" "$T" "$n_indep" | sed 's/^/  /'
run_one "chain of $n_chain no-op (per link)" "$T/chain.yaml"
# What a link costs here before weft does anything: its commit, its round trips.
[ ! -x "$bin/weft-bench-floor" ] || "$bin/weft-bench-floor" "$T" | sed 's/^/  /'

# 100 layers of 100: task i of layer l needs tasks i and i+1 (mod 100) of layer l-1.
awk 'BEGIN { print "workflow: bench-layered"; print "tasks:"
             for (l = 0; l < 100; l++) for (i = 0; i < 100; i++)
                 if (l == 0) printf "  t%d_%d: { type: noop }\n", l, i
                 else printf "  t%d_%d: { type: noop, needs: [t%d_%d, t%d_%d] }\n", l, i,
                             l - 1, i, l - 1, (i + 1) % 100 }' >"$T/layered.yaml"
run_one "layered DAG 100 x 100 no-op" "$T/layered.yaml"

# A map over INDEPENDENT_TASKS items, the list an echo task's output: one element each.
{ echo "workflow: bench-map"; echo "tasks:"
  echo "  src: { type: echo, with: { items: [$(seq -s ', ' 0 $((n_indep - 1)))] } }"
  echo '  work: { type: noop, map: "${src.outputs.items}" }'; } >"$T/map.yaml"
run_one "map of $n_indep no-op elements" "$T/map.yaml"
echo "  scheduler memory after it: $(sched_rss)"

# Memoized: the first run computes and records every entry, the second finds them all.
{ echo "workflow: bench-cached"; echo "defaults: { cache: true }"; echo "tasks:"
  for i in $(seq 1 "$n_indep"); do echo "  t$i: { type: echo, with: { v: $i } }"; done
} >"$T/cached.yaml"
run_one "memoized echo x $n_indep, first run" "$T/cached.yaml"
run_one "memoized echo x $n_indep, rerun (all cache hits)" "$T/cached.yaml"
echo "  scheduler memory after it: $(sched_rss)"

# Submit to first dispatch: one-task workflows submitted one after another to the running
# scheduler, each measured from the scheduler's receipt of the submit (the run's creation)
# to its attempt starting on a worker, past the commit that makes the dispatch durable.
printf 'workflow: bench-one\ntasks:\n  t: { type: noop }\n' >"$T/one.yaml"
first_run=$(($(q "SELECT coalesce(max(id), 0) FROM runs") + 1))
for _ in $(seq 50); do
    "$bin/weft" submit "$T/one.yaml" --scheduler "$ep" "${client_key[@]}" --wait >/dev/null
done
sfd() { # P: the P-th percentile, in ms
    q "WITH v AS (SELECT a.started_us - r.created_us AS x FROM runs r JOIN attempts a
                  ON a.run_id = r.id WHERE r.id >= $first_run)
       SELECT printf('%.2f', x / 1000.0) FROM v ORDER BY x
       LIMIT 1 OFFSET (SELECT max(0, CAST(count(*) * $1 / 100.0 AS INT) - 1) FROM v)"
}
echo
echo "submit to first dispatch (a one-task workflow, 50 times; the run's creation to its" \
     "attempt starting on the worker, ms): p50 $(sfd 50) p99 $(sfd 99)"

# restart_with SIGNAL: stops the scheduler with SIGNAL and starts it again on the same state.
restart_with() {
    kill "-$1" "$sched_pid"
    wait "$sched_pid" 2>/dev/null || true
    restart_us=$(date +%s%6N)
    "$bin/weft-scheduler" "${sched_args[@]}" 2>>"$T/sched.log" &
    sched_pid=$!
    pids+=($sched_pid)
}

# kill_restart RUN: kills the scheduler (-9), starts it again and waits until it dispatches
# an attempt of RUN; sets restart_us and first (that dispatch's time).
kill_restart() {
    restart_with KILL
    for _ in $(seq 6000); do
        [ "$(q "SELECT count(*) FROM attempts WHERE run_id = $1 AND dispatched_us > $restart_us")" -gt 0 ] &&
            break
        sleep 0.01
    done
    first=$(q "SELECT min(dispatched_us) FROM attempts WHERE run_id = $1 AND dispatched_us > $restart_us")
}

# kill -9 in the middle of a run, then restart: how long to dispatching again, and the run
# still succeeds with every task once.
"$bin/weft" submit "$T/indep.yaml" --scheduler "$ep" "${client_key[@]}" >/dev/null
run=$(q "SELECT max(id) FROM runs")
for _ in $(seq 600); do
    [ "$(q "SELECT count(*) FROM tasks WHERE run_id = $run AND state = 'succeeded'")" -ge \
      $((n_indep / 3)) ] && break
    sleep 0.05
done
kill_restart "$run"
for _ in $(seq 1200); do
    [ "$(q "SELECT state FROM runs WHERE id = $run")" != running ] && break
    sleep 0.05
done
echo
echo "scheduler killed (-9) with run $run a third done, restarted: dispatching again after" \
     "$(awk "BEGIN {printf \"%.0f\", ($first - $restart_us) / 1000}") ms; the run" \
     "$(q "SELECT state FROM runs WHERE id = $run"), $(q "SELECT count(*) FROM tasks WHERE run_id = $run AND state = 'succeeded'") tasks succeeded," \
     "$(q "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = $run AND state = 'succeeded' GROUP BY idx HAVING count(*) > 1)") more than once"
# restart_clean: stops the scheduler (TERM) and starts it again, its workers registered
# again: what it holds at its peak is the next part's alone.
restart_clean() {
    restart_with TERM
    wait_workers 200
}

# A workflow file of BIG_FILE tasks (default 100,000, the file limit; 0 leaves it out) in a
# scheduler restarted for it: its compile alone (weft validate), the time from the submit to
# the run's creation and to its first dispatch, its rate, the scheduler's peak memory per
# task, and that of the client following it a line per event with the summary at its end
# (weft submit --wait, what weft run does beside its scheduler and workers).
nfile=${BIG_FILE:-100000}
if [ "$nfile" -gt 0 ]; then
    { echo "workflow: bench-big-file"; echo "tasks:"
      for i in $(seq 1 "$nfile"); do echo "  t$i: { type: noop }"; done; } >"$T/bigfile.yaml"
    restart_clean
    idle=$(awk '/^VmRSS/ {print $2}' "/proc/$sched_pid/status")
    t0=$(date +%s%6N)
    "$bin/weft" validate "$T/bigfile.yaml" >/dev/null
    t1=$(date +%s%6N)
    cpu0=$(sched_cpu_us)
    cli_kb=$(bench_peak_kb "$T/bigfile.out" "$bin/weft" submit "$T/bigfile.yaml" \
             --scheduler "$ep" "${client_key[@]}" --wait --timeout 60s)
    cpu1=$(sched_cpu_us)
    run=$(q "SELECT max(id) FROM runs")
    peak=$(awk '/^VmHWM/ {print $2}' "/proc/$sched_pid/status")
    wall=$(q "SELECT finished_us - created_us FROM runs WHERE id = $run")
    echo
    echo "a file of $nfile no-op tasks ($(($(stat -c %s "$T/bigfile.yaml") / 1024)) KiB):" \
         "run $run $(q "SELECT state FROM runs WHERE id = $run"), in" \
         "$(awk "BEGIN {printf \"%.2f\", $wall / 1e6}") s =" \
         "$(awk "BEGIN {printf \"%.0f\", $nfile / ($wall / 1e6)}") tasks/s"
    echo "  compile (weft validate): $(awk "BEGIN {printf \"%.2f\", ($t1 - $t0) / 1e6}") s;" \
         "submit to the run's creation" \
         "$(awk "BEGIN {printf \"%.2f\", ($(q "SELECT created_us FROM runs WHERE id = $run") - $t1) / 1e6}") s," \
         "to its first dispatch" \
         "$(awk "BEGIN {printf \"%.2f\", ($(q "SELECT min(dispatched_us) FROM attempts WHERE run_id = $run") - $t1) / 1e6}") s"
    echo "  scheduler CPU: $(awk "BEGIN {printf \"%.1f\", ($cpu1 - $cpu0) / $nfile}") us/task" \
         "(with the client's reading of every event)"
    echo "  scheduler peak RSS: $((peak / 1024)) MiB ($(((peak - idle) * 1024 / nfile)) B/task" \
         "over its $((idle / 1024)) MiB idle); the following client's: $((cli_kb / 1024)) MiB"
fi

# A map of BIG_MAP elements (default 1,000,000; 0 leaves it out), the scheduler killed (-9)
# half way and restarted: its memory per element before the kill and after the restart, how
# long the restart takes to dispatch again, and the run succeeding with each element once.
big=${BIG_MAP:-1000000}
if [ "$big" -gt 0 ]; then
    { echo "workflow: bench-big-map"; echo "tasks:"
      echo "  src: { type: echo, with: { items: [$(seq -s ', ' 0 $((big - 1)))] } }"
      echo '  work: { type: noop, map: "${src.outputs.items}" }'; } >"$T/big.yaml"
    [ "$nfile" -eq 0 ] || restart_clean
    t0=$(date +%s%6N)
    "$bin/weft" submit "$T/big.yaml" --scheduler "$ep" "${client_key[@]}" >/dev/null
    t1=$(date +%s%6N)
    run=$(q "SELECT max(id) FROM runs")
    while [ "$(q "SELECT count(*) FROM tasks WHERE run_id = $run AND elem >= 0 AND state = 'succeeded'")" -lt \
            $((big / 2)) ]; do
        sleep 1
    done
    peak=$(awk '/^VmHWM/ {print $2}' "/proc/$sched_pid/status")
    kill_restart "$run"
    while [ "$(q "SELECT state FROM runs WHERE id = $run")" = running ]; do sleep 1; done
    peak2=$(awk '/^VmHWM/ {print $2}' "/proc/$sched_pid/status")
    wall=$(q "SELECT finished_us - created_us FROM runs WHERE id = $run")
    echo
    echo "map of $big no-op elements: run $run $(q "SELECT state FROM runs WHERE id = $run"), in" \
         "$(awk "BEGIN {printf \"%.1f\", $wall / 1e6}") s with a scheduler kill -9 half way =" \
         "$(awk "BEGIN {printf \"%.0f\", $big / ($wall / 1e6)}") elements/s"
    echo "  submit (a $(($(stat -c %s "$T/big.yaml") / 1024)) KiB file) answered after" \
         "$(awk "BEGIN {printf \"%.2f\", ($t1 - $t0) / 1e6}") s"
    echo "  scheduler peak RSS: $((peak / 1024)) MiB before the kill ($((peak * 1024 / big)) B/element)," \
         "$((peak2 / 1024)) MiB after the restart"
    echo "  restarted: dispatching again after $(awk "BEGIN {printf \"%.0f\", ($first - $restart_us) / 1000}") ms;" \
         "$(q "SELECT count(*) FROM tasks WHERE run_id = $run AND elem >= 0 AND state = 'succeeded'") elements succeeded," \
         "$(q "SELECT count(*) FROM (SELECT elem FROM attempts WHERE run_id = $run AND state = 'succeeded' GROUP BY idx, elem HAVING count(*) > 1)") more than once"
    echo "  catalogue: $(($(stat -c %s "$T/state/catalog.db") / 1048576)) MiB"
fi
if [ "$pollers" -gt 0 ]; then
    kill -INT "$poll_pid" 2>/dev/null
    wait "$poll_pid" 2>/dev/null
    echo
    tail -n 1 "$T/poll.out"
fi
