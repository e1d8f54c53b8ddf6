#!/usr/bin/env bash
# weft-bench-rows (bench/rows.c) runs: it writes a run's rows through the catalogue, as the
# scheduler does, once for each turn size, prints what they cost a task, leaves no catalogue
# behind, and refuses bad arguments, saying which. What it measures is not checked (that
# is a benchmark's job, not a test's), beyond its being more than nothing.
. "$(dirname "$0")/lib.sh"
rows="$WEFT_BIN/weft-bench-rows"
"$rows" "$T" 60 1 7 60 >"$T/rows.txt" 2>&1
expect "it runs" 0 "$?"
expect_grep "it names the run" "a run of 60 no-op tasks" "$T/rows.txt"
expect_grep "it times the run's creation" "the run's creation, in one turn: +[0-9.]+ us CPU a task" \
    "$T/rows.txt"
for turn in 1 7 60; do
    expect_grep "it times turns of $turn" \
        "dispatch and result, +$turn a turn: +[0-9.]+ us CPU a task \( *[0-9.]+ us wall\)" \
        "$T/rows.txt"
done
cpu=$(sed -n 's/.*  1 a turn: *\([0-9.]*\) us CPU.*/\1/p' "$T/rows.txt")
expect "a turn's commit costs some CPU" 1 "$(awk -v c="${cpu:-0}" 'BEGIN { print (c > 0) }')"
expect "it leaves no catalogue behind" "" "$(ls "$T" | grep weft-bench-rows)"
"$rows" "$T" 0 2>"$T/usage.txt"
expect "no tasks is refused" 2 "$?"
expect_grep "... with its usage" "usage: weft-bench-rows \[DIR\] \[TASKS: 1 to 1000000\] \[TURN...\]" \
    "$T/usage.txt"
"$rows" "$T" 10 20 >"$T/turn.out" 2>"$T/turn.txt"
expect "a turn larger than the run is refused" 2 "$?"
expect_grep "... saying so" "weft-bench-rows: a turn of 20 tasks \(1 to 10\)" "$T/turn.txt"
expect "... before it prints anything" "" "$(cat "$T/turn.out")"
for bad in "10x" "-5" ""; do
    "$rows" "$T" "$bad" 2>"$T/usage.txt"
    expect "tasks '$bad' are refused" 2 "$?"
    expect_grep "... with its usage" "usage: weft-bench-rows" "$T/usage.txt"
done
for bad in 0 x 2.5; do
    "$rows" "$T" 10 1 "$bad" >/dev/null 2>"$T/turn.txt"
    expect "a turn of '$bad' is refused" 2 "$?"
    expect_grep "... naming it" "weft-bench-rows: a turn of $bad tasks \(1 to 10\)" "$T/turn.txt"
done
"$rows" "$T" 20 $(seq 1 17) >/dev/null 2>"$T/many.txt"
expect "more than 16 turn sizes are refused" 2 "$?"
expect_grep "... saying so" "weft-bench-rows: at most 16 turn sizes" "$T/many.txt"
touch "$T/plain"
"$rows" "$T/plain" 10 >/dev/null 2>"$T/plain.txt"
expect "a file for the directory fails" 1 "$?"
expect_grep "... naming it" "weft-bench-rows: $T/plain: not a directory" "$T/plain.txt"
"$rows" "$T/missing" 10 >/dev/null 2>"$T/nodir.txt"
expect "a directory that does not exist fails" 1 "$?"
expect_grep "... naming it" "weft-bench-rows: $T/missing: No such file or directory" "$T/nodir.txt"
expect "... and is not made" "" "$(ls "$T" | grep missing)"
finish
