#!/usr/bin/env bash
# weft gc: removes from the artifact store what nothing in the catalogue references, beside a
# running scheduler. A dry run lists exactly what would go and removes nothing; blobs left by
# a failed output ingestion, unfinished writes and quarantined blobs go once older than the
# grace period, younger ones stay; --expire drops finished runs' hold on their artifacts
# (cache entries keep theirs until evicted) but never a running run's; what survives still
# verifies (the next run hits the cache), and what was removed is recomputed when needed.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker g1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
store="$T/state/artifacts"
q() { sql "$T/state" "$1"; }
files() { (cd "$store" && find . -type f | sort); }
blob() { echo "./${1:0:2}/${1:2}"; }
b2() { b2sum -l 256 "$1" | cut -d' ' -f1; }
gc() { "$weft" gc --state "$T/state" "$@"; }

mkdir -p "$T/in"
seq 1 1000 >"$T/in/v1.txt"
seq 1 2000 >"$T/in/v2.txt"
seq 1 3000 >"$T/in/v3.txt"
cat >"$T/pipe.yaml" <<'YAML'
workflow: gcpipe
params:
  data: { type: file }
  gate: { type: string, default: "" }
tasks:
  double:
    type: shell
    cache: true
    with:
      argv: [sh, -c, 'awk "{print \$1 * 2}" "$IN" >"$WEFT_OUT/doubled.txt"']
      env: { IN: "${params.data}" }
      outputs_dir: true
  total:
    type: shell
    cache: true
    with:
      argv: [sh, -c, 'awk "{s+=\$1} END {print s}" "$D/doubled.txt" >"$WEFT_OUT/sum.txt"']
      env: { D: "${double.outputs.files}" }
      outputs_dir: true
  report:
    type: shell
    with:
      argv: [sh, -c, 'while [ -n "$GATE" ] && [ ! -e "$GATE" ]; do sleep 0.05; done; wc -l <"$IN"; cat "$S/sum.txt"']
      env: { IN: "${params.data}", S: "${total.outputs.files}", GATE: "${params.gate}" }
YAML
# A task whose output directory holds a symbolic link: its regular file is stored before the
# link is refused, and the task fails. That blob is referenced by nothing.
cat >"$T/leak.yaml" <<'YAML'
workflow: leak
params:
  tag: { type: string }
tasks:
  leak:
    type: shell
    with:
      argv: [sh, -c, 'echo "orphan $0" >"$WEFT_OUT/a.txt"; ln -s a.txt "$WEFT_OUT/z"', "${params.tag}"]
      outputs_dir: true
YAML
submit() { "$weft" submit "$@" --scheduler "$ep" --wait; }

submit "$T/pipe.yaml" -p data="$T/in/v1.txt" >"$T/run1.out" 2>&1
expect "run 1 (v1) succeeds" 0 $?
submit "$T/pipe.yaml" -p data="$T/in/v2.txt" >"$T/run2.out" 2>&1
expect "run 2 (v2) succeeds" 0 $?
submit "$T/leak.yaml" -p tag=old >"$T/run3.out" 2>&1
expect "run 3 (a leaking task) fails" 1 $?
expect_grep "its link is refused" "only regular files and directories can be stored" "$T/run3.out"
submit "$T/leak.yaml" -p tag=new >"$T/run4.out" 2>&1
expect "run 4 (leaks too) fails" 1 $?
echo "orphan old" >"$T/old.txt"
echo "orphan new" >"$T/new.txt"
old=$(b2 "$T/old.txt")
new=$(b2 "$T/new.txt")
expect "the leaked blobs are in the store" "yes yes" \
    "$([ -f "$store/$(blob "$old")" ] && echo yes) $([ -f "$store/$(blob "$new")" ] && echo yes)"
# Age what gc may take: the old leak, an unfinished write, a quarantined blob.
echo partial >"$store/tmp/put.crashed"
mkdir -p "$store/corrupt"
echo damaged >"$store/corrupt/0123abcd"
touch -d '2 hours ago' "$store/$(blob "$old")" "$store/tmp/put.crashed" "$store/corrupt/0123abcd"
files >"$T/before.txt"

# Bad input changes nothing.
gc --grace banana >"$T/bad1.out" 2>&1
expect "a bad duration is a usage error" 2 $?
expect_grep "and says so" "weft: --grace takes a duration such as 1h or 30d, not 'banana'" "$T/bad1.out"
gc --expire 5 >"$T/bad2.out" 2>&1
expect "a duration without a unit is refused" 2 $?
gc now >"$T/bad3.out" 2>&1
expect "an argument is refused" 2 $?
expect_grep "and named" "weft gc: unexpected argument 'now'" "$T/bad3.out"
mkdir -p "$T/nocat/artifacts/ab"
echo keep >"$T/nocat/artifacts/ab/cd"
"$weft" gc --state "$T/nocat" --grace 0s >"$T/bad4.out" 2>&1
expect "a state directory without a catalogue is refused" 2 $?
expect_grep "naming the catalogue" "weft gc: no catalogue at $T/nocat/catalog.db: No such file or directory; nothing was collected" "$T/bad4.out"
expect "its store is untouched" keep "$(cat "$T/nocat/artifacts/ab/cd")"
files >"$T/after-bad.txt"
expect "refused requests removed nothing" "" "$(diff "$T/before.txt" "$T/after-bad.txt")"

# The dry run: exactly the three old entries, the young leak kept, nothing removed.
gc --dry-run --json >"$T/dry.json"
expect "the dry run exits 0" 0 $?
expect "it lists the old leak, the partial write and the quarantined blob" \
    "blob:$old partial:tmp/put.crashed quarantined:corrupt/0123abcd" \
    "$(jq -r '[.entries[] | "\(.kind):\(.name)"] | sort | join(" ")' "$T/dry.json")"
expect "the young leak is kept by the grace period" 1 "$(jq .young "$T/dry.json")"
expect "every run and cache entry holds" "4 0 4" "$(jq -r '"\(.runs_kept) \(.runs_expired) \(.cache_entries)"' "$T/dry.json")"
gc --dry-run >"$T/dry.out"
expect_grep "the text says what would go" "^would remove: 1 unreferenced artifact \(11 B\), 1 unfinished write \(8 B\), 1 quarantined blob \(8 B\)$" "$T/dry.out"
expect_grep "and lists it" "^  blob +$old +11 B$" "$T/dry.out"
expect_grep "and what stays" "^kept: 1 unreferenced entry \(11 B\) written in the last 1h00m$" "$T/dry.out"
files >"$T/after-dry.txt"
expect "the dry run removed nothing" "" "$(diff "$T/before.txt" "$T/after-dry.txt")"
expect "and recorded nothing" 0 "$(q "SELECT count(*) FROM events WHERE kind = 'gc'")"

# The collection, while the scheduler runs.
gc --json >"$T/gc1.json"
expect "gc exits 0" 0 $?
expect "it removed the three" "1 1 1" "$(jq -r '"\(.removed.blobs) \(.removed.partial) \(.removed.quarantined)"' "$T/gc1.json")"
files >"$T/after1.txt"
expect "exactly those are gone" "$(printf '%s\n' "$(blob "$old")" ./corrupt/0123abcd ./tmp/put.crashed | sort)" \
    "$(comm -23 "$T/before.txt" "$T/after1.txt")"
expect "the collection is in the audit log" "removed 1 artifacts (11 bytes), 1 unfinished writes, 1 quarantined; 0 runs expired" \
    "$(q "SELECT detail FROM events WHERE kind = 'gc'")"
gc --json >"$T/gc2.json"
expect "a second gc finds nothing more" 0 "$(jq '.entries | length' "$T/gc2.json")"

# What stayed verifies: v2 again is all cache hits.
submit "$T/pipe.yaml" -p data="$T/in/v2.txt" >"$T/run5.out" 2>&1
expect "run 5 (v2 again) succeeds" 0 $?
expect "its cached tasks hit" "cache cache" "$(q "SELECT group_concat(source, ' ') FROM tasks WHERE run_id = 5 AND name IN ('double', 'total')")"
expect "and read the kept artifacts" "$(printf '2000\n4002000')" "$(q "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 5 AND name = 'report'")"

# Expiry beside a running run: run 6 (v3) waits at its last task; run 1's cache entries
# are evicted; --expire 0s lets every finished run go, but run 6 keeps its artifacts and
# the cache entries of v2 keep theirs.
"$weft" submit "$T/pipe.yaml" -p data="$T/in/v3.txt" -p gate="$T/gate" --scheduler "$ep" >"$T/run6.out" 2>&1
expect "run 6 is submitted" 0 $?
for _ in $(seq 100); do
    [ "$(q "SELECT state FROM tasks WHERE run_id = 6 AND name = 'report'")" = running ] && break
    sleep 0.1
done
expect "run 6 waits at report" running "$(q "SELECT state FROM tasks WHERE run_id = 6 AND name = 'report'")"
for k in $("$weft" cache ls --state "$T/state" --json | jq -r '.[] | select(.run_id == 1) | .key'); do
    "$weft" cache evict "$k" --state "$T/state" >/dev/null || fail "evict $k"
done
d1=$(q "SELECT json_extract(outputs, '\$.files.artifact') FROM tasks WHERE run_id = 1 AND name = 'double'")
t1=$(q "SELECT json_extract(outputs, '\$.files.artifact') FROM tasks WHERE run_id = 1 AND name = 'total'")
awk '{print $1 * 2}' "$T/in/v1.txt" >"$T/doubled1.txt"
echo 1001000 >"$T/sum1.txt"
v1_only=$(printf '%s\n' "$(b2 "$T/in/v1.txt")" "$d1" "$t1" "$(b2 "$T/doubled1.txt")" "$(b2 "$T/sum1.txt")" "$new" | sort | tr '\n' ' ')
gc --expire 0s --grace 0s --dry-run --json >"$T/dry2.json"
expect "with --expire 0s, the finished runs expire and run 6 holds" "1 5" "$(jq -r '"\(.runs_kept) \(.runs_expired)"' "$T/dry2.json")"
expect "only run 1's artifacts (and the young leak) would go" "$v1_only" \
    "$(jq -r '.entries[].name' "$T/dry2.json" | sort | tr '\n' ' ')"
gc --expire 0s --grace 0s >"$T/gc3.out"
expect "gc --expire exits 0" 0 $?
expect_grep "it says runs expired" "\(5 runs finished more than 0ms ago expired\)" "$T/gc3.out"
expect_grep "and what went" "^removed: 6 unreferenced artifacts" "$T/gc3.out"
touch "$T/gate"
wait_run_ended "$T/state" 6
expect "run 6, running during gc, succeeds" succeeded "$st"
expect "and read its input" "$(printf '3000\n9003000')" "$(q "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 6 AND name = 'report'")"

# What gc removed is recomputed when needed; what the cache kept is reused.
"$weft" retry 1 --scheduler "$ep" --dry-run >"$T/plan.out" 2>&1
expect_grep "a retry of run 1 knows its outputs are gone" "execute +double +its outputs from run 1 cannot be reused: artifact ${d1:0:16} is not in the store" "$T/plan.out"
submit "$T/pipe.yaml" -p data="$T/in/v1.txt" >"$T/run7.out" 2>&1
expect "run 7 (v1 again) succeeds" 0 $?
expect "its tasks were computed again" "computed computed" "$(q "SELECT group_concat(source, ' ') FROM tasks WHERE run_id = 7 AND name IN ('double', 'total')")"
expect "with the right answer" "$(printf '1000\n1001000')" "$(q "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 7 AND name = 'report'")"
submit "$T/pipe.yaml" -p data="$T/in/v2.txt" >"$T/run8.out" 2>&1
expect "run 8 (v2, kept by the cache) hits" "cache cache" "$(q "SELECT group_concat(source, ' ') FROM tasks WHERE run_id = 8 AND name IN ('double', 'total')")"
finish
