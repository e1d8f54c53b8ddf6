#!/usr/bin/env bash
# Opening with care: a scheduler refuses a catalogue that is damaged (random bytes over a
# page), lost its write-ahead log while runs were only there, or was truncated to nothing,
# and says what it found and how to recover; never does it start with less history than it
# had. weft backup (while the scheduler runs), weft restore and weft check; and run ids are
# never issued twice, even after a loss is accepted.
. "$(dirname "$0")/lib.sh"
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
wf="$T/wf.yaml"
printf 'workflow: small\ntasks:\n  a: { type: noop }\n  b: { type: echo, with: { x: 1 }, needs: [a] }\n' >"$wf"

# refused WHAT PATTERN: a scheduler started on $state exits 1 at once, its error matching.
refused() {
    "$WEFT_BIN/weft-scheduler" --state "$state" --listen "$ep" --insecure >"$T/refused.log" 2>&1 &
    local pid=$! rc
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"; wait "$pid" 2>/dev/null
        fail "$1: the scheduler started"
        return
    fi
    wait "$pid"; rc=$?
    expect "$1: the scheduler exits 1" 1 "$rc"
    expect_grep "$1: it says what it found" "$2" "$T/refused.log"
    expect_grep "$1: it says how to recover" "weft restore" "$T/refused.log"
}

submit_runs() { # N: submits N runs and waits for them
    for _ in $(seq "$1"); do "$weft" submit "$wf" --scheduler "$ep" --wait >/dev/null || fail "submit"; done
}

start_scheduler "$state" "$ep"
start_worker w "$ep" 2
wait_for_workers "$ep" 1 || exit 1
submit_runs 3
"$weft" backup "$T/backup.db" --state "$state" >"$T/backup.out" || fail "weft backup while the scheduler runs"
expect_grep "weft backup says where the copy went" "backed up .* to $T/backup.db" "$T/backup.out"
"$weft" backup "$T/backup.db" --state "$state" 2>"$T/backup2.err"
expect "a backup over an existing file is refused" 2 "$?"
expect_grep "and says why" "already exists" "$T/backup2.err"
"$weft" check --state "$state" >"$T/check.out"
expect "weft check of a sound catalogue exits 0" 0 "$?"
expect_grep "weft check reports the database" "quick_check\): ok" "$T/check.out"
submit_runs 2
# Everything is still in the write-ahead log only (no checkpoint yet).
kill_scheduler

# ---- the write-ahead log vanished ----
rm -f "$state/catalog.db-wal" "$state/catalog.db-shm"
refused "deleted WAL" "lost history"
expect_grep "deleted WAL: the message names what was committed" "runs to 5" "$T/refused.log"
"$weft" check --state "$state" >"$T/check2.out"
expect "weft check finds the lost history" 1 "$?"
expect_grep "weft check names it" "lost history" "$T/check2.out"

# ---- truncated to nothing ----
: >"$state/catalog.db"
refused "truncated catalogue" "holds runs to 0"
expect "the truncated file was left as it was" 0 "$(stat -c %s "$state/catalog.db")"

# ---- a restore puts a backup back; ids go on after every id issued ----
"$weft" restore "$T/backup.db" --state "$state" >"$T/restore.out" || fail "weft restore"
expect_grep "weft restore keeps the replaced file" "kept as" "$T/restore.out"
start_scheduler "$state" "$ep"
wait_for_workers "$ep" 1
expect "the restored catalogue holds the backup's runs" "1 2 3" "$(sql "$state" "SELECT group_concat(id, ' ') FROM (SELECT id FROM runs ORDER BY id)")"
"$weft" submit "$wf" --scheduler "$ep" --wait >"$T/after-restore.txt" || fail "submit after restore"
expect_grep "the next run id comes after every id issued before" "^run 6 submitted" "$T/after-restore.txt"
"$weft" restore "$T/backup.db" --state "$state" 2>"$T/restore-busy.err"
expect "restore while a scheduler runs is refused" 2 "$?"
expect_grep "and says why" "in use by a running scheduler" "$T/restore-busy.err"
kill_scheduler

# ---- random bytes over a page ----
"$WEFT_BIN/weft-scheduler" --state "$state" --listen "$ep" --insecure >"$T/clean.log" 2>&1 &
pid=$!
PIDS+=("$pid")
wait_for_workers "$ep" 1
submit_runs 20
kill -TERM "$pid"; wait "$pid"; forget_pid "$pid" # a clean stop checkpoints the log
pages=$(( $(stat -c %s "$state/catalog.db") / 4096 ))
head -c 4096 /dev/urandom | dd of="$state/catalog.db" bs=4096 seek=$((pages / 2)) conv=notrunc 2>/dev/null
refused "damaged page" "is damaged"
"$weft" check --state "$state" >"$T/check3.out"
expect "weft check finds the damage" 1 "$?"
expect_grep "weft check names it" "damaged" "$T/check3.out"

# ---- accepting a loss: ids still never repeat ----
"$weft" restore "$T/backup.db" --state "$state" >/dev/null || fail "restore of the older copy again"
start_scheduler "$state" "$ep"
wait_for_workers "$ep" 1
"$weft" submit "$wf" --scheduler "$ep" --wait >"$T/after-old.txt" || fail "submit after restoring an older copy"
expect_grep "ids go on after every run ever issued" "^run 27 submitted" "$T/after-old.txt"
kill_scheduler
rm -f "$state/catalog.db-wal" "$state/catalog.db-shm"
refused "deleted WAL again" "lost history"
"$WEFT_BIN/weft-scheduler" --state "$state" --listen "$ep" --insecure --accept-loss >"$T/accept.log" 2>&1 &
PIDS+=("$!")
wait_for_workers "$ep" 1
expect_grep "--accept-loss says what was lost" "lost history" "$T/accept.log"
"$weft" submit "$wf" --scheduler "$ep" --wait >"$T/after-accept.txt" || fail "submit after accepting the loss"
expect_grep "ids go on after the lost ones" "^run 28 submitted" "$T/after-accept.txt"
finish
