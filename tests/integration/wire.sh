#!/usr/bin/env bash
# Artifacts over the wire: workers in mount namespaces of their own, where the scheduler's
# state directory (and its artifact store) is an empty tmpfs, fetch the blobs their tasks
# read over their connection and push the blobs their tasks make before the result.
# - A chain of file and directory artifacts runs to the same results as with the store on
#   the worker's disk; what a task made is in the scheduler's store.
# - A blob the worker's cache holds is not fetched again; two attempts reading one blob at
#   once on one worker fetch it once.
# - A fetch cut off by a killed worker resumes from its partial file when the worker is
#   back, and the task succeeds; the cache stays within --cache-size, evicting the least
#   recently used blob.
# - A blob damaged in the scheduler's store is refused by the worker (it does not match its
#   hash) and the task fails naming it.
# - A hostile worker gets nothing without the attempt's nonce, nothing the attempt does not
#   read, cannot store a blob under a hash that is not its content's (pushed, or inside
#   its result), and a result naming an output blob that was never sent fails its task.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
    skip "needs root and unshare -m to give workers a filesystem without the store"
    exit 0
fi
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$state" "$ep"
for _ in $(seq 100); do [ -S "$state/scheduler.sock" ] && break; sleep 0.05; done
store="$state/artifacts"

# start_far_worker NAME [ARGS...]: a worker that cannot see the scheduler's state directory.
start_far_worker() {
    local name=$1
    shift
    unshare -m sh -c 'mount -t tmpfs none "$0" && exec "$@"' "$state" \
        "$WEFT_BIN/weft-worker" --scheduler "$ep" --name "$name" --slots 1 \
        --plugin-path "$WEFT_PLUGIN_PATH" --work-dir "$T/work-$name" --heartbeat 200 "$@" \
        >>"$T/worker-$name.log" 2>&1 &
    WORKER_PID=$!
    PIDS+=("$WORKER_PID")
}

# ---- a hostile worker ----
printf 'secret input\n' >"$T/in.txt"
cat >"$T/probe.yaml" <<YAML
workflow: probe
params:
  data: { type: file, default: "$T/in.txt" }
tasks:
  read:
    type: shell
    with: { argv: [sh, -c, 'cat "\$IN"'], env: { IN: "\${params.data}" } }
    retry: { max_attempts: 1 }
YAML
"$WEFT_BIN/weft-testpeer" "$ep" blob-peer peer >"$T/peer.out" 2>&1 &
peer=$!
wait_for_workers "$ep" 1 || exit 1
"$weft" submit "$T/probe.yaml" --scheduler "$ep" --wait >"$T/probe.out" 2>&1
expect "the run whose result names a blob never sent fails" 1 $?
wait "$peer"
cat "$T/peer.out"
expect_grep "a fetch without the attempt's nonce gets nothing" '^forged nonce: no answer' "$T/peer.out"
expect_grep "... and is logged as refused" \
    "refused a blob fetch from worker 'peer': attempt [0-9]+: the message does not carry" \
    "$T/scheduler.log"
expect_grep "a blob the attempt does not read is refused" \
    '^other blob: -[0-9]+ attempt [0-9]+ has no input or checkpoint that is blob 1111111111111111' \
    "$T/peer.out"
expect_grep "the attempt's input comes whole, matching its hash" \
    '^input: 13 bytes of 13, matching its hash' "$T/peer.out"
expect_grep "a push whose content is not its hash's is refused and not stored" \
    "^bad push: -[0-9]+ blob 0{64}: the content's hash is [0-9a-f]{64}; send it again \(stored 0\)" \
    "$T/peer.out"
[ -e "$store/00/$(printf '0%.0s' $(seq 63))" ] && fail "the bad push is in the store" ||
    ok "the bad push is not in the store"
expect_grep "a blob inside a result that is not its hash's content is refused, named" \
    "worker peer, attempt [0-9]+: a blob inside a result does not hash to 2222222222222222\.\.\." \
    "$T/scheduler.log"
expect_grep "the result naming a blob never sent fails its task, saying why" \
    "blob 2222222222222222\.\.\. of the attempt's outputs is not in the scheduler's store: the worker did not send it" \
    "$T/probe.out"

# ---- a chain of files and directories ----
for _ in $(seq 100); do grep -q "worker peer lost" "$T/scheduler.log" && break; sleep 0.1; done
start_far_worker far1 --cache-size 250M
wait_for_workers "$ep" 1 || exit 1
seq 1 5000 >"$T/numbers.txt"
cat >"$T/pipe.yaml" <<'YAML'
workflow: pipe
params:
  numbers: { type: file }
tasks:
  split:
    type: shell
    with:
      argv: [sh, -c, 'split -l 1000 "$IN" "$WEFT_OUT/part-" && mkdir "$WEFT_OUT/sub" && echo x >"$WEFT_OUT/sub/x"']
      env: { IN: "${params.numbers}" }
      outputs_dir: true
  total:
    type: shell
    with:
      argv: [sh, -c, 'ls "$PARTS" | tr "\n" " "; cat "$PARTS"/part-* | awk "{s+=\$1} END {print s}"']
      env: { PARTS: "${split.outputs.files}" }
YAML
"$weft" submit "$T/pipe.yaml" -p numbers="$T/numbers.txt" --scheduler "$ep" --wait >"$T/pipe.out" 2>&1
expect "the chain runs on a worker without the store" 0 $?
run=$(sed -n 's/^run \([0-9]*\) submitted.*/\1/p' "$T/pipe.out")
"$weft" status "$run" --scheduler "$ep" --json >"$T/pipe.json"
expect "its results are those of a worker with the store" "part-aa part-ab part-ac part-ad part-ae sub 12502500" \
    "$(jq -r '.tasks[] | select(.name == "total") | .outputs.stdout' "$T/pipe.json")"
expect_grep "the worker found the scheduler's store elsewhere" "is elsewhere: blobs travel over the connection" \
    "$T/worker-far1.log"
manifest=$(jq -r '.tasks[] | select(.name == "split") | .outputs.files.artifact' "$T/pipe.json")
[ -f "$store/${manifest:0:2}/${manifest:2}" ] && ok "the directory split made is in the scheduler's store" ||
    fail "split's manifest $manifest is not in the scheduler's store"
expect_grep "its files were pushed before the result" "worker info: pushed blob" "$T/worker-far1.log"
input=$(b2sum -l 256 "$T/numbers.txt" | cut -d' ' -f1)
expect "the input was fetched once" 1 "$(grep -c "fetched blob ${input:0:16}" "$T/worker-far1.log")"
sed -i 's/^workflow: pipe/workflow: pipe-again/' "$T/pipe.yaml"
"$weft" submit "$T/pipe.yaml" -p numbers="$T/numbers.txt" --scheduler "$ep" --wait >/dev/null 2>&1
expect "the same input runs again" 0 $?
expect "a blob the cache holds is not fetched again" 1 "$(grep -c "fetched blob ${input:0:16}" "$T/worker-far1.log")"

# ---- a fetch cut off, resumed; the cache within its limit ----
head -c 200M /dev/urandom >"$T/big1.bin"
head -c 200M /dev/urandom >"$T/big2.bin"
cat >"$T/big.yaml" <<'YAML'
workflow: big
params:
  blob: { type: file }
tasks:
  size:
    type: shell
    with: { argv: [sh, -c, 'wc -c <"$IN"'], env: { IN: "${params.blob}" } }
    retry: { max_attempts: 3, interval: 100ms, on: [lost, transient] }
YAML
big1=$(b2sum -l 256 "$T/big1.bin" | cut -d' ' -f1)
"$weft" submit "$T/big.yaml" -p blob="$T/big1.bin" --scheduler "$ep" >"$T/big1.out" 2>&1 || fail "submit big1"
run=$(sed -n 's/^run \([0-9]*\) submitted.*/\1/p' "$T/big1.out")
partial="$T/work-far1/cache/tmp/fetch-$big1"
for _ in $(seq 400); do
    [ "$(stat -c %s "$partial" 2>/dev/null || echo 0)" -gt 20000000 ] && break
    sleep 0.01
done
kill9 "$WORKER_PID" "worker far1" "$T/worker-far1.log"
have=$(stat -c %s "$partial" 2>/dev/null || echo 0)
at_least "the worker was killed with part of the blob fetched" 1 "$have"
[ "$have" -lt 209715200 ] && ok "... but not all of it ($have bytes)" || fail "the fetch had ended ($have bytes)"
start_far_worker far1 --cache-size 250M
wait_run_ended "$state" "$run"
"$weft" status "$run" --scheduler "$ep" --json >"$T/big1.json"
expect "the run of the cut-off fetch succeeds" succeeded "$(jq -r .state "$T/big1.json")"
expect "... reading the whole blob" 209715200 "$(jq -r '.tasks[0].outputs.stdout' "$T/big1.json" | tr -d ' \n')"
expect_grep "the fetch resumed from its partial file" "fetch of ${big1:0:16}\.\.\. resumes at [1-9][0-9]* bytes" \
    "$T/worker-far1.log"
"$weft" submit "$T/big.yaml" -p blob="$T/big2.bin" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a second big input runs" 0 $?
cached=$(find "$T/work-far1/cache" -path '*/tmp' -prune -o -type f ! -name store-id -printf '%s\n' |
    awk '{s+=$1} END {print s+0}')
at_most "the cache stays within --cache-size 250M" $((250 * 1024 * 1024)) "$cached"
[ -f "$T/work-far1/cache/${big1:0:2}/${big1:2}" ] && fail "the least recently used blob was kept" ||
    ok "the least recently used blob was evicted"

# ---- a blob damaged in the scheduler's store ----
# Damaged after the submit checked it, while an upstream task runs: the worker fetching it
# is the one to find out.
seq 1 777 >"$T/fragile.txt"
cat >"$T/damaged.yaml" <<'YAML'
workflow: damaged
params:
  data: { type: file }
tasks:
  first:
    type: shell
    with: { argv: [sh, -c, 'sleep 2'] }
  read:
    type: shell
    needs: [first]
    with: { argv: [sh, -c, 'cat "$IN"'], env: { IN: "${params.data}" } }
    retry: { max_attempts: 1 }
YAML
"$weft" submit "$T/damaged.yaml" -p data="$T/fragile.txt" --scheduler "$ep" >"$T/damaged.out" 2>&1 ||
    fail "submit damaged"
run=$(sed -n 's/^run \([0-9]*\) submitted.*/\1/p' "$T/damaged.out")
fragile=$(b2sum -l 256 "$T/fragile.txt" | cut -d' ' -f1)
part="$store/${fragile:0:2}/${fragile:2}"
[ -f "$part" ] || fail "the submitted file ($fragile) is not in the store"
chmod u+w "$part" && printf 'X' | dd of="$part" bs=1 seek=0 conv=notrunc 2>/dev/null
wait_run_ended "$state" "$run"
"$weft" status "$run" --scheduler "$ep" >"$T/damaged.status" 2>&1
expect_grep "the task reading the damaged blob fails, naming it" \
    "inputs could not be fetched: blob ${fragile:0:16}\.\.\. received from the scheduler does not match its hash" \
    "$T/damaged.status"
[ -e "$T/work-far1/cache/tmp/fetch-$fragile" ] && fail "the damaged blob's partial file was kept" ||
    ok "the damaged blob is not kept in the cache"
# ---- two attempts reading one blob at once ----
kill9 "$WORKER_PID" "worker far1" "$T/worker-far1.log"
start_far_worker far2 --slots 2
for _ in $(seq 100); do grep -q "worker far2 up" "$T/scheduler.log" && break; sleep 0.1; done
head -c 64M /dev/urandom >"$T/shared.bin"
cat >"$T/shared.yaml" <<'YAML'
workflow: shared
params:
  blob: { type: file }
tasks:
  src:
    type: echo
    with: { items: [1, 2] }
  read:
    type: shell
    map: ${src.outputs.items}
    with: { argv: [sh, -c, 'wc -c <"$IN"'], env: { IN: "${params.blob}" } }
YAML
"$weft" submit "$T/shared.yaml" -p blob="$T/shared.bin" --scheduler "$ep" --wait >"$T/shared.out" 2>&1
expect "two elements read one 64 MiB input on a two-slot worker" 0 $?
shared=$(b2sum -l 256 "$T/shared.bin" | cut -d' ' -f1)
expect "... fetched once for both" 1 "$(grep -c "fetched blob ${shared:0:16}" "$T/worker-far2.log")"
finish
