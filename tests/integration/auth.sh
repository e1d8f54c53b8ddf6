#!/usr/bin/env bash
# Authenticated peers on TCP loopback with CURVE: a client or worker with no key, an unknown
# key, or a key revoked while it is connected is refused and logged, and nothing is
# recorded; roles are enforced (a client cannot manage keys or shut the scheduler down, a
# worker key cannot submit); a worker key registers only its own names; a result is taken
# only from the worker its attempt was dispatched to, with its nonce; the right keys work
# end to end.
. "$(dirname "$0")/lib.sh"
unset WEFT_INSECURE
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_curve_scheduler "$state" "$ep"
skey="$state/scheduler.key.pub"
expect "the scheduler's secret key is 0600" 600 "$(stat -c %a "$state/scheduler.key")"
# has_line DESCRIPTION FIXED_STRING FILE (keys hold regex characters)
has_line() { if grep -qF -- "$2" "$3"; then ok "$1"; else fail "$1: '$2' not in $3"; fi; }
pubkey() { sed -n 's/.*"\(.*\)".*/\1/p' "$1"; }
has_line "the scheduler prints its public key" "public key $(pubkey "$skey")" "$T/scheduler.log"

# An insecure scheduler is refused on a non-loopback address.
"$WEFT_BIN/weft-scheduler" --state "$T/other" --listen "tcp://0.0.0.0:$(free_port)" --insecure \
    >"$T/insecure.txt" 2>&1
expect "--insecure on a non-loopback address is refused" 1 "$?"
expect_grep "... with the reason" "allows plain TCP on loopback addresses only" "$T/insecure.txt"

# Keys: made by weft keys gen, admitted by the local admin (the scheduler's own user, ipc).
for k in alice bob w1 w2 stranger; do "$weft" keys gen "$T/$k.key" >/dev/null || fail "keys gen $k"; done
expect "a secret key file is 0600" 600 "$(stat -c %a "$T/alice.key")"
"$weft" keys gen "$T/alice.key" >/dev/null 2>"$T/gen-again.txt"
expect "keys gen never overwrites a key" 2 "$?"
"$weft" keys add alice --role client "$T/alice.key.pub" --state "$state" >/dev/null || fail "add alice"
"$weft" keys add bob --role client "$T/bob.key.pub" --state "$state" >/dev/null || fail "add bob"
"$weft" keys add w1 --role worker "$T/w1.key.pub" --state "$state" >/dev/null || fail "add w1"
# (A Z85 key may begin with "-": after "--" it is an argument, not an option.)
"$weft" keys add w2 --role worker --state "$state" -- "$(pubkey "$T/w2.key.pub")" \
    >/dev/null || fail "add w2 by the key itself"
"$weft" keys add carol --role client "$T/alice.key.pub" --state "$state" 2>"$T/dup.txt"
expect "the same key twice is refused" 2 "$?"
expect_grep "... with the reason" "already on the list \(as 'alice'\)" "$T/dup.txt"
"$weft" keys add alice --role worker "$T/stranger.key.pub" --state "$state" 2>"$T/role.txt"
expect "a second key of another role for a name is refused" 2 "$?"
"$weft" keys add x --role root "$T/stranger.key.pub" --state "$state" 2>"$T/badrole.txt"
expect_grep "an unknown role is refused" "unknown role 'root'" "$T/badrole.txt"
expect "four keys on the list" 4 "$("$weft" keys ls --state "$state" --json | grep -c '"public_key"')"
dashed='-Zv:7^HY[mHxd@{j6Jv8P3Zj&HQ]<jZcC^N9KF9z' # a key that begins with "-"
"$weft" keys add dashed --role worker --state "$state" "$dashed" >/dev/null 2>"$T/dashed.txt"
expect "a key that begins with - is taken for an option without --" 2 "$?"
"$weft" keys add dashed --role worker --state "$state" -- "$dashed" >/dev/null
expect "... and for the key after --" 0 "$?"
has_line "... which is on the list" "$dashed" <("$weft" keys ls --state "$state")
chmod 644 "$T/bob.key"
"$weft" status --scheduler "$ep" --key "$T/bob.key" --server-key "$skey" 2>"$T/perm.txt"
expect "a secret key others may read is refused" 2 "$?"
expect_grep "... with the reason" "may be read by others" "$T/perm.txt"
chmod 600 "$T/bob.key"

as_alice=(--scheduler "$ep" --key "$T/alice.key" --server-key "$skey")
cat >"$T/wf.yaml" <<'YAML'
workflow: auth
tasks:
  hello:
    type: shell
    with: { argv: [sh, -c, 'echo hi'] }
YAML

# No key, plain TCP, an unknown key: refused, logged, and nothing recorded.
"$weft" submit "$T/wf.yaml" --scheduler "$ep" 2>"$T/nokey.txt"
expect "a client with no key does not connect" 2 "$?"
expect_grep "... and says why" "needs --key FILE and --server-key KEY" "$T/nokey.txt"
"$weft" submit "$T/wf.yaml" --scheduler "$ep" --insecure --timeout 5s 2>"$T/plain.txt"
expect "a plain TCP client is refused" 4 "$?"
# (how much libzmq tells about a failed handshake varies with timing)
expect_grep "the scheduler logs the plain peer" \
    "refused a connection on tcp://127.0.0.1:[0-9]+: (it does not speak CURVE|its handshake failed)" \
    "$T/scheduler.log"
"$weft" submit "$T/wf.yaml" --scheduler "$ep" --key "$T/stranger.key" --server-key "$skey" \
    --timeout 5s 2>"$T/unknown.txt"
expect "an unknown key is refused" 4 "$?"
expect_grep "... with the reason" "refused this key" "$T/unknown.txt"
has_line "the scheduler logs the unknown key" "unknown key $(pubkey "$T/stranger.key.pub")" \
    "$T/scheduler.log"
"$weft" status --scheduler "$ep" --key "$T/alice.key" --server-key "$T/w1.key.pub" --timeout 5s \
    2>"$T/wrongserver.txt"
expect "a wrong server key fails the handshake" 4 "$?"
expect "nothing was recorded" 0 "$(sql "$state" "SELECT count(*) FROM runs")"

# Roles: a client cannot manage keys, issue tokens or stop the scheduler; a worker key cannot
# submit.
"$weft" keys ls "${as_alice[@]}" 2>"$T/notadmin.txt"
expect "a client cannot list keys" 4 "$?"
expect_grep "... with the reason" "'alice' does not hold the admin role" "$T/notadmin.txt"
expect_grep "the refusal is logged with the principal" "refused a key request from 'alice'" "$T/scheduler.log"
"$weft" keys token t1 --role client "${as_alice[@]}" >"$T/token.txt" 2>"$T/notadmin-token.txt"
expect "a client cannot issue a bearer token" 4 "$?"
expect_grep "... with the reason" "'alice' does not hold the admin role" "$T/notadmin-token.txt"
expect "... and none was made or printed" "0 0" \
    "$(sql "$state" "SELECT count(*) FROM principals WHERE public_key LIKE 'token:%'") $(wc -c <"$T/token.txt")"
WEFT_KEY="$T/alice.key" WEFT_SERVER_KEY="$skey" "$WEFT_BIN/weft-testpeer" "$ep" shutdown \
    >"$T/shutdown.txt" 2>&1
expect_grep "a client cannot shut the scheduler down" \
    "shutdown: -14 refused: 'alice' does not hold the admin role" "$T/shutdown.txt"
kill -0 "$SCHED_PID" 2>/dev/null && ok "... and it still runs" || fail "a client shut the scheduler down"
"$weft" submit "$T/wf.yaml" --scheduler "$ep" --key "$T/w1.key" --server-key "$skey" 2>"$T/wsubmit.txt"
expect "a worker key cannot submit" 4 "$?"
expect_grep "... with the reason" "'w1' does not hold the client role" "$T/wsubmit.txt"
expect "still nothing recorded" 0 "$(sql "$state" "SELECT count(*) FROM runs")"
"$weft" signal 1 gate --approve --scheduler "$ep" --key "$T/w1.key" --server-key "$skey" \
    2>"$T/wsignal.txt"
expect "a worker key cannot decide an approval" 4 "$?"
expect_grep "... with the reason" "'w1' does not hold the client role" "$T/wsignal.txt"
"$weft" workers --scheduler "$ep" --key "$T/w1.key" --server-key "$skey" 2>"$T/wworkers.txt"
expect "a worker key cannot list the workers" 4 "$?"
expect_grep "... with the reason" "'w1' does not hold the client or gateway role" "$T/wworkers.txt"
"$weft" workers "${as_alice[@]}" --json >"$T/aworkers.txt"
expect "a client lists the workers" 0 "$?"

# Workers: w1's key registers w1; w2's key cannot take w1's name, nor its own with no key.
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name w1 --slots 2 --key "$T/w1.key" \
    --server-key "$skey" --work-dir "$T/work-w1" --heartbeat 200 >"$T/worker-w1.log" 2>&1 &
w1_pid=$!
PIDS+=("$w1_pid")
WEFT_KEY="$T/alice.key" WEFT_SERVER_KEY="$skey" wait_for_workers "$ep" 1 || exit 1
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name w1 --slots 1 --key "$T/w2.key" \
    --server-key "$skey" --work-dir "$T/work-imp" >"$T/impostor.txt" 2>&1
expect "a worker with another key cannot take w1's name" 1 "$?"
expect_grep "... and is told why" "'w2' may not register a worker called 'w1'" "$T/impostor.txt"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name w2 --slots 1 --work-dir "$T/work-nokey" \
    >"$T/worker-nokey.txt" 2>&1
expect "a worker with no key does not start" 1 "$?"

# End to end with the right keys.
"$weft" submit "$T/wf.yaml" "${as_alice[@]}" --wait >"$T/run1.txt" 2>&1
expect "alice's run succeeds on w1" 0 "$?"
expect "it ran on w1" w1 "$(sql "$state" "SELECT worker FROM attempts WHERE run_id = 1")"

# A forged result: w2 (authenticated, registered) reports on an attempt dispatched to w1.
cat >"$T/slow.yaml" <<'YAML'
workflow: slow
tasks:
  slow:
    type: shell
    with: { argv: [sh, -c, 'sleep 2; echo real'] }
YAML
"$weft" submit "$T/slow.yaml" "${as_alice[@]}" >/dev/null || fail "submit slow"
attempt=$(for _ in $(seq 50); do a=$(sql "$state" "SELECT id FROM attempts WHERE run_id = 2"); [ -n "$a" ] && { echo "$a"; break; }; sleep 0.1; done)
WEFT_KEY="$T/w2.key" WEFT_SERVER_KEY="$skey" "$WEFT_BIN/weft-testpeer" "$ep" forge-result w2 \
    "$attempt" '{"stdout": "forged"}' >"$T/forge.txt" 2>&1
expect "w2 registered and sent its forged results" sent "$(cat "$T/forge.txt")"
expect_grep "the forged result is refused and logged" \
    "refused a result from worker 'w2': attempt $attempt was dispatched to 'w1', not to 'w2'" \
    "$T/scheduler.log"
# The same inside a Batch (each message in it is checked as if it came alone); Batches
# inside a Batch (which the decoder would follow past the stack) and one of too many
# messages are dropped; a client may not send one.
WEFT_KEY="$T/w2.key" WEFT_SERVER_KEY="$skey" "$WEFT_BIN/weft-testpeer" "$ep" forge-batch w2 \
    "$attempt" '{"stdout": "forged"}' >"$T/forge-batch.txt" 2>&1
expect "w2 sent its forged results in a batch" sent "$(cat "$T/forge-batch.txt")"
expect "each forged result in the batch is refused too (four in all)" 4 \
    "$(grep -c "refused a result from worker 'w2': attempt $attempt" "$T/scheduler.log")"
expect_grep "batches nested 30,000 deep are dropped undecoded" \
    "dropped an undecodable message of [0-9]* bytes from" "$T/scheduler.log"
expect_grep "a batch of too many messages is dropped" \
    "dropped a batch of 257 messages, more than 256, from" "$T/scheduler.log"
WEFT_KEY="$T/alice.key" WEFT_SERVER_KEY="$skey" "$WEFT_BIN/weft-testpeer" "$ep" forge-batch w3 \
    "$attempt" '{"stdout": "forged"}' >/dev/null 2>&1
expect_grep "a client's batch is refused for want of the worker role" \
    "refused a batch from 'alice': 'alice' does not hold the worker role" "$T/scheduler.log"
wait_run_ended "$state" 2
expect "the run succeeded with the real output" "succeeded|real" \
    "$(sql "$state" "SELECT r.state || '|' || json_extract(t.outputs, '\$.stdout') FROM runs r JOIN tasks t ON t.run_id = r.id WHERE r.id = 2")"
expect "one attempt, no checkpoint from the forger" "1|" \
    "$(sql "$state" "SELECT count(*) || '|' || coalesce(max(checkpoint), '') FROM attempts WHERE run_id = 2")"
if grep -q forged "$state"/logs/2/*; then fail "the forger's log was stored"; else ok "the forger's log was not stored"; fi

# Revoked while connected: a client's open connection and a worker are refused at once.
"$weft" submit "$T/slow.yaml" "${as_alice[@]}" >/dev/null || fail "submit before revoke"
WEFT_KEY="$T/bob.key" WEFT_SERVER_KEY="$skey" "$WEFT_BIN/weft-testpeer" "$ep" query-twice \
    "$T/revoked" >"$T/twice.txt" 2>&1 &
peer=$!
for _ in $(seq 50); do grep -q first "$T/twice.txt" && break; sleep 0.1; done
expect "bob's first query is answered" "first: 0" "$(sed -n 's/^\(first: [-0-9]*\).*/\1/p' "$T/twice.txt")"
"$weft" keys revoke bob --state "$state" >/dev/null || fail "revoke bob"
"$weft" keys revoke w1 --state "$state" >/dev/null || fail "revoke w1"
touch "$T/revoked"
wait "$peer"
expect_grep "bob's next query on the same connection is refused" "second: -14 refused: revoked key" "$T/twice.txt"
for _ in $(seq 50); do kill -0 "$w1_pid" 2>/dev/null || break; sleep 0.1; done
wait "$w1_pid"
expect "the revoked worker exits" 1 "$?"
forget_pid "$w1_pid"
expect_grep "... told that its key was revoked" "this worker's key was revoked" "$T/worker-w1.log"
expect_grep "the scheduler logs the revocation's effect" "worker 'w1': its key was revoked" "$T/scheduler.log"
expect "w1's running attempt was closed as lost" "lost" \
    "$(sql "$state" "SELECT error_class FROM attempts WHERE run_id = 3 AND number = 1")"
"$weft" status "${as_alice[@]}" >/dev/null || fail "alice is still admitted"
"$weft" status --scheduler "$ep" --key "$T/bob.key" --server-key "$skey" --timeout 5s 2>"$T/bobagain.txt"
expect "bob cannot connect again" 4 "$?"
expect "the list shows both revocations" 2 "$("$weft" keys ls --state "$state" --json | grep -c '"revoked_us": [0-9]')"
"$weft" keys revoke nobody --state "$state" 2>"$T/revoke-none.txt"
expect "revoking an unknown name fails" 2 "$?"
"$weft" status 3 "${as_alice[@]}" >/dev/null || fail "alice reads her run"
expect "nothing recorded by any refused request: three runs" 3 "$(sql "$state" "SELECT count(*) FROM runs")"
