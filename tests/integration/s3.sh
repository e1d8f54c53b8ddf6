#!/usr/bin/env bash
# An S3 artifact store: a scheduler started with --store s3://weft/runs keeps every blob in
# an S3-compatible server this test starts (s3rver, from tests/node), through a throttling
# proxy. Workers read and write the bucket themselves (SigV4-signed, no blob passes through
# the scheduler).
# - A chain of file and directory artifacts runs to the usual results.
# - Debian's awscli, an independent client, lists the objects weft wrote under
#   PREFIX/ab/cdef... and reads them back byte for byte (their names are their BLAKE2b).
# - A blob above the part size goes up as a multipart upload and comes back whole.
# - A burst of 503 SlowDown answers is waited out (retries with backoff): the run succeeds.
# - weft get copies an output out of it; weft gc removes only the unreferenced object, and
#   what runs reference stays.
# - A bad location or no credentials is refused naming what is wrong.
. "$(dirname "$0")/lib.sh"
node_dir="$WEFT_SRC/tests/node"
aws=/usr/bin/aws
if ! command -v node >/dev/null || [ ! -x "$node_dir/node_modules/.bin/s3rver" ] || [ ! -x "$aws" ]; then
    skip "needs node, s3rver (tests/node) and Debian's awscli (scripts/deps.sh installs them)"
    exit 0
fi
s3port=$(free_port)
proxyport=$(free_port)
"$node_dir/node_modules/.bin/s3rver" -d "$T/s3data" -a 127.0.0.1 -p "$s3port" \
    --configure-bucket weft >"$T/s3rver.log" 2>&1 &
s3pid=$!
node "$node_dir/throttle-proxy.mjs" --port "$proxyport" --to "http://127.0.0.1:$s3port" \
    --trigger "$T/throttle" --burst 6 --count "$T/refused" >"$T/proxy.log" 2>&1 &
proxypid=$!
trap 'kill "$s3pid" "$proxypid" 2>/dev/null; cleanup' EXIT
export WEFT_S3_ENDPOINT="http://127.0.0.1:$proxyport" AWS_ACCESS_KEY_ID=S3RVER \
    AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    WEFT_S3_PART_SIZE=5M
unset AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$proxyport/" && break
    sleep 0.1
done
awsq() { "$aws" --endpoint-url "http://127.0.0.1:$s3port" "$@"; }

# ---- bad configurations ----
state="$T/state"
"$WEFT_BIN/weft-scheduler" --state "$T/bad" --store "s3://weft bucket" >"$T/bad.log" 2>&1
expect "a bad S3 location stops the scheduler" 1 $?
expect_grep "... naming what is wrong" "a bucket and prefix of letters, digits" "$T/bad.log"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$T" "$WEFT_BIN/weft-scheduler" \
    --state "$T/bad2" --store s3://weft/runs >"$T/bad2.log" 2>&1
expect "no credentials stop the scheduler" 1 $?
expect_grep "... saying where it looked" "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give profile 'default' in $T/.aws/credentials" \
    "$T/bad2.log"

# ---- a chain on an S3 store ----
"$WEFT_BIN/weft-scheduler" --state "$state" --store s3://weft/runs --listen "tcp://127.0.0.1:$(free_port)" \
    --insecure >"$T/scheduler.log" 2>&1 &
SCHED_PID=$!
PIDS+=("$SCHED_PID")
for _ in $(seq 100); do [ -S "$state/scheduler.sock" ] && break; sleep 0.05; done
ep="ipc://$state/scheduler.sock"
start_worker w1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
seq 1 5000 >"$T/numbers.txt"
head -c 12M /dev/urandom >"$T/big.bin"
cat >"$T/pipe.yaml" <<'YAML'
workflow: s3-pipe
params:
  numbers: { type: file }
  big: { type: file }
tasks:
  split:
    type: shell
    with:
      argv: [sh, -c, 'split -l 1000 "$IN" "$WEFT_OUT/part-" && cp "$BIG" "$WEFT_OUT/big.copy"']
      env: { IN: "${params.numbers}", BIG: "${params.big}" }
      outputs_dir: true
  total:
    type: shell
    with:
      argv: [sh, -c, 'cat "$PARTS"/part-* | awk "{s+=\$1} END {print s}"; b2sum -l 256 <"$PARTS/big.copy" | cut -c1-64']
      env: { PARTS: "${split.outputs.files}" }
YAML
"$weft" submit "$T/pipe.yaml" -p numbers="$T/numbers.txt" -p big="$T/big.bin" --state "$state" \
    --wait >"$T/run1.out" 2>&1
expect "the chain runs on an S3 store" 0 $?
big=$(b2sum -l 256 "$T/big.bin" | cut -d' ' -f1)
expect "... to the usual results, the 12 MiB file whole" "12502500
$big" "$(task_out 1 total stdout)"
expect "the store the scheduler works with is recorded for the CLI" "s3://weft/runs" "$(cat "$state/store")"
[ -d "$state/artifacts" ] && [ -n "$(ls "$state/artifacts" | grep -v '^tmp$\|^store-id$')" ] &&
    fail "blobs went to the local store" || ok "no blob in the local store"

# ---- an independent client reads what weft wrote ----
awsq s3 ls s3://weft/runs/ --recursive >"$T/ls.txt" 2>"$T/ls.err"
expect "awscli lists the bucket" 0 $?
at_least "... every blob under runs/ab/cdef..." 8 "$(grep -cE ' runs/[0-9a-f]{2}/[0-9a-f]{62}$' "$T/ls.txt")"
expect_grep "... the parameter under its BLAKE2b" "runs/${big:0:2}/${big:2}$" "$T/ls.txt"
awsq s3 cp "s3://weft/runs/${big:0:2}/${big:2}" "$T/big.back" >/dev/null 2>&1
expect "awscli reads the multipart blob back byte for byte" "$big" "$(b2sum -l 256 "$T/big.back" | cut -d' ' -f1)"
expect_grep "... it went up as a multipart upload of three 5 MiB parts (the server's log)" \
    "runs/${big:0:2}/${big:2}\?partNumber=3&uploadId=" "$T/s3rver.log"

# ---- a burst of 503 SlowDown ----
touch "$T/throttle"
seq 1 300 >"$T/numbers2.txt"
sed -i 's/^workflow: s3-pipe/workflow: s3-throttled/' "$T/pipe.yaml"
"$weft" submit "$T/pipe.yaml" -p numbers="$T/numbers2.txt" -p big="$T/big.bin" --state "$state" \
    --wait >"$T/run2.out" 2>&1
expect "a run through a burst of 503 SlowDown succeeds" 0 $?
expect "... the whole burst was refused" 6 "$(cat "$T/refused" 2>/dev/null)"
expect_grep "... and waited out with backoff" "S3 [A-Z]+ runs/[0-9a-f/]+: throttled or failed; again in [0-9]+ ms" \
    <(cat "$T/scheduler.log" "$T/worker-w1.log")

"$weft" get 1/split/files -o "$T/got" --state "$state" >"$T/get.out" 2>&1
expect "weft get copies an output out of the S3 store" "$big" \
    "$(b2sum -l 256 "$T/got/big.copy" 2>/dev/null | cut -d' ' -f1)"

# ---- gc ----
head -c 1000 /dev/urandom >"$T/orphan.bin"
orphan=$(b2sum -l 256 "$T/orphan.bin" | cut -d' ' -f1)
awsq s3 cp "$T/orphan.bin" "s3://weft/runs/${orphan:0:2}/${orphan:2}" >/dev/null 2>&1 ||
    fail "awscli cannot write the orphan"
before=$(awsq s3 ls s3://weft/runs/ --recursive | wc -l)
"$weft" gc --state "$state" --grace 0s >"$T/gc.out" 2>&1
expect "weft gc works on the S3 store" 0 $?
expect_grep "... removing the one unreferenced object" "removed: 1 unreferenced artifact" "$T/gc.out"
expect "... and nothing else" $((before - 1)) "$(awsq s3 ls s3://weft/runs/ --recursive | wc -l)"
awsq s3 ls "s3://weft/runs/${orphan:0:2}/${orphan:2}" >/dev/null 2>&1 &&
    fail "the orphan is still there" || ok "the orphan is gone"
"$weft" retry 1 --from total --state "$state" --wait >/dev/null 2>&1
expect "a run's artifacts still read after gc" 0 $?
finish
