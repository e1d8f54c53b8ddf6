#!/usr/bin/env bash
# Malformed, truncated, oversized and unexpected messages never crash the scheduler or
# change the catalogue; it logs them and keeps serving.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker w1 "$ep" 1
wait_for_workers "$ep" 1 || exit 1
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
before=$(sql "$T/state" "SELECT count(*) FROM runs") events=$(sql "$T/state" "SELECT count(*) FROM events")

for mode in garbage empty truncated unknown-body oversized frames; do
    "$WEFT_BIN/weft-testpeer" "$ep" "$mode" || fail "test peer could not send $mode"
done
# Raw bytes that are not even ZMTP.
head -c 65536 /dev/urandom >/dev/tcp/127.0.0.1/"$port" 2>/dev/null
sleep 0.3
kill -0 "$SCHED_PID" 2>/dev/null && ok "scheduler alive after bad frames" || fail "scheduler died"
"$weft" list --scheduler "$ep" >/dev/null 2>&1
expect "scheduler still answers" 0 $?
expect "no run appeared" "$before" "$(sql "$T/state" "SELECT count(*) FROM runs")"
expect "no events appeared" "$events" "$(sql "$T/state" "SELECT count(*) FROM events")"
expect_grep "undecodable message logged" 'dropped an undecodable message' "$T/scheduler.log"
expect_grep "unexpected message logged" 'dropped an unexpected message' "$T/scheduler.log"
expect_grep "multi-frame message logged" 'dropped a message with more than 8 frames' "$T/scheduler.log"
"$weft" submit "$WEFT_SRC/workflows/word-count.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a run still completes" 0 $?
finish
