#!/usr/bin/env bash
# The long mode of the deterministic simulation: many seeds of the run state machine under
# random faults (CI runs seeds 1-3). A failing seed prints itself; replay it with
# build/bin/weft-sim --seed N (add WEFT_SIM_TRACE=1 for every event and effect).
#
#   bench/sim-seeds.sh [BUILD_DIR] [FIRST_SEED] [SEEDS] [STEPS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
first=${2:-100}
seeds=${3:-200}
steps=${4:-100000}
. "$root/bench/lib.sh"
bench_header "weft-sim, $seeds seeds of $steps steps"
start=$(date +%s)
"$build/bin/weft-sim" --seed "$first" --seeds "$seeds" --steps "$steps" | tail -n 3
echo "$seeds seeds x $steps steps passed in $(($(date +%s) - start)) s"
