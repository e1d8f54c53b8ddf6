#!/usr/bin/env bash
# Memoization: a second run of a cached pipeline reuses every task; changing one input file
# re-executes only the tasks whose inputs changed (keys differ by that file's hash); bumping
# a task's cache version re-executes that task; identical tasks in flight run once; a cached
# output damaged on disk is detected at lookup and its producer runs again; cache explain
# names the changed component.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker m1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
store="$T/state/artifacts"
src() { sql "$T/state" "SELECT coalesce(source, '-') FROM tasks WHERE run_id = $1 AND name = '$2'"; }

mkdir -p "$T/in"
seq 1 100 >"$T/in/a.txt"
seq 1 200 >"$T/in/b.txt"
write_pipeline() {
    cat >"$T/pipe.yaml" <<YAML
workflow: memo
params:
  a: { type: file, default: $T/in/a.txt }
  b: { type: file, default: $T/in/b.txt }
defaults:
  cache: true
tasks:
  pa:
    type: shell
    cache: { version: "$1" }
    with:
      argv: [sh, -c, 'awk "{s+=\\\$1} END {print s}" "\$IN" >"\$WEFT_OUT/sum.txt"; cat "\$WEFT_OUT/sum.txt"']
      env: { IN: "\${params.a}" }
      outputs_dir: true
  pb:
    type: shell
    with:
      argv: [sh, -c, 'wc -l <"\$IN"']
      env: { IN: "\${params.b}" }
  join:
    type: shell
    with:
      argv: [sh, -c, 'echo "\$(cat "\$SUMS/sum.txt") \$0"', "\${pb.outputs.stdout}"]
      env: { SUMS: "\${pa.outputs.files}" }
YAML
}
write_pipeline 1
run() { "$weft" submit "$T/pipe.yaml" --scheduler "$ep" --wait >"$T/run$1.out" 2>&1; }

run 1
expect "run 1 succeeds" 0 $?
expect "run 1 computes everything" "computed computed computed" "$(src 1 pa) $(src 1 pb) $(src 1 join)"
expect "join's result" "5050 200" "$(sql "$T/state" "SELECT json_extract(outputs, '$.stdout') FROM tasks WHERE run_id = 1 AND name = 'join'")"

run 2
expect "run 2 reuses everything" "cache cache cache" "$(src 2 pa) $(src 2 pb) $(src 2 join)"
expect "no attempt was made in run 2" 0 "$(sql "$T/state" "SELECT count(*) FROM attempts WHERE run_id = 2")"
expect "each hit points at run 1" "1 1 1" "$(sql "$T/state" "SELECT group_concat(source_run, ' ') FROM tasks WHERE run_id = 2")"
expect_grep "the run says where outputs came from" "succeeded  pa: reused \(cache\): computed by run 1, task pa" "$T/run2.out"

# Change one input file: pb and join re-execute, pa is reused.
seq 1 300 >"$T/in/b.txt"
run 3
expect "after b changes: pa reused, pb and join computed" "cache computed computed" "$(src 3 pa) $(src 3 pb) $(src 3 join)"
"$weft" cache explain 3 pb --state "$T/state" >"$T/explain.txt"
old=$(sql "$T/state" "SELECT substr(json_extract(params, '$.b.artifact'), 1, 16) FROM runs WHERE id = 1")
new=$(b2sum -l 256 "$T/in/b.txt" | cut -c1-16)
expect_grep "explain names the input and both content hashes" "changed  input 'env'.IN: artifact $old -> artifact $new" "$T/explain.txt"
"$weft" cache explain 3 pa --state "$T/state" --json >"$T/explain-pa.json"
expect "explain reports pa's hit" hit "$(jq -r .verdict "$T/explain-pa.json")"

# Bump pa's cache version: pa re-executes (same result), join's inputs are unchanged: reused.
write_pipeline 2
run 4
expect "after the version bump: pa computed, pb and join reused" "computed cache cache" "$(src 4 pa) $(src 4 pb) $(src 4 join)"
"$weft" cache explain 4 pa --state "$T/state" >"$T/explain-v.txt"
expect_grep "explain names the cache version" 'changed  cache_version: "1" -> "2"' "$T/explain-v.txt"

# Damage the blob of pa's output file: the next lookup finds it, drops the entry, and pa
# runs again (restoring the blob); the damaged bytes are never used.
manifest=$(sql "$T/state" "SELECT json_extract(outputs, '$.files.artifact') FROM tasks WHERE run_id = 4 AND name = 'pa'")
blob=$(jq -r '.entries[] | select(.path == "sum.txt") | .hash' "$store/${manifest:0:2}/${manifest:2}")
chmod u+w "$store/${blob:0:2}/${blob:2}" && echo 9999 >"$store/${blob:0:2}/${blob:2}"
run 5
expect "run 5 succeeds" 0 $?
expect "pa re-executed instead of using the damaged output" "computed" "$(src 5 pa)"
expect "the damaged blob was moved aside" 1 "$(ls "$store/corrupt" | grep -c "^$blob$")"
expect "the blob is whole again" "5050" "$(cat "$store/${blob:0:2}/${blob:2}")"
expect "join still read the right sum" "5050 300" "$(sql "$T/state" "SELECT json_extract(outputs, '$.stdout') FROM tasks WHERE run_id = 5 AND name = 'join'")"
expect "the event names the dropped entry" 1 "$(sql "$T/state" "SELECT count(*) FROM events WHERE run_id = 5 AND kind = 'cache_invalid' AND detail LIKE '%is corrupt%'")"

# Identical tasks in flight run once: two in one run, plus the same in a concurrent run.
cat >"$T/twins.yaml" <<'YAML'
workflow: twins
tasks:
  x: { type: shell, cache: true, with: { argv: [sh, -c, 'sleep 0.5; echo once'] } }
  y: { type: shell, cache: true, with: { argv: [sh, -c, 'sleep 0.5; echo once'] } }
YAML
"$weft" submit "$T/twins.yaml" --scheduler "$ep" --wait >/dev/null 2>&1 &
first=$!
"$weft" submit "$T/twins.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
wait "$first"
expect "four identical tasks, one attempt" 1 "$(sql "$T/state" "SELECT count(*) FROM attempts a JOIN runs r ON r.id = a.run_id JOIN workflows w ON w.id = r.workflow_id WHERE w.name = 'twins'")"
expect "the other three took its outputs" "3" "$(sql "$T/state" "SELECT count(*) FROM tasks t JOIN runs r ON r.id = t.run_id JOIN workflows w ON w.id = r.workflow_id WHERE w.name = 'twins' AND t.source IN ('in-flight', 'cache') AND t.outputs LIKE '%once%'")"

# The cache listing, one entry, and eviction.
"$weft" cache ls --state "$T/state" --workflow memo --json >"$T/ls.json"
# pa (versions 1 and 2), pb and join (for b of 200 and 300 lines).
expect "ls lists memo's entries" 6 "$(jq length "$T/ls.json")"
key=$(jq -r '.[0].key' "$T/ls.json")
"$weft" cache show "${key:0:12}" --state "$T/state" >"$T/show.json"
expect "show finds an entry by key prefix" "$key" "$(jq -r .key "$T/show.json")"
"$weft" cache show ffffffffffff --state "$T/state" >"$T/show-bad.out" 2>&1
expect "show of an unknown key exits 2" 2 $?
expect_grep "and says so" "no cache entry matches 'ffffffffffff'" "$T/show-bad.out"
"$weft" cache evict --state "$T/state" >"$T/evict-bad.out" 2>&1
expect "evict without a selection is refused" 2 $?
"$weft" cache explain 1 nosuch --state "$T/state" >"$T/explain-bad.out" 2>&1
expect_grep "explain of an unknown task names it" "run 1 has no task 'nosuch'" "$T/explain-bad.out"
"$weft" cache evict --workflow memo --state "$T/state" >"$T/evict.out"
expect_grep "evict reports the count" "^evicted 6 cache entries$" "$T/evict.out"
run last
last=$(sql "$T/state" "SELECT max(id) FROM runs"); cat "$T/runlast.out"
expect "after eviction everything is computed again" "computed computed computed" "$(src "$last" pa) $(src "$last" pb) $(src "$last" join)"
finish
