#!/usr/bin/env bash
# Files travel as content-addressed artifacts: a file parameter is stored when the run is
# submitted (its hash is BLAKE2b-256 of its bytes, as b2sum computes it), tasks get a
# verified read-only local path, a task's output directory becomes a dir artifact read by
# the next task, and a blob damaged on disk is detected when read: the task fails naming
# the artifact instead of using the bad bytes, and the blob is moved aside.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
start_scheduler "$T/state" "$ep"
start_worker a1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1
store="$T/state/artifacts"

mkdir -p "$T/data"
seq 1 5000 >"$T/data/numbers.txt"
cat >"$T/pipe.yaml" <<'YAML'
workflow: artifacts
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
cd "$T/data" || exit 1
"$weft" submit "$T/pipe.yaml" -p numbers=numbers.txt --scheduler "$ep" --wait >"$T/run1.out" 2>&1
expect "a relative -p path is taken from the client's directory" 0 $?
cd "$T" || exit 1
want=$(b2sum -l 256 "$T/data/numbers.txt" | cut -d' ' -f1)
"$weft" status 1 --scheduler "$ep" --json >"$T/status1.json"
got=$(jq -r '.params.numbers.artifact' "$T/status1.json")
expect "the parameter is an artifact whose hash is BLAKE2b-256 of the file" "$want" "$got"
expect "its blob is in the store, read-only, its owner's alone" "-r--------" \
    "$(stat -c %A "$store/${want:0:2}/${want:2}")"
expect "the dir artifact reached the next task as a local directory" \
    "part-aa part-ab part-ac part-ad part-ae sub 12502500" \
    "$(jq -r '.tasks[] | select(.name == "total") | .outputs.stdout' "$T/status1.json")"
kind=$(jq -r '.tasks[] | select(.name == "split") | .outputs.files.kind' "$T/status1.json")
expect "split's files output is a dir artifact" dir "$kind"
no_paths=$(jq -r '[.tasks[].inputs | .. | strings | select(test("/data/numbers.txt"))] | length' \
    "$T/status1.json")
expect "no task input holds the client's path" 0 "$no_paths"

# A file that is not there is refused at submit with the parameter named; nothing runs.
"$weft" submit "$T/pipe.yaml" -p numbers=/nonexistent/x.txt --scheduler "$ep" >"$T/bad.out" 2>&1
expect "a missing file is a validation error" 2 $?
expect_grep "the message names the parameter and the path" \
    "pipe.yaml:1:1: -p numbers: /nonexistent/x.txt: No such file or directory" "$T/bad.out"
"$weft" submit "$T/pipe.yaml" -p numbers="$T/data" --scheduler "$ep" >"$T/bad2.out" 2>&1
expect_grep "a directory where a file is expected is refused" "expected a regular file" "$T/bad2.out"
expect "no run was created for either" 1 "$(sql "$T/state" "SELECT count(*) FROM runs")"

# Damage a blob between its producer and its reader: the reader fails naming the artifact,
# and the damaged blob is moved to corrupt/.
cat >"$T/damage.yaml" <<'YAML'
workflow: damage
params:
  numbers: { type: file }
tasks:
  damage:
    type: shell
    with:
      argv: [sh, -c, 'chmod u+w "$IN" && echo tampered >>"$IN"']
      env: { IN: "${params.numbers}" }
  read:
    type: shell
    needs: [damage]
    with:
      argv: [sh, -c, 'wc -l <"$IN"']
      env: { IN: "${params.numbers}" }
YAML
"$weft" submit "$T/damage.yaml" -p numbers="$T/data/numbers.txt" --scheduler "$ep" --wait \
    >"$T/damage.out" 2>&1
expect "the run fails" 1 $?
sql "$T/state" "SELECT error FROM tasks WHERE run_id = 2 AND name = 'read'" >"$T/read-error.txt"
expect_grep "the reader failed on the damaged artifact, named" \
    "^shell: env 'IN': the artifact cannot be read: artifact ${want:0:16} is corrupt \(its content hashes to [0-9a-f]{16}\); moved to .*/corrupt/$" \
    "$T/read-error.txt"
expect "the damaged blob was moved aside" 1 "$(ls "$store/corrupt" | grep -c "^$want$")"
expect "and is no longer in place" 1 "$([ -e "$store/${want:0:2}/${want:2}" ]; echo $?)"

# Submitting the same file again stores it afresh.
"$weft" submit "$T/pipe.yaml" -p numbers="$T/data/numbers.txt" --scheduler "$ep" --wait \
    >"$T/run3.out" 2>&1
expect "the next run re-stores the file and succeeds" 0 $?
expect "the blob is back, intact" "$want" \
    "$(b2sum -l 256 "$store/${want:0:2}/${want:2}" | cut -d' ' -f1)"

# A command that replaces its outputs directory by a link (to /etc) stores nothing of it.
cat >"$T/link.yaml" <<'YAML'
workflow: link
tasks:
  sneak:
    type: shell
    with:
      argv: [sh, -c, 'rmdir "$WEFT_OUT" && ln -s /etc "$WEFT_OUT"']
      outputs_dir: true
YAML
"$weft" submit "$T/link.yaml" --scheduler "$ep" --wait >"$T/link.out" 2>&1
expect "the run whose outputs directory became a link fails" 1 $?
expect_grep "... saying why" "output 'files': its staging path was replaced by a symbolic link; refused" \
    <(sql "$T/state" "SELECT error FROM tasks WHERE run_id = 4")
finish
