#!/usr/bin/env bash
# weft-bench-floor (bench/floor.c) runs: it times each of a link's parts (ZeroMQ plain and
# CURVE, a pipe, a durable SQLite commit in the directory given) and prints their sum, and
# refuses bad arguments with its usage. What it measures is not checked: that is a benchmark's
# job, not a test's.
. "$(dirname "$0")/lib.sh"
floor="$WEFT_BIN/weft-bench-floor"
"$floor" "$T" 50 >"$T/floor.txt" 2>&1
expect "it runs" 0 "$?"
for part in "ZeroMQ round trip, TCP loopback  " "ZeroMQ round trip, TCP loopback, CURVE" \
    "pipe round trip to another process" "SQLite commit \(WAL, synchronous=FULL\)"; do
    expect_grep "it times: $part" "$part +p50 +[0-9.]+ us +p99 +[0-9.]+ us" "$T/floor.txt"
done
expect_grep "it prints the sum" "a link cannot take less than [0-9.]+ ms \(plain TCP\) or [0-9.]+ ms \(CURVE\)" "$T/floor.txt"
expect "it leaves no file behind" "" "$(ls "$T" | grep weft-floor)"
"$floor" "$T" 5 2>"$T/usage.txt"
expect "too few rounds are refused" 2 "$?"
expect_grep "... with its usage" "usage: weft-bench-floor \[DIR\] \[ROUNDS: 10 to 1000000\]" "$T/usage.txt"
"$floor" "$T/missing/dir" 20 >/dev/null 2>"$T/nodir.txt"
expect "a directory that does not exist fails" 1 "$?"
expect_grep "... naming the file" "weft-bench-floor: $T/missing/dir/weft-floor-[0-9]+\.db" "$T/nodir.txt"
finish
