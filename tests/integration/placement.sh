#!/usr/bin/env bash
# Placement by resources and labels, through a real scheduler and two real workers with
# different capacities: a task goes only to a worker that carries its labels and whose
# free capacity covers what it asks (cpu, mem, gpu, a custom resource), never
# overcommitting any of them; a worker offers its cores and memory unless told otherwise;
# bad capacities and labels are refused with the reason.
. "$(dirname "$0")/lib.sh"
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
start_scheduler "$state" "$ep"
worker() { # NAME SLOTS FLAGS...
    local name=$1 slots=$2
    shift 2
    "$WEFT_BIN/weft-worker" --scheduler "$ep" --name "$name" --slots "$slots" \
        --plugin-path "$WEFT_PLUGIN_PATH" --work-dir "$T/work-$name" --heartbeat 200 \
        --insecure "$@" >"$T/worker-$name.log" 2>&1 &
    PIDS+=("$!")
}
# "small": 2 cores, 2G, no GPU, label size=small; "gpu": 4 cores, 8G, two (declared) GPUs
# that CUDA calls 3 and 5, pool=gpu, two glpk licenses.
worker small 4 --cpu 2 --mem 2G --gpus 0 --label size=small
CUDA_VISIBLE_DEVICES=3,5 worker gpu 4 --cpu 4 --mem 8G --gpus 2 --label pool=gpu \
    --resource license.glpk=2
wait_for_workers "$ep" 2 || exit 1

# Each shell task records when it ran: "NAME START END" in ms.
cat >"$T/place.yaml" <<YAML
workflow: place
tasks:
  three_cpu:
    type: shell
    resources: { cpu: 3 }
    with: { argv: [sh, -c, 'echo "three_cpu [\$CUDA_VISIBLE_DEVICES]" >>$T/gpus; sleep 0.3'] }
  on_gpu:
    type: shell
    resources: { gpu: 1, cpu: 0.5 }
    labels: { pool: gpu }
    with: { argv: [sh, -c, 'echo "on_gpu [\$CUDA_VISIBLE_DEVICES] [\$WEFT_GPUS]" >>$T/gpus; sleep 1'] }
  on_gpu2:
    type: shell
    resources: { gpu: 1 }
    with: { argv: [sh, -c, 'echo "on_gpu2 [\$CUDA_VISIBLE_DEVICES]" >>$T/gpus; sleep 1'] }
  both_gpus:
    type: shell
    resources: { gpu: 2 }
    needs: [on_gpu, on_gpu2]
    with: { argv: [sh, -c, 'echo "both_gpus [\$CUDA_VISIBLE_DEVICES]" >>$T/gpus'] }
YAML
for m in m1 m2 m3; do
    cat >>"$T/place.yaml" <<YAML
  $m:
    type: shell
    resources: { mem: 1G }
    labels: { size: small }
    with: { argv: [sh, -c, 'echo "m \$(date +%s%3N) start" >>$T/mem; sleep 1; echo "m \$(date +%s%3N) end" >>$T/mem'] }
YAML
done
"$weft" submit "$T/place.yaml" --scheduler "$ep" --wait --timeout 60s >"$T/out.txt" 2>&1
expect "the run succeeds" 0 $?
if grep -q warning "$T/out.txt"; then fail "a run every task of which fits was warned about"; else ok "no warning when every task fits some worker"; fi
on() { sql "$state" "SELECT group_concat(DISTINCT a.worker) FROM attempts a JOIN tasks t
                     ON t.run_id = a.run_id AND t.idx = a.idx AND t.elem = a.elem
                     WHERE t.name = '$1'"; }
expect "a 3-cpu task runs on the 4-core worker, never on the 2-core one" gpu "$(on three_cpu)"
expect "a gpu task runs on the worker with the GPU and its label" gpu "$(on on_gpu)"
g1=$(sed -n 's/^on_gpu \[\(.*\)\] \[.*\]$/\1/p' "$T/gpus") g2=$(sed -n 's/^on_gpu2 \[\(.*\)\]$/\1/p' "$T/gpus")
expect "two 1-GPU tasks at once get one GPU each, by CUDA's names" "3 5" \
    "$(printf '%s\n%s\n' "$g1" "$g2" | sort | paste -sd' ')"
expect_grep "... in WEFT_GPUS too" "^on_gpu \[$g1\] \[$g1\]$" "$T/gpus"
expect_grep "a 2-GPU task gets both" "^both_gpus \[3,5\]$" "$T/gpus"
expect_grep "a task that asks for no GPU sees none" "^three_cpu \[\]$" "$T/gpus"
expect "the 1G tasks run on the worker labelled size=small" "small,small,small" \
    "$(on m1),$(on m2),$(on m3)"
# At most two of the three 1G tasks at once on the 2G worker.
most=$(sort -k2,2n "$T/mem" | awk '$3 == "start" {n++} $3 == "end" {n--} n > m {m = n} END {print m}')
expect "three mem: 1G tasks on a 2G worker run two at a time" 2 "$most"

# Shares of a GPU: tasks asking for gpu: 0.5 share a device, two to one, and never one a
# whole-GPU task holds. Each records "NAME START END DEVICES SHARE", times in ms.
cat >"$T/share.yaml" <<YAML
workflow: share
tasks:
YAML
for t in h1:0.5 h2:0.5 h3:0.5 h4:0.5 whole:1; do
    cat >>"$T/share.yaml" <<YAML
  ${t%%:*}:
    type: shell
    resources: { gpu: ${t#*:} }
    with: { argv: [sh, -c, 's=\$(date +%s%3N); sleep 1; echo "${t%%:*} \$s \$(date +%s%3N) [\$CUDA_VISIBLE_DEVICES] [\$WEFT_GPU_SHARE]" >>$T/share'] }
YAML
done
"$weft" submit "$T/share.yaml" --scheduler "$ep" --wait --timeout 60s >"$T/share.out" 2>&1
expect "a run of GPU shares succeeds" 0 $?
expect "each share gets one device, told its share; the whole one none" \
    "h1 [0.5] h2 [0.5] h3 [0.5] h4 [0.5] whole []" \
    "$(sort "$T/share" | awk '{n = split(substr($4, 2, length($4) - 2), d, ",");
                             printf "%s %s%s ", $1, (n == 1 ? "" : "MANY"), $5}' | sed 's/ $//')"
# Per device, the most held at once in halves: at most 2 (two shares, or one whole).
most=$(awk '{d = substr($4, 2, length($4) - 2); w = ($1 == "whole") ? 2 : 1;
             print $2, d, w; print $3, d, -w}' "$T/share" | sort -k1,1n -k3,3n |
       awk '{h[$2] += $3; if (h[$2] > m) m = h[$2]} END {print m}')
expect "no device is held past its whole: two shares, or one whole-GPU task" 2 "$most"
shared=$(awk '$1 != "whole" {print $4}' "$T/share" | sort | uniq -c | awk '$1 >= 2' | wc -l)
at_least "shares pack onto a device rather than taking a whole one each" 1 "$shared"

# weft workers: what each offers and holds, its labels.
"$weft" workers --scheduler "$ep" --json >"$T/workers.json"
expect "weft workers lists both" "gpu small" "$(jq -r '[.[].name] | sort | join(" ")' "$T/workers.json")"
expect "... small offers 2 cores and 2G, labelled size=small" "2 2147483648 size=small" \
    "$(jq -r '.[] | select(.name == "small") | "\(.capacity.cpu) \(.capacity.mem) \(.labels | join(","))"' "$T/workers.json")"
expect "... gpu offers two GPUs and two licenses, holding none now" "2 2 0" \
    "$(jq -r '.[] | select(.name == "gpu") | "\(.capacity.gpu) \(.capacity["license.glpk"]) \(.used.gpu)"' "$T/workers.json")"
"$weft" workers --scheduler "$ep" >"$T/workers.txt"
expect_grep "the table shows what gpu holds of what it offers" \
    "^gpu +0/4 +0/4 +0/8G +0/2 .*license.glpk 0/2, pool=gpu" "$T/workers.txt"
"$weft" workers --state "$state" >"$T/workers-local.txt" 2>&1
expect "weft workers without a scheduler fails (usage)" 2 "$?"
expect_grep "... saying it needs one" "not available without a scheduler" "$T/workers-local.txt"
"$weft" workers gpu --scheduler "$ep" >"$T/workers-arg.txt" 2>&1
expect "weft workers refuses an argument" 2 "$?"
expect_grep "... saying it takes none" "workers takes no arguments" "$T/workers-arg.txt"

# A task no connected worker could run says why, in weft status and in the run's events.
cat >"$T/never.yaml" <<'YAML'
workflow: never
tasks:
  four_gpus: { type: noop, resources: { gpu: 4 } }
  tpu: { type: noop, labels: { pool: tpu } }
YAML
run=$("$weft" submit "$T/never.yaml" --scheduler "$ep" --json 2>"$T/never.err" |
    sed -n 's/.*"run": \([0-9]*\).*/\1/p')
expect_grep "the submit warns that no registered worker could run four_gpus" \
    "warning: run $run task 'four_gpus': no worker offers gpu: 4 \(largest: 2\)" "$T/never.err"
expect_grep "... nor tpu" "warning: run $run task 'tpu': no worker running noop carries label pool=tpu" \
    "$T/never.err"
expect "... and records it" 2 \
    "$(sql "$state" "SELECT count(*) FROM events WHERE run_id = $run AND kind = 'unplaceable'")"
for _ in $(seq 100); do
    [ "$(sql "$state" "SELECT count(*) FROM events WHERE run_id = $run AND kind = 'waiting'")" -ge 2 ] && break
    sleep 0.1
done
expect_grep "the event says no worker offers 4 GPUs, and the most any offers" \
    "four_gpus\|waiting\|no worker offers gpu: 4 \(largest: 2\)" \
    <(sql "$state" "SELECT task, kind, detail FROM events WHERE run_id = $run")
expect_grep "... and that no worker carries the label" \
    "tpu\|waiting\|no worker running noop carries label pool=tpu" \
    <(sql "$state" "SELECT task, kind, detail FROM events WHERE run_id = $run")
"$weft" status "$run" --scheduler "$ep" >"$T/status.txt" 2>&1
expect_grep "weft status shows why four_gpus waits" \
    "four_gpus +noop +ready .*waiting: no worker offers gpu: 4 \(largest: 2\)" "$T/status.txt"
expect_grep "... and why tpu waits" "waiting: no worker running noop carries label pool=tpu" \
    "$T/status.txt"
"$weft" cancel "$run" --scheduler "$ep" >/dev/null

# A worker's flags are checked, and so is what it offers.
"$WEFT_BIN/weft-worker" --scheduler "$ep" --cpu 0.0001 >"$T/bad-cpu.txt" 2>&1
expect "a worker refuses --cpu finer than a thousandth of a core" 2 "$?"
expect_grep "... saying what it wants" "bad resource cpu=0.0001" "$T/bad-cpu.txt"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --label "zone" >"$T/bad-label.txt" 2>&1
expect "a worker refuses a label without a value" 2 "$?"
expect_grep "... saying what it wants" "bad label 'zone' \(KEY=VALUE" "$T/bad-label.txt"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --resource "Disk=3" >"$T/bad-res.txt" 2>&1
expect "a worker refuses an upper-case resource name" 2 "$?"
expect_grep "... naming it" "bad resource Disk=3" "$T/bad-res.txt"
CUDA_VISIBLE_DEVICES=0 "$WEFT_BIN/weft-worker" --scheduler "$ep" --insecure --gpus 2 \
    --work-dir "$T/work-twogpus" >"$T/bad-gpus.txt" 2>&1
expect "a worker refuses --gpus that CUDA_VISIBLE_DEVICES contradicts" 1 "$?"
expect_grep "... saying both" "--gpus 2, but CUDA_VISIBLE_DEVICES names 1 \(0\)" "$T/bad-gpus.txt"

# A registration offering a malformed resource or label is refused, naming it.
"$WEFT_BIN/weft-testpeer" "$ep" offer odd Disk=3 pool=a >"$T/reg1.txt"
expect_grep "a worker offering an upper-case resource is refused" \
    "refused: resource name 'Disk' is not lowercase" "$T/reg1.txt"
"$WEFT_BIN/weft-testpeer" "$ep" offer odd disk=3 zone >"$T/reg2.txt"
expect_grep "a worker with a label that is not KEY=VALUE is refused" \
    "refused: label 'zone' is not KEY=VALUE" "$T/reg2.txt"
expect "refused workers have no row" 0 "$(sql "$state" "SELECT count(*) FROM workers WHERE name = 'odd'")"
finish
