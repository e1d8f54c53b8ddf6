#!/usr/bin/env bash
# Fuzzing for longer than scripts/test does: each libFuzzer target of tests/fuzz runs for
# SECONDS (default 600), one after another on one core, from the committed seeds plus the
# corpus that earlier runs kept in CORPUS_DIR/NAME (outside the repository). What a run
# finds is merged into that corpus (libFuzzer -merge=1: only inputs that add coverage), so
# the next run starts where this one stopped. Prints the machine, then per target the inputs
# executed, the coverage at the end (libFuzzer's cov: edges and ft: features) and the corpus
# size. A crash, leak or timeout is kept under CORPUS_DIR/artifacts/NAME/ with the log, and
# the script exits 1; fix it and commit the input as tests/fuzz/corpus/NAME/crash-WHAT.
#
#   bench/fuzz.sh [SECONDS] [CORPUS_DIR] [BUILD_DIR]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-600}
corpus=${2:-${XDG_CACHE_HOME:-$HOME/.cache}/weft/fuzz}
build=${3:-$root/build-fuzz}
. "$root/bench/lib.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DWEFT_FUZZ=ON >/dev/null
fi
cmake --build "$build" -j "$(nproc)" >/dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

bench_header "$secs s per target, one process, $(clang --version | head -n1), corpus $corpus"
printf '%-10s %12s %8s %6s %7s %8s %8s\n' target execs exec/s cov ft corpus new
status=0
for bin in "$build"/bin/fuzz_*; do
    name=${bin##*/fuzz_}
    seeds=$root/tests/fuzz/corpus/$name
    mkdir -p "$corpus/$name" "$corpus/artifacts/$name" "$T/$name"
    dict=()
    [ -f "$root/tests/fuzz/$name.dict" ] && dict=(-dict="$root/tests/fuzz/$name.dict")
    log=$corpus/artifacts/$name/last.log
    rc=0
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$bin" -max_total_time="$secs" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="$corpus/artifacts/$name/" "$T/$name" "$corpus/$name" "$seeds" \
        >"$log" 2>&1 || rc=$?
    before=$(find "$corpus/$name" -type f | wc -l)
    "$bin" -merge=1 "${dict[@]}" "$corpus/$name" "$T/$name" >"$T/merge.log" 2>&1 ||
        { echo "$name: merge failed:"; tail -n 20 "$T/merge.log"; status=1; }
    files=$(find "$corpus/$name" -type f | wc -l)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
    printf '%-10s %12s %8s %6s %7s %8s %8s\n' "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
        "${ft:-?}" "$files" "+$((files - before))"
    if [ "$rc" -ne 0 ]; then
        echo "$name: libFuzzer exited $rc; input and log in $corpus/artifacts/$name/:"
        grep -E 'ERROR|SUMMARY|assertion failed|Test unit written' "$log" | head -n 5
        status=1
    fi
done
exit $status
