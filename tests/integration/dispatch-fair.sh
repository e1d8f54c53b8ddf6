#!/usr/bin/env bash
# Fair, correct dispatch: a small run submitted behind a large one starts at once (a free
# slot goes to the run with the fewest attempts in flight); a worker that was declared lost
# and comes back gets work again (its stale results free its slots); registrations outside
# sane bounds are refused with the reason; a repeated idempotency key makes one run.
. "$(dirname "$0")/lib.sh"
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$state" "$ep"
start_worker one "$ep" 2
one_pid=$WORKER_PID
start_worker two "$ep" 2
wait_for_workers "$ep" 2 || exit 1

# ---- registrations with absurd values ----
"$WEFT_BIN/weft-testpeer" "$ep" register greedy 2147483648 1000 >"$T/reg1.txt"
expect_grep "2^31 slots are refused" "refused: slots 2147483648 outside 1\.\.1024" "$T/reg1.txt"
"$WEFT_BIN/weft-testpeer" "$ep" register sleepy 2 4294967295 >"$T/reg2.txt"
expect_grep "a 2^32-1 ms heartbeat is refused" "refused: heartbeat interval 4294967295 ms outside" "$T/reg2.txt"
"$WEFT_BIN/weft-testpeer" "$ep" register 'bad/name' 2 1000 >"$T/reg3.txt"
expect_grep "a name outside [A-Za-z0-9._-] is refused" "refused: worker name" "$T/reg3.txt"
expect "refused workers have no row" 0 "$(sql "$state" "SELECT count(*) FROM workers WHERE name IN ('greedy', 'sleepy')")"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --slots 1025 >"$T/bigworker.txt" 2>&1
expect "weft-worker itself refuses --slots above 1024" 2 "$?"
"$WEFT_BIN/weft-testpeer" "$ep" register big 1025 1000 >"$T/reg4.txt"
expect_grep "1,025 slots are refused" "refused: slots 1025 outside 1\.\.1024" "$T/reg4.txt"
"$WEFT_BIN/weft-testpeer" "$ep" register deep 2 1000 1025 >"$T/reg5.txt"
expect_grep "a queue of 1,025 is refused" "refused: prefetch 1025 above 1024" "$T/reg5.txt"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --prefetch 1025 >"$T/deepworker.txt" 2>&1
expect "weft-worker itself refuses --prefetch above 1024" 2 "$?"

# ---- two runs share the workers fairly ----
{
    echo "workflow: big"
    echo "tasks:"
    for i in $(seq 1000); do echo "  s$i: { type: sleep, with: { duration: 100ms } }"; done
} >"$T/big.yaml"
printf 'workflow: small\ntasks:\n  n1: { type: noop }\n  n2: { type: noop }\n' >"$T/small.yaml"
"$weft" submit "$T/big.yaml" --scheduler "$ep" >/dev/null || fail "submit the big run"
sleep 1
"$weft" submit "$T/small.yaml" --scheduler "$ep" --wait --timeout 10s >/dev/null || fail "small run"
wait_ms=$(sql "$state" "SELECT (min(a.dispatched_us) - r.created_us) / 1000 FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.id = 2")
at_most "the small run's first task starts within a second of its submit (ms)" 1000 "$wait_ms"
"$weft" cancel 1 --scheduler "$ep" >/dev/null || fail "cancel the big run"
wait_run_ended "$state" 1
expect "the big run ends cancelled" cancelled "$st"

# ---- a worker declared lost that comes back ----
printf 'workflow: long\ndefaults:\n  retry: { max_attempts: 3, interval: 100ms, on: [lost] }\ntasks:\n  l1: { type: sleep, with: { duration: 3s } }\n  l2: { type: sleep, with: { duration: 3s } }\n' >"$T/long.yaml"
"$weft" submit "$T/long.yaml" --scheduler "$ep" >/dev/null || fail "submit the long run"
sleep 0.5
kill -STOP "$one_pid"
sleep 2
kill -CONT "$one_pid"
wait_run_ended "$state" 3
expect "the long run succeeded" succeeded "$st"
at_least "worker one was declared lost" 1 "$(sql "$state" "SELECT count(*) FROM events WHERE kind = 'worker_lost' AND detail = 'one'")"
expect "its row says lost until it registers again" 1 "$(sql "$state" "SELECT count(*) FROM events WHERE kind = 'worker_lost'")"
sleep 4 # its stale results arrive and free its slots
{
    echo "workflow: later"
    echo "tasks:"
    for i in $(seq 20); do echo "  t$i: { type: sleep, with: { duration: 200ms } }"; done
} >"$T/later.yaml"
"$weft" submit "$T/later.yaml" --scheduler "$ep" --wait --timeout 30s >/dev/null || fail "the later run"
expect "both workers ran tasks of the later run" 2 "$(sql "$state" "SELECT count(DISTINCT worker) FROM attempts WHERE run_id = 4")"
expect "worker one is up again" up "$(sql "$state" "SELECT state FROM workers WHERE name = 'one'")"

# ---- exactly-once submits ----
"$weft" submit "$T/small.yaml" --scheduler "$ep" --idempotency-key nightly-42 >"$T/k1.txt" || fail "keyed submit"
"$weft" submit "$T/small.yaml" --scheduler "$ep" --idempotency-key nightly-42 >"$T/k2.txt" || fail "repeated keyed submit"
expect "a repeated key answers with the first run" "$(cat "$T/k1.txt")" "$(cat "$T/k2.txt")"
expect "a repeated key makes one run (keys are stored per principal)" 1 "$(sql "$state" "SELECT count(*) FROM requests WHERE key = 'insecure/nightly-42'")"
expect "runs so far" 5 "$(sql "$state" "SELECT count(*) FROM runs")"
"$weft" submit "$T/small.yaml" --scheduler "$ep" --idempotency-key "$(head -c 200 /dev/zero | tr '\0' k)" 2>"$T/longkey.err"
expect "a key over 128 characters is refused" 2 "$?"
"$weft" submit "$T/long.yaml" --scheduler "$ep" >/dev/null || fail "submit run 6"
"$weft" cancel 6 --scheduler "$ep" --idempotency-key stop-6 >/dev/null || fail "keyed cancel"
"$weft" submit "$T/small.yaml" --scheduler "$ep" --idempotency-key stop-6 >"$T/kind.out" 2>"$T/kind.err"
expect "a cancel's key given to a submit is refused" 2 "$?"
expect_grep "and says why" "was used for a cancel" "$T/kind.err"
expect "that submit made no run" 6 "$(sql "$state" "SELECT count(*) FROM runs")"
finish
