#!/usr/bin/env bash
# A catalogue that cannot be written: the state directory on a small tmpfs that fills up,
# and another process holding the database's write lock for 12 s. Either way the scheduler
# must acknowledge nothing it has not committed, send no dispatch without its row, say why
# it refuses work (weft status, the refused submit), not declare healthy workers lost,
# resume by itself when writes succeed again, and run every task exactly once.
. "$(dirname "$0")/lib.sh"

# shell_workflow NAME N FILE: N shell tasks that each append "TASK ATTEMPT" to
# $T/exec-NAME.txt.
shell_workflow() {
    {
        echo "workflow: $1"
        echo "defaults:"
        echo "  retry: { max_attempts: 4, interval: 100ms, on: [lost, crash] }"
        echo "tasks:"
        for i in $(seq 1 "$2"); do
            echo "  f$i: { type: shell, with: { argv: [sh, -c, 'echo \$WEFT_TASK \$WEFT_ATTEMPT >> $T/exec-$1.txt; sleep 0.02'] } }"
        done
    } >"$3"
}

# wait_degraded ENDPOINT: until weft status says the scheduler is degraded (at most 20 s).
wait_degraded() {
    for _ in $(seq 200); do
        "$weft" status --scheduler "$1" >"$T/status.txt" 2>&1
        grep -q DEGRADED "$T/status.txt" && return 0
        sleep 0.1
    done
    return 1
}

# ---- the disk fills up ----
mnt="$T/small"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=6m tmpfs "$mnt" 2>"$T/mount.err"; then
    skip "disk-full case: cannot mount a tmpfs here ($(cat "$T/mount.err"))"
else
    trap 'umount -l "$mnt" 2>/dev/null; cleanup' EXIT
    state="$mnt/state"
    ep="tcp://127.0.0.1:$(free_port)"
    start_scheduler "$state" "$ep"
    start_worker a "$ep" 2
    start_worker b "$ep" 2
    wait_for_workers "$ep" 2 || exit 1
    shell_workflow fill 300 "$T/fill.yaml"
    for n in 1 2 3; do shell_workflow "other$n" 3 "$T/other$n.yaml"; done
    "$weft" submit "$T/fill.yaml" --scheduler "$ep" >"$T/submit1.txt" || fail "first submit"
    for _ in $(seq 100); do
        [ "$(wc -l <"$T/exec-fill.txt" 2>/dev/null || echo 0)" -ge 30 ] && break
        sleep 0.1
    done
    dd if=/dev/zero of="$mnt/filler" bs=64k 2>/dev/null
    if wait_degraded "$ep"; then
        ok "weft status says the scheduler is degraded"
        expect_grep "weft status names the reason" "disk is full" "$T/status.txt"
    else
        fail "the scheduler never reported a full disk"; cat "$T/status.txt"
    fi
    "$weft" submit "$T/other1.yaml" --scheduler "$ep" --timeout 2s >"$T/refused.out" 2>"$T/refused.err"
    expect "a submit while the disk is full exits 3" 3 "$?"
    expect_grep "the refusal says why" "cannot write its catalogue.*full" "$T/refused.err"
    expect "the refused submit printed no run" "" "$(cat "$T/refused.out")"
    "$weft" list --scheduler "$ep" >"$T/list.txt" || fail "reads are served while degraded"
    # Key and project changes are writes too: refused with the reason; their lists are read.
    "$weft" keys gen "$T/late.key" >/dev/null
    "$weft" keys add late --role client "$T/late.key.pub" --scheduler "$ep" --timeout 2s \
        2>"$T/key-refused.err"
    expect "a key added while the disk is full is refused (exit 3)" 3 "$?"
    expect_grep "... saying why" "cannot write its catalogue.*full" "$T/key-refused.err"
    "$weft" project set p --max-runs 1 --scheduler "$ep" --timeout 2s 2>"$T/project-refused.err"
    expect "project limits set while the disk is full are refused (exit 3)" 3 "$?"
    "$weft" keys ls --scheduler "$ep" --json >"$T/keys.json" || fail "keys are listed while degraded"
    expect "the refused key is not on the list" 0 "$(grep -c '"late"' "$T/keys.json")"
    rm -f "$mnt/filler"
    "$weft" submit "$T/other2.yaml" --scheduler "$ep" --timeout 20s >"$T/submit2.txt" ||
        fail "a submit after space was freed"
    wait_run_ended "$state" 1
    expect "the run that filled the disk succeeded" succeeded "$st"
    expect_grep "the scheduler resumed by itself" "can be written again" "$T/scheduler.log"
    # A restart after the fault changes nothing that was done.
    kill_scheduler
    start_scheduler "$state" "$ep"
    wait_for_workers "$ep" 2
    "$weft" submit "$T/other3.yaml" --scheduler "$ep" --timeout 20s >"$T/submit3.txt" ||
        fail "a submit after the restart"
    for n in 2 3; do
        r=$(sed -n 's/^run \([0-9]*\) submitted.*/\1/p' "$T/submit$n.txt")
        wait_run_ended "$state" "${r:-0}"
        expect "acknowledged run ${r:-?} is in the catalogue and succeeded" succeeded "$st"
    done
    expect "run ids are distinct and increasing" "1 2 3" "$(sql "$state" "SELECT group_concat(id, ' ') FROM (SELECT id FROM runs ORDER BY id)")"
    check_executions "$state" 1 "$T/exec-fill.txt"
    check_executions "$state" 2 "$T/exec-other2.txt"
    check_executions "$state" 3 "$T/exec-other3.txt"
    expect "the refused submit ran nothing" 0 "$(cat "$T/exec-other1.txt" 2>/dev/null | wc -l)"
    expect "no attempt of run 1 is open" 0 "$(sql "$state" "SELECT count(*) FROM attempts WHERE state = 'running'")"
    kill_scheduler
    mv "$T/scheduler-killed-2.log" "$T/scheduler-disk.log"
    umount -l "$mnt"
    trap cleanup EXIT
fi

# ---- another process holds the write lock for 12 s ----
state="$T/locked"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$state" "$ep"
start_worker c "$ep" 2
start_worker d "$ep" 2
wait_for_workers "$ep" 2 || exit 1
shell_workflow locked 60 "$T/locked.yaml"
sed -i 's/sleep 0.02/sleep 0.3/' "$T/locked.yaml"
"$weft" submit "$T/locked.yaml" --scheduler "$ep" >/dev/null || fail "submit before the lock"
sleep 1
(echo "BEGIN IMMEDIATE;"; sleep 12; echo "COMMIT;") | sqlite3 "$state/catalog.db" &
lock_pid=$!
if wait_degraded "$ep"; then
    expect_grep "weft status names the lock" "locked" "$T/status.txt"
else
    fail "the scheduler never reported the lock"
fi
shell_workflow during 3 "$T/during.yaml"
"$weft" submit "$T/during.yaml" --scheduler "$ep" --timeout 30s >"$T/during.txt" ||
    fail "a submit retried through the lock is answered in the end"
wait "$lock_pid"
wait_run_ended "$state" 1
expect "the run under the lock succeeded" succeeded "$st"
expect "no task of it left unfinished" 0 "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = 1 AND state != 'succeeded'")"
expect "no attempt left open" 0 "$(sql "$state" "SELECT count(*) FROM attempts WHERE state = 'running'")"
expect "no worker declared lost because of the lock" 0 "$(sql "$state" "SELECT count(*) FROM events WHERE kind = 'worker_lost'")"
expect "no attempt failed as lost" 0 "$(sql "$state" "SELECT count(*) FROM attempts WHERE error_class = 'lost'")"
r=$(sed -n 's/^run \([0-9]*\) submitted.*/\1/p' "$T/during.txt")
expect "the submit made during the lock made exactly one run" 2 "$(sql "$state" "SELECT count(*) FROM runs")"
wait_run_ended "$state" "${r:-0}"
expect "that run succeeded" succeeded "$st"
check_executions "$state" 1 "$T/exec-locked.txt"
check_executions "$state" 2 "$T/exec-during.txt"

# ---- the scheduler restarts while another process holds the write lock ----
# Its first commit (the runs it recovered) fails after the busy wait: it degrades as at any
# other time, and recovers once the lock is released. (It once crashed here instead: the
# first commit came before the probe timer existed.)
shell_workflow restart 40 "$T/restart.yaml"
sed -i 's/sleep 0.02/sleep 0.3/' "$T/restart.yaml"
"$weft" submit "$T/restart.yaml" --scheduler "$ep" >/dev/null || fail "submit before the restart"
sleep 1
kill_scheduler
(echo "BEGIN IMMEDIATE;"; sleep 8; echo "COMMIT;") | sqlite3 "$state/catalog.db" &
lock_pid=$!
sleep 0.5
start_scheduler "$state" "$ep"
wait "$lock_pid"
wait_run_ended "$state" 3
expect "the run recovered under the lock succeeded" succeeded "$st"
if kill -0 "$SCHED_PID" 2>/dev/null; then ok "the scheduler lived through it"; else fail "the scheduler died"; fi
expect_grep "it degraded at its first commit, and said why" "degraded: .*locked" "$T/scheduler.log"
expect_grep "... and recovered" "can be written again" "$T/scheduler.log"
check_executions "$state" 3 "$T/exec-restart.txt"
finish
