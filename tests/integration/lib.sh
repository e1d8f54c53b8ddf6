# Helpers for integration tests: a scratch directory, real daemons on real sockets, and
# cleanup that stops every process a test started, whatever happens.
set -u
: "${WEFT_BIN:?}" "${WEFT_SRC:?}"
weft="$WEFT_BIN/weft"
T=$(mktemp -d "${TMPDIR:-/tmp}/weft-test.XXXXXX")
PIDS=()
fails=0

# Stops the daemons with SIGTERM. Each must exit 0 on its own: a sanitizer report (leak,
# overflow) or a crash during shutdown fails the test.
cleanup() {
    for p in "${PIDS[@]}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        [ -n "$p" ] || continue
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null
            fail "process $p did not stop within 10s of SIGTERM"
        fi
        wait "$p"
        rc=$?
        [ "$rc" -eq 0 ] || [ "$rc" -eq 137 ] || fail "process $p exited with status $rc"
    done
    # Executors report to their worker's log; so do sanitizers in any daemon.
    for f in "$T"/*.log; do
        [ -f "$f" ] || continue
        if grep -q "Sanitizer\|runtime error\|did not exit within" "$f"; then
            fail "$(basename "$f") reports a sanitizer error or a stuck executor"
        fi
    done
    if [ "$fails" -ne 0 ]; then
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
    fi
    rm -rf "$T"
    [ "$fails" -eq 0 ] || exit 1
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# expect DESCRIPTION EXPECTED ACTUAL
expect() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

# expect_grep DESCRIPTION PATTERN FILE
expect_grep() {
    if grep -Eq -- "$2" "$3"; then ok "$1"; else fail "$1: /$2/ not in $3:"; cat "$3"; fi
}

# at_least DESCRIPTION MIN VALUE: VALUE is a number >= MIN.
at_least() {
    if awk -v v="$3" -v m="$2" 'BEGIN { exit !(v != "" && v + 0 >= m + 0) }'; then
        ok "$1 ($3)"
    else
        fail "$1: expected at least $2, got '$3'"
    fi
}

# A free-looking TCP port on loopback.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
    done
    echo 0
}

# start_scheduler STATE ENDPOINT -> sets SCHED_PID
start_scheduler() {
    "$WEFT_BIN/weft-scheduler" --state "$1" --listen "$2" >"$T/scheduler.log" 2>&1 &
    SCHED_PID=$!
    PIDS+=("$SCHED_PID")
}

# start_worker NAME ENDPOINT SLOTS [PLUGIN_PATH] -> sets WORKER_PID
start_worker() {
    "$WEFT_BIN/weft-worker" --scheduler "$2" --name "$1" --slots "$3" \
        --plugin-path "${4:-$WEFT_PLUGIN_PATH}" --work-dir "$T/work-$1" \
        --heartbeat 200 >"$T/worker-$1.log" 2>&1 &
    WORKER_PID=$!
    PIDS+=("$WORKER_PID")
}

# wait_for_workers ENDPOINT N: until the scheduler reports N workers.
wait_for_workers() {
    for _ in $(seq 100); do
        n=$("$weft" status --scheduler "$1" --json 2>/dev/null | sed -n 's/.*"workers": \([0-9]*\).*/\1/p')
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.1
    done
    fail "scheduler at $1 never saw $2 workers"
    return 1
}

# Reads the catalogue like any other reader: waiting (not failing) while the scheduler holds
# a lock, e.g. during WAL recovery after a crash.
# kill_scheduler: SIGKILL the running scheduler and forget it (it must not be stopped again).
kill_scheduler() {
    kill -KILL "$SCHED_PID"
    wait "$SCHED_PID" 2>/dev/null
    PIDS=("${PIDS[@]/$SCHED_PID}")
}

# wait_run_ended STATE RUN: until the run leaves state running (at most 60 s); sets $st.
wait_run_ended() {
    for _ in $(seq 600); do
        st=$(sql "$1" "SELECT state FROM runs WHERE id = $2")
        [ "$st" != running ] && return 0
        sleep 0.1
    done
}

# worker_of_attempt STATE N: waits until attempt number N exists; prints its worker.
worker_of_attempt() {
    local w=""
    for _ in $(seq 50); do
        w=$(sql "$1" "SELECT worker FROM attempts WHERE number = $2")
        [ -n "$w" ] && break
        sleep 0.1
    done
    echo "$w"
}

# task_out RUN TASK FIELD: a field of a task's outputs in $T/state's catalogue ("stdout",
# "files.artifact", "objective[7]").
task_out() {
    sql "$T/state" "SELECT json_extract(outputs, '\$.$3') FROM tasks WHERE run_id = $1 AND name = '$2'"
}
# blob_path HASH: where blob HASH lies in $T/state's store.
blob_path() { echo "$T/state/artifacts/${1:0:2}/${1:2}"; }
# task_blob RUN TASK OUTPUT: the content of a task's file output, from the store.
task_blob() { cat "$(blob_path "$(task_out "$1" "$2" "$3.artifact")")"; }

sql() { sqlite3 -batch -noheader -cmd ".timeout 10000" "$1/catalog.db" "$2"; }

finish() {
    [ "$fails" -eq 0 ] && echo "all checks passed" || echo "$fails checks failed"
    [ "$fails" -eq 0 ]
}
