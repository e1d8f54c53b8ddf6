# Helpers for integration tests: a scratch directory, real daemons on real sockets, and
# cleanup that stops every process a test started, whatever happens.
set -u
: "${WEFT_BIN:?}" "${WEFT_SRC:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/weft-test.XXXXXX")
PIDS=()
fails=0
skips=0
kills=0

# wrap_cli BINARY WRAPPER: writes WRAPPER, a script that runs BINARY with its arguments and
# also appends its stderr, as it is written, to $T/cli-stderr.log, which cleanup scans like
# the daemons' logs: a sanitizer report from a CLI call fails the test even when the test
# discards or redirects that stderr. The stderr still reaches wherever the caller sent it,
# and the exit status is BINARY's. A script rather than a shell function, so that programs
# given its path (WEFT=... weft-plugin-test) go through it too.
wrap_cli() {
    mkdir -p "$(dirname "$2")"
    cat >"$2" <<WRAPPER
#!/usr/bin/env bash
{ "$1" "\$@" 2>&1 1>&3 3>&- | tee -a "$T/cli-stderr.log" >&2 3>&-; exit "\${PIPESTATUS[0]}"; } 3>&1
WRAPPER
    chmod +x "$2"
}
# The daemons and the CLI of most tests talk plain TCP on loopback (--insecure, which the
# CLI and workers also take from the environment); auth.sh tests CURVE.
export WEFT_INSECURE=1
# Tests run the CLI as "$weft".
weft="$T/cli/weft"
wrap_cli "$WEFT_BIN/weft" "$weft"

# What a sanitizer prints: ASan, LSan and TSan reports start with "==PID==ERROR: ...Sanitizer",
# UBSan's with "FILE:LINE:COL: runtime error:".
sanitizer_report='Sanitizer|runtime error'

# Stops the daemons with SIGTERM. Each must exit 0 on its own: a sanitizer report (leak,
# overflow) or a crash during shutdown fails the test. Then scans every log, the CLI's
# stderr included. Ends the test with status 1 if a check failed, else 77 (which ctest
# reports as skipped) if a check was skipped, else with the test's own status.
cleanup() {
    local rc=$? p p_rc f
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null
            wait "$p" 2>/dev/null
            fail "process $p did not stop within 10s of SIGTERM"
            continue
        fi
        wait "$p"
        p_rc=$?
        [ "$p_rc" -eq 0 ] || fail "process $p exited with status $p_rc"
    done
    # Executors report to their worker's log; so do sanitizers in any daemon.
    for f in "$T"/*.log; do
        [ -f "$f" ] || continue
        if grep -Eq "$sanitizer_report|did not exit within" "$f"; then
            fail "$(basename "$f") reports a sanitizer error or a stuck executor"
        fi
    done
    if [ "$fails" -ne 0 ]; then
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
    fi
    [ -n "${KEEP_T:-}" ] || rm -rf "$T"
    [ "$fails" -eq 0 ] || exit 1
    [ "$rc" -eq 0 ] && [ "$skips" -gt 0 ] && exit 77
    exit "$rc"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
# skip DESCRIPTION: a check this build cannot make. The test then ends as skipped (77) even
# if everything else passed, so that ctest does not report the check as passed.
skip() { echo "SKIP: $*"; skips=$((skips + 1)); }

# expect DESCRIPTION EXPECTED ACTUAL
expect() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

# expect_grep DESCRIPTION PATTERN FILE
expect_grep() {
    if grep -Eq -- "$2" "$3"; then ok "$1"; else fail "$1: /$2/ not in $3:"; cat "$3"; fi
}

# expect_text DESCRIPTION PATTERN TEXT: TEXT (a command's output) matches PATTERN (ERE).
expect_text() {
    if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else fail "$1: /$2/ not in: $3"; fi
}

# compare VALUE OP BOUND: VALUE is a number (an empty or non-numeric one never is) and
# VALUE OP BOUND holds, OP being ">=" or "<=".
compare() {
    awk -v v="$1" -v op="$2" -v b="$3" 'BEGIN {
        if (v !~ /^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$/) exit 1
        exit !(op == ">=" ? v + 0 >= b + 0 : v + 0 <= b + 0) }'
}

# at_least DESCRIPTION MIN VALUE: VALUE is a number >= MIN.
at_least() {
    if compare "$3" ">=" "$2"; then ok "$1 ($3)"; else fail "$1: expected at least $2, got '$3'"; fi
}

# at_most DESCRIPTION MAX VALUE: VALUE is a number <= MAX. A missing value fails.
at_most() {
    if compare "$3" "<=" "$2"; then ok "$1 ($3)"; else fail "$1: expected at most $2, got '$3'"; fi
}

# A free-looking TCP port on loopback, below the kernel's ephemeral range: a port in that
# range may be taken between this check and the bind as the local end of any connection
# (the tests' own included), and the bind then fails with "Address already in use".
free_port() {
    local p lo
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "${lo:-0}" -gt 11000 ] || lo=32768
    for _ in $(seq 50); do
        p=$((10000 + RANDOM % (lo - 10000)))
        (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
    done
    echo 0
}

# start_scheduler STATE ENDPOINT -> sets SCHED_PID
start_scheduler() {
    "$WEFT_BIN/weft-scheduler" --state "$1" --listen "$2" --insecure >"$T/scheduler.log" 2>&1 &
    SCHED_PID=$!
    PIDS+=("$SCHED_PID")
}

# start_curve_scheduler STATE ENDPOINT -> sets SCHED_PID: a scheduler speaking CURVE on
# ENDPOINT, once its local socket is up (its key pair made: STATE/scheduler.key.pub).
start_curve_scheduler() {
    "$WEFT_BIN/weft-scheduler" --state "$1" --listen "$2" >"$T/scheduler.log" 2>&1 &
    SCHED_PID=$!
    PIDS+=("$SCHED_PID")
    for _ in $(seq 100); do [ -S "$1/scheduler.sock" ] && break; sleep 0.05; done
}

# start_worker NAME ENDPOINT SLOTS [PLUGIN_PATH] -> sets WORKER_PID
start_worker() {
    "$WEFT_BIN/weft-worker" --scheduler "$2" --name "$1" --slots "$3" \
        --plugin-path "${4:-$WEFT_PLUGIN_PATH}" --work-dir "$T/work-$1" \
        --heartbeat 200 >"$T/worker-$1.log" 2>&1 &
    WORKER_PID=$!
    PIDS+=("$WORKER_PID")
}

# wait_for_workers ENDPOINT N: until the scheduler reports N workers. A scheduler this test
# started that has exited (it could not bind, say) fails the test at once.
wait_for_workers() {
    for _ in $(seq 100); do
        if [ -n "${SCHED_PID:-}" ] && ! kill -0 "$SCHED_PID" 2>/dev/null; then
            fail "the scheduler (pid $SCHED_PID) exited: $(tail -n 1 "$T/scheduler.log" 2>/dev/null)"
            return 1
        fi
        n=$("$weft" status --scheduler "$1" --json 2>/dev/null | sed -n 's/.*"workers": \([0-9]*\).*/\1/p')
        [ "${n:-0}" -ge "$2" ] && return 0
        sleep 0.1
    done
    fail "scheduler at $1 never saw $2 workers"
    return 1
}

# forget_pid PID: cleanup no longer stops PID (it was stopped here), and it is no longer the
# test's scheduler (SCHED_PID). Exact match only.
forget_pid() {
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
    [ "${SCHED_PID:-}" != "$1" ] || SCHED_PID=""
}

# kill9 PID NAME LOG: SIGKILL a daemon this test started, and forget it. It must die of that
# signal (wait status 128 + 9): any other status means it had already ended by itself, e.g.
# on a sanitizer error. LOG, its output up to the kill, must hold no sanitizer report.
kill9() {
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null # without bash's "Killed" notice: the status is checked below
    local rc=$?
    forget_pid "$1"
    if [ "$rc" -ne 137 ]; then
        fail "$2 (pid $1) had already exited with status $rc when it was sent SIGKILL"
    fi
    if grep -Eq "$sanitizer_report" "$3"; then fail "$2's log $(basename "$3") reports a sanitizer error"; fi
}

# kill_scheduler: SIGKILL the running scheduler (see kill9) and forget it; its log moves to
# $T/scheduler-killed-N.log, where cleanup scans it again, so that start_scheduler can
# start the next one.
kill_scheduler() {
    kills=$((kills + 1))
    kill9 "$SCHED_PID" "scheduler $kills" "$T/scheduler.log"
    mv "$T/scheduler.log" "$T/scheduler-killed-$kills.log"
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

# check_executions STATE RUN FILE: FILE has a line "TASK ATTEMPT" per execution of RUN's
# shell tasks (each appends "$WEFT_TASK $WEFT_ATTEMPT" to it first thing), checked against
# the catalogue's attempts of those tasks. An attempt is recorded before it is sent, so
# each execution must be a recorded attempt, and none may run twice; every succeeded
# attempt must have run. A task (or map element) runs once for its success, and again only
# for an attempt closed as lost, whose result no scheduler applied: executions <= successes
# + lost attempts.
check_executions() {
    local run=$2 audit
    sql "$1" "SELECT t.name, a.number, a.state, coalesce(a.error_class, '-') FROM attempts a
        JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx AND t.elem = a.elem
        WHERE a.run_id = $run AND t.type = 'shell'" | tr '|' ' ' >"$T/attempts-$run.txt"
    audit=$(awk '
        FILENAME == ARGV[1] {
            att[$1 " " $2] = $3
            if ($3 == "succeeded" || $4 == "lost") bound[$1]++
            next
        }
        { ex[$1]++; ran[$1 " " $2]++; if (!(($1 " " $2) in att)) unknown++ }
        END {
            for (a in att) if (att[a] == "succeeded" && !ran[a]) unrun++
            for (a in ran) if (ran[a] > 1) twice++
            for (u in ex) if (ex[u] > bound[u]) { over++; if (!eg) eg = " (" u " ran " ex[u] " times)" }
            printf "%d %d %d %d%s\n", unrun, unknown, twice, over, eg
        }' "$T/attempts-$run.txt" "$3")
    set -- $audit
    expect "run $run: every succeeded attempt executed" 0 "${1-}"
    expect "run $run: executions of attempts the catalogue does not know" 0 "${2-}"
    expect "run $run: attempts executed more than once" 0 "${3-}"
    expect "run $run: tasks executed more often than their successes and lost attempts" 0 "${*:4}"
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

# Reads the catalogue like any other reader: waiting (not failing) while the scheduler holds
# a lock, e.g. during WAL recovery after a crash.
sql() { sqlite3 -batch -noheader -cmd ".timeout 10000" "$1/catalog.db" "$2"; }

finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$fails checks failed"
    elif [ "$skips" -ne 0 ]; then
        echo "all checks made passed; $skips skipped"
    else
        echo "all checks passed"
    fi
    [ "$fails" -eq 0 ]
}
