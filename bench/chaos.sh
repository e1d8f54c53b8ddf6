#!/usr/bin/env bash
# Chaos: a 10,000-task workflow (100 chains of 100 tasks, each appending one line per
# execution to a file) runs while the scheduler and the workers are killed with SIGKILL at
# random and restarted, and the disk holding the state fills up once for a few seconds.
# Then the catalogue is checked: the run succeeded, every task succeeded exactly once,
# no task started before its parent ended, no attempt is left open, and no task executed
# more often than its successes and lost attempts allow. Prints what it did and found.
# Needs root (the state lives on a tmpfs it mounts).
#
#   bench/chaos.sh [BUILD_DIR] [ROUNDS] [TASKS]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rounds=${2:-1}
ntasks=${3:-10000}
bin="$build/bin"
. "$root/bench/lib.sh"
bench_need_build
bench_header "chaos, $rounds rounds of $ntasks tasks"

round() {
    local T pids=() sched w1 w2 ep state kills_s=0 kills_w=0 filled=0 t0 st
    T=$(mktemp -d)
    mkdir -p "$T/small"
    mount -t tmpfs -o size=24m tmpfs "$T/small" || { echo "cannot mount a tmpfs (root?)"; return 2; }
    state="$T/small/state"
    ep="tcp://127.0.0.1:$((10000 + RANDOM % 22000))"
    q() { sqlite3 -batch -noheader -cmd ".timeout 10000" "$state/catalog.db" "$1"; }
    start_sched() { "$bin/weft-scheduler" --state "$state" --listen "$ep" --insecure --log-level warn 2>>"$T/sched.log" & sched=$!; }
    # The tasks append to $E, from the workers' environment (it keeps the file under 1 MiB).
    start_w() { E="$T/exec.txt" "$bin/weft-worker" --scheduler "$ep" --insecure --pass-env E --name "$1" --slots 2 --heartbeat 200 \
                    --work-dir "$T/work-$1" --log-level warn 2>>"$T/worker-$1.log" & eval "$2=\$!"; }
    start_sched
    start_w a w1
    start_w b w2
    {
        echo "workflow: chaos"
        echo "defaults:"
        echo "  retry: { max_attempts: 20, interval: 50ms, on: [lost, crash] }"
        echo "tasks:"
        for i in $(seq 0 $((ntasks - 1))); do
            local needs=""
            [ "$i" -ge 100 ] && needs=", needs: [t$((i - 100))]"
            echo "  t$i: {type: shell, with: {argv: [sh, -c, 'echo \$WEFT_TASK \$WEFT_ATTEMPT >>\$E']}$needs}"
        done
    } >"$T/chaos.yaml"
    sleep 1
    "$bin/weft" submit "$T/chaos.yaml" --scheduler "$ep" --insecure --timeout 30s >/dev/null || { echo "submit failed"; }
    t0=$(date +%s)
    while :; do
        st=$(q "SELECT state FROM runs WHERE id = 1" 2>/dev/null)
        [ -n "$st" ] && [ "$st" != running ] && break
        [ $(($(date +%s) - t0)) -gt 600 ] && { echo "run still $st after 600 s"; break; }
        sleep "$((RANDOM % 3)).$((RANDOM % 10))"
        case $((RANDOM % 10)) in
        0|1|2|3) { kill -9 "$sched"; wait "$sched"; } 2>/dev/null; start_sched; kills_s=$((kills_s + 1)) ;;
        4|5) { kill -9 "$w1"; wait "$w1"; } 2>/dev/null; start_w a w1; kills_w=$((kills_w + 1)) ;;
        6|7) { kill -9 "$w2"; wait "$w2"; } 2>/dev/null; start_w b w2; kills_w=$((kills_w + 1)) ;;
        8) if [ "$filled" -eq 0 ]; then
               dd if=/dev/zero of="$T/small/filler" bs=64k 2>/dev/null
               sleep 3
               rm -f "$T/small/filler"
               filled=1
           fi ;;
        esac
    done
    local took=$(($(date +%s) - t0))
    # Exactly once and in order, from the catalogue; executions from the file.
    local once order open lost ex over degraded
    once=$(q "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = 1 AND state = 'succeeded' GROUP BY idx HAVING count(*) = 1)")
    order=$(q "SELECT count(*) FROM edges e JOIN attempts p ON p.run_id = e.run_id AND p.idx = e.parent AND p.state = 'succeeded' JOIN attempts c ON c.run_id = e.run_id AND c.idx = e.child WHERE e.run_id = 1 AND c.started_us < p.finished_us")
    open=$(q "SELECT count(*) FROM attempts WHERE state = 'running'")
    lost=$(q "SELECT count(*) FROM attempts WHERE error_class = 'lost'")
    ex=$(wc -l <"$T/exec.txt")
    q "SELECT t.name, count(*) FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx WHERE a.run_id = 1 AND (a.state = 'succeeded' OR a.error_class = 'lost') GROUP BY t.name" | tr '|' ' ' >"$T/bound.txt"
    over=$(awk 'FILENAME == ARGV[1] { b[$1] = $2; next } { n[$1]++ } END { o = 0; for (t in n) if (n[t] > b[t]) o++; print o }' "$T/bound.txt" "$T/exec.txt")
    degraded=$(grep -c "degraded:" "$T/sched.log")
    local verdict=ok
    [ "$st" = succeeded ] && [ "$once" = "$ntasks" ] && [ "$order" = 0 ] && [ "$open" = 0 ] && [ "$over" = 0 ] || verdict=FAILED
    echo "round $1: $verdict in ${took}s: scheduler killed $kills_s times, workers $kills_w times, disk filled $filled time(s) ($degraded degraded spell(s)); run $st, $once/$ntasks tasks succeeded exactly once, $order ordering violations, $open attempts open, $lost lost attempts, $ex executions, $over tasks executed more than successes + lost"
    { kill -9 "$sched" "$w1" "$w2"; wait; } 2>/dev/null
    umount -l "$T/small"
    [ "$verdict" = ok ] && rm -rf "$T"
    [ "$verdict" = ok ] || echo "  kept $T for a look"
    [ "$verdict" = ok ]
}

failed=0
for r in $(seq 1 "$rounds"); do round "$r" || failed=$((failed + 1)); done
echo "$((rounds - failed)) of $rounds rounds passed"
[ "$failed" -eq 0 ]
