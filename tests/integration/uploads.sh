#!/usr/bin/env bash
# Remote submits never read the scheduler's disk: a path parameter from a remote client that
# did not upload it is refused with the reason, and nothing is read or stored; weft submit
# uploads file and dir parameters (relative to its own directory) in chunks, a project's
# blob is not sent twice, an upload resumes where it stopped, and a chunk whose blob does
# not match its hash is refused.
. "$(dirname "$0")/lib.sh"
ep="tcp://127.0.0.1:$(free_port)"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker u1 "$ep" 1
wait_for_workers "$ep" 1 || exit 1
blobs() { find "$state/artifacts" -path '*/tmp' -prune -o -type f ! -name store-id -print | grep -vc /corrupt/; }

# The attack: a relative path with a claimed working directory of /etc.
cat >"$T/steal.yaml" <<'YAML'
workflow: steal
params:
  f: { type: file, default: passwd }
tasks:
  t: { type: shell, with: { argv: [cat, "${params.f}"] } }
YAML
"$WEFT_BIN/weft-testpeer" "$ep" submit-file "$T/steal.yaml" >"$T/steal.txt" 2>&1
expect_grep "a remote path parameter is refused" \
    "parameter 'f': passwd is a path on the client's machine, which a remote client uploads" \
    "$T/steal.txt"
expect "nothing was recorded" 0 "$(sql "$state" "SELECT count(*) FROM runs")"
expect "nothing was stored" 0 "$(blobs)"

# weft submit uploads a file and a directory named relative to its own directory.
mkdir -p "$T/client/in/sub"
head -c 3000000 /dev/urandom >"$T/client/in/big.bin"
echo "hello" >"$T/client/in/sub/a.txt"
cat >"$T/client/up.yaml" <<'YAML'
workflow: up
params:
  f: { type: file, default: in/big.bin }
  d: { type: dir, default: in }
tasks:
  t:
    type: shell
    with:
      argv: [sh, -c, 'sha256sum < "$F" | cut -c1-64; cat "$D/sub/a.txt"']
      env: { F: "${params.f}", D: "${params.d}" }
YAML
(cd "$T/client" && "$weft" submit up.yaml --scheduler "$ep" --wait >"$T/up1.txt" 2>&1)
expect "the run with uploaded files succeeds" 0 "$?"
want=$(sha256sum <"$T/client/in/big.bin" | cut -c1-64)
expect "the task read the uploaded file and directory" "$want hello" \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = 1" | tr '\n' ' ' | sed 's/ $//')"
uploads=$(grep -c "stored for project default" "$T/scheduler.log")
expect "three blobs went up: the file, the directory's file, its manifest" 3 "$uploads"
(cd "$T/client" && "$weft" submit up.yaml --scheduler "$ep" --wait >/dev/null 2>&1) || fail "second run"
expect "a second submit sends nothing again" 3 "$(grep -c "stored for project default" "$T/scheduler.log")"
(cd "$T/client" && "$weft" submit up.yaml --project other --scheduler "$ep" --wait >/dev/null 2>&1) ||
    fail "run in project other"
expect "another project uploads its own" 3 "$(grep -c "stored for project other" "$T/scheduler.log")"
(cd "$T/client" && "$weft" submit up.yaml -p f=/nonexistent/x.bin --scheduler "$ep" >"$T/missing.txt" 2>&1)
expect "a missing local file fails the submit" 2 "$?"
expect_grep "... naming the parameter and the path" \
    "up.yaml:1:1: -p f: /nonexistent/x.bin: No such file or directory" "$T/missing.txt"

# Resumable: a client that stopped after the first MiB is taken up from there.
head -c 2500000 /dev/urandom >"$T/client/in/part.bin"
"$WEFT_BIN/weft-testpeer" "$ep" upload "$T/client/in/part.bin" 1048576 >"$T/part.txt"
expect_grep "the first chunk is taken" '^0 \{"have": ?1048576, ?"stored": ?false\}' "$T/part.txt"
(cd "$T/client" && "$weft" submit up.yaml -p f=in/part.bin --scheduler "$ep" --wait >/dev/null 2>&1) ||
    fail "submit after a partial upload"
expect_grep "the client resumed at the first MiB" "the sender resumes at 1048576 bytes" "$T/scheduler.log"
run=$(sql "$state" "SELECT max(id) FROM runs")
expect "the resumed blob is whole" "$(sha256sum <"$T/client/in/part.bin" | cut -c1-64)" \
    "$(sql "$state" "SELECT json_extract(outputs, '\$.stdout') FROM tasks WHERE run_id = $run" | head -n 1)"

# A blob whose content does not match the hash announced is refused, and not stored.
before=$(blobs)
printf 'abc' >"$T/small.txt"
"$WEFT_BIN/weft-testpeer" "$ep" upload-corrupt "$T/small.txt" 3 >"$T/corrupt.txt"
expect_grep "a blob that does not match its hash is refused" "^-12 .*the content's hash is" "$T/corrupt.txt"
expect "and not stored" "$before" "$(blobs)"
head -c 1100000 /dev/zero >"$T/chunk.bin"
"$WEFT_BIN/weft-testpeer" "$ep" upload "$T/chunk.bin" 1100000 >"$T/chunk.txt"
expect_grep "a chunk over 1 MiB is refused" "a piece of a blob is at most 1 MiB" "$T/chunk.txt"
finish
