#!/usr/bin/env bash
# weft get: a task's directory output written out from the local catalogue and from a
# scheduler over TCP (its blobs downloaded and verified), equal to what the task wrote;
# values as JSON; an existing path never overwritten; an unknown task or output refused
# with the names there are; a blob damaged in the scheduler's store refused, not written.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker w1 "$ep" 2
wait_for_workers "$ep" 1 || exit 1

src="$T/src"
mkdir -p "$src/sub"
echo "hello from a task" >"$src/a.txt"
head -c 3000000 /dev/urandom >"$src/sub/b.bin"
chmod 755 "$src/sub"
cat >"$T/make.yaml" <<EOF
workflow: make
tasks:
  make:
    type: shell
    with: { argv: [sh, -c, 'cp -r "$src/." "\$WEFT_OUT/" && echo made'], outputs_dir: true }
EOF
"$weft" submit "$T/make.yaml" --scheduler "$ep" --wait >/dev/null || fail "run"
run=$(sql "$state" "SELECT max(id) FROM runs")
cd "$T" || exit 1

"$weft" get "$run/make/files" -o out-remote --scheduler "$ep" >get-remote.out 2>&1
expect "weft get from a scheduler over TCP (exit)" 0 "$?"
expect "... writes the directory as the task made it" "" "$(diff -r "$src" out-remote 2>&1)"
expect_grep "... and says so" "wrote out-remote \(dir, [0-9]+ bytes, verified\)" get-remote.out
expect "... its files writable copies, not links into the store" "1 yes" \
    "$(stat -c '%h' out-remote/a.txt) $([ -w out-remote/a.txt ] && echo yes)"
"$weft" get "$run/make/files" -o out-local --state "$state" >/dev/null 2>&1
expect "weft get from the local catalogue (exit)" 0 "$?"
expect "... writes the same directory" "" "$(diff -r "$src" out-local 2>&1)"
expect "a value prints as JSON" made "$("$weft" get "$run/make/stdout" --scheduler "$ep" | jq -r .)"
expect "without an output, the task's outputs" "0 dir" \
    "$("$weft" get "$run/make" --scheduler "$ep" | jq -r '"\(.exit_code) \(.files.kind)"')"

out=$("$weft" get "$run/make/files" -o out-remote --scheduler "$ep" 2>&1); rc=$?
expect "an existing path is not overwritten (exit)" 2 "$rc"
expect_text "... and the reason is given" "out-remote exists; give another path with -o" "$out"
out=$("$weft" get "$run/make/model" --scheduler "$ep" 2>&1); rc=$?
expect "an unknown output is refused (exit)" 2 "$rc"
expect_text "... with the outputs there are" "has no output 'model'; its outputs: .*files" "$out"
out=$("$weft" get "$run/nosuch/files" --scheduler "$ep" 2>&1); rc=$?
expect "an unknown task is refused (exit)" 2 "$rc"
expect_text "... by name" "run $run has no task 'nosuch'" "$out"
out=$("$weft" get "$run" --scheduler "$ep" 2>&1); rc=$?
expect "a spec without a task is refused (exit)" 2 "$rc"

# A blob of the directory damaged in the scheduler's store: refused, nothing written.
hex=$(sha=$(b2sum -l 256 "$src/sub/b.bin" | cut -d' ' -f1); echo "$sha")
blob="$state/artifacts/${hex:0:2}/${hex:2}"
if [ -f "$blob" ]; then
    chmod u+w "$blob"
    # One byte changed for certain (the file is random: writing a fixed byte may not be).
    byte=$(od -An -tu1 -j100 -N1 "$blob" | tr -d ' ')
    printf "\\$(printf '%03o' $(((byte + 1) % 256)))" |
        dd of="$blob" bs=1 seek=100 conv=notrunc 2>/dev/null
    expect "the blob is damaged" yes \
        "$([ "$(b2sum -l 256 "$blob" | cut -d' ' -f1)" != "$hex" ] && echo yes)"
    out=$("$weft" get "$run/make/files" -o out-damaged --scheduler "$ep" 2>&1); rc=$?
    at_least "a damaged blob is refused (exit)" 1 "$rc"
    expect_text "... naming the damage" "corrupt|damaged|does not match" "$out"
    expect "... and no file of it is left" "" "$(ls out-damaged/sub/b.bin 2>/dev/null)"
else
    fail "the blob of b.bin is not at $blob"
fi
