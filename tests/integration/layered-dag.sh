#!/usr/bin/env bash
# A real scheduler and two real workers on TCP loopback run a 200-task layered DAG
# submitted through the CLI. The catalogue must show every task ran exactly once, after all
# of its parents, on one of the two workers, and data passed along every edge.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
start_worker alpha "$ep" 2
start_worker beta "$ep" 2
wait_for_workers "$ep" 2 || exit 1

# 10 layers of 20 echo tasks; each task below the first layer reads the output of 2 or 3
# tasks of the layer above (chosen with a fixed seed), so the edges come from data.
wf="$T/layered.yaml"
RANDOM=42
{
    echo "workflow: layered"
    echo "tasks:"
    for l in $(seq 0 9); do
        for i in $(seq 0 19); do
            if [ "$l" -eq 0 ]; then
                echo "  t${l}_$i: { type: echo, with: { v: \"$l.$i\" } }"
            else
                p=$((l - 1)) a=$((RANDOM % 20)) b=$((RANDOM % 20)) c=$((RANDOM % 20))
                extra=""
                [ $((RANDOM % 2)) -eq 0 ] && extra=", c: \"\${t${p}_$c.outputs.v}\"" &&
                    echo "t${l}_$i|t${p}_$c" >>"$T/edges.expected"
                printf 't%s_%s|t%s_%s\n' "$l" "$i" "$p" "$a" "$l" "$i" "$p" "$b" \
                    >>"$T/edges.expected"
                echo "  t${l}_$i: { type: echo, with: { v: \"$l.$i<\${t${p}_$a.outputs.v}\", w: \"\${t${p}_$b.outputs.v}\"$extra } }"
            fi
        done
    done
} >"$wf"

"$weft" validate "$wf" >/dev/null || fail "the generated workflow does not validate"
"$weft" submit "$wf" --scheduler "$ep" --wait >"$T/submit.out" 2>&1
expect "submit --wait exits 0" 0 $?
run=$(sed -n 's/^run \([0-9]*\) submitted$/\1/p' "$T/submit.out")
[ -n "$run" ] || fail "no run id in: $(cat "$T/submit.out")"

expect "run state" succeeded "$(sql "$state" "SELECT state FROM runs WHERE id = $run")"
expect "tasks in the run" 200 "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = $run")"
expect "tasks succeeded" 200 "$(sql "$state" "SELECT count(*) FROM tasks WHERE run_id = $run AND state = 'succeeded'")"
expect "attempts (each task exactly once)" 200 "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = $run")"
expect "tasks with more than one attempt" 0 "$(sql "$state" "SELECT count(*) FROM (SELECT idx FROM attempts WHERE run_id = $run GROUP BY idx HAVING count(*) <> 1)")"
expect "attempts on an unknown worker" 0 "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = $run AND worker NOT IN ('alpha', 'beta')")"
expect "workers used" 2 "$(sql "$state" "SELECT count(DISTINCT worker) FROM attempts WHERE run_id = $run")"
expect "every edge recorded, and no other ($(LC_ALL=C sort -u "$T/edges.expected" | wc -l))" \
    "$(LC_ALL=C sort -u "$T/edges.expected")" "$(sql "$state" "
    SELECT c.name || '|' || p.name FROM edges e
    JOIN tasks p ON p.run_id = e.run_id AND p.idx = e.parent
    JOIN tasks c ON c.run_id = e.run_id AND c.idx = e.child
    WHERE e.run_id = $run" | LC_ALL=C sort)"
# Ordering, on the scheduler's clock (a child is dispatched only after its parent's result
# was recorded) and on the workers' clock (a child starts after its parent finished).
expect "children dispatched before a parent finished" 0 "$(sql "$state" "
    SELECT count(*) FROM edges e
    JOIN tasks p ON p.run_id = e.run_id AND p.idx = e.parent
    JOIN tasks c ON c.run_id = e.run_id AND c.idx = e.child
    WHERE e.run_id = $run AND c.started_us < p.finished_us")"
expect "children started before a parent ended (worker clock)" 0 "$(sql "$state" "
    SELECT count(*) FROM edges e
    JOIN attempts p ON p.run_id = e.run_id AND p.idx = e.parent
    JOIN attempts c ON c.run_id = e.run_id AND c.idx = e.child
    WHERE e.run_id = $run AND c.started_us < p.finished_us")"
# Data flowed: the last layer's value embeds its first parent's value.
v=$(sql "$state" "SELECT json_extract(outputs, '$.v') FROM tasks WHERE run_id = $run AND name = 't9_0'")
case "$v" in 9.0\<8.*) ok "data passed along edges ($v)" ;; *) fail "unexpected output of t9_0: $v" ;; esac
expect "an event per transition (ready, dispatched, succeeded)" 1 "$(sql "$state" "SELECT count(*) >= 600 FROM events WHERE run_id = $run")"
finish
