#!/usr/bin/env bash
# The blob journal: small blobs (a client's inline file, a task's file outputs) are made
# durable by the catalogue commit that references them, their store files written unsynced
# and synced in the background.
# - A run whose input travels inside the submit and whose outputs come back inside the
#   result succeeds with the right content; the blobs went through the journal, which is
#   empty again once the store's file system was synced.
# - What a power cut would do to unsynced files is done by hand to a stopped scheduler's
#   store (one blob file lost, one left empty) with their entries still journalled: the
#   next start writes both again from the journal (the damaged one quarantined), says so,
#   and the run's outputs read back whole, by weft get and by a memoized rerun.
# - A journal entry whose content is not its hash's is skipped with a warning, and the
#   scheduler starts.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port" # a remote client: its small files travel inside the submit
state="$T/state"
start_scheduler "$state" "$ep"
start_worker j1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1

{
    echo "id,x,label"
    for i in $(seq 1 40); do echo "$i,$((i * 7 % 13)),$((i % 2))"; done
} >"$T/data.csv"
cat >"$T/split.yaml" <<YAML
workflow: split
params:
  data: { type: file, default: $T/data.csv }
tasks:
  split:
    type: data.split
    cache: true
    with: { dataset: "\${params.data}", test_fraction: 0.25, seed: 7 }
YAML
"$weft" submit "$T/split.yaml" --scheduler "$ep" --wait >"$T/run1.out" 2>&1
expect "the run succeeds" 0 $?
train=$(task_out 1 split train.artifact)
test_=$(task_out 1 split test.artifact)
expect "the outputs are what data.split makes" "31 11" \
    "$(task_blob 1 split train | wc -l) $(task_blob 1 split test | wc -l)"
expect "the train blob is its hash's content" "$train" "$(b2sum -l 256 <"$(blob_path "$train")" | cut -d' ' -f1)"
at_least "the input and both outputs went through the journal" 3 \
    "$(sql "$state" "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'blob_journal'")"
for _ in $(seq 50); do
    [ "$(sql "$state" "SELECT count(*) FROM blob_journal")" = 0 ] && break
    sleep 0.1
done
expect "the journal is emptied once the store is synced" 0 "$(sql "$state" "SELECT count(*) FROM blob_journal")"

# ---- a power cut's damage, by hand ----
"$weft" status --scheduler "$ep" >/dev/null
kill_scheduler
cp "$(blob_path "$train")" "$T/train.keep"
sql "$state" "INSERT INTO blob_journal(hash, data) VALUES
    ('$train', readfile('$(blob_path "$train")')),
    ('$test_', readfile('$(blob_path "$test_")')),
    ('$(printf '3%.0s' $(seq 64))', 'not the content of its hash')"
chmod u+w "$(blob_path "$train")" "$(blob_path "$test_")"
: >"$(blob_path "$train")"  # left empty, as delayed allocation can leave a file
rm -f "$(blob_path "$test_")" # lost
start_scheduler "$state" "$ep"
wait_for_workers "$ep" 1 || exit 1
expect_grep "the start writes the lost and the damaged blob again, and says so" \
    "blob journal: 0 blobs synced, 2 written again" "$T/scheduler.log"
expect_grep "an entry that is not its hash's content is skipped, named" \
    "blob journal: entry [0-9]+ does not hash to 3333333333333333\.\.\.; skipped" "$T/scheduler.log"
expect "the journal is empty after the start" 0 "$(sql "$state" "SELECT count(*) FROM blob_journal")"
cmp -s "$T/train.keep" "$(blob_path "$train")" && ok "the train blob is whole again" ||
    fail "the train blob is not what it was"
expect "the test blob is back" "11" "$(task_blob 1 split test | wc -l)"
expect "the damaged file was quarantined" 1 "$(ls "$state/artifacts/corrupt" 2>/dev/null | wc -l)"
(cd "$T" && "$weft" get 1/split/train --scheduler "$ep" -o "$T/got.csv" >/dev/null 2>&1)
expect "weft get reads the train output" 0 $?
cmp -s "$T/train.keep" "$T/got.csv" && ok "... whole" || fail "weft get gave other bytes"
"$weft" submit "$T/split.yaml" --scheduler "$ep" --wait >"$T/run2.out" 2>&1
expect "a rerun succeeds" 0 $?
expect "... reusing the repaired outputs" "cache" "$(sql "$state" "SELECT source FROM tasks WHERE run_id = 2")"
finish
