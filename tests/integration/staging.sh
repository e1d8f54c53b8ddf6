#!/usr/bin/env bash
# A worker stages a slot's next queued attempt in the slot's executor while the running one
# goes on, and the executor starts it the moment that one ends. Each staged attempt still
# runs once, alone on its slot, with a log, CPU time and peak memory of its own; one staged
# behind a long attempt is taken back for the slot that frees first; one staged behind an
# attempt that is stopped (timeout) or whose executor dies runs on the next executor.
. "$(dirname "$0")/lib.sh"
: "${WEFT_TEST_PLUGINS:?}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:handle_segv=0:handle_abort=0"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
# worker NAME SLOTS: a worker for the tasks labelled pool=NAME, logging what it stages.
worker() {
    "$WEFT_BIN/weft-worker" --scheduler "$ep" --name "$1" --slots "$2" --prefetch 4 \
        --label "pool=$1" --plugin-path "$WEFT_PLUGIN_PATH:$WEFT_TEST_PLUGINS" \
        --work-dir "$T/work-$1" --heartbeat 5000 --log-level debug >"$T/worker-$1.log" 2>&1 &
    PIDS+=($!)
}
worker one 1
worker two 2
wait_for_workers "$ep" 2 || exit 1
q() { sql "$state" "$1"; }
run_of() { q "SELECT max(id) FROM runs"; }
# attempt RUN TASK COLUMN: the column of the task's (last) attempt.
attempt() {
    q "SELECT a.$3 FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx
       WHERE a.run_id = $1 AND t.name = '$2' ORDER BY a.id DESC LIMIT 1"
}

# One slot, 30 independent tasks that each print their mark, a busy one and one that peaks
# at 96 MiB among them: after the first few, each is staged behind the one before.
{ echo "workflow: staged"; echo "defaults: { labels: { pool: one } }"; echo "tasks:"
  for i in $(seq 1 12); do echo "  t$i: { type: shell, with: { argv: [sh, -c, 'echo mark-t$i >&2'] } }"; done
  echo "  busy: { type: shell, with: { argv: [sh, -c, 'i=0; while [ \$i -lt 200000 ]; do i=\$((i+1)); done'] } }"
  echo "  after_busy: { type: shell, with: { argv: [sh, -c, 'echo mark-after_busy >&2'] } }"
  echo "  big: { type: crashy.touch, with: { mb: 96 } }"
  echo "  after_big: { type: crashy.touch, with: { mb: 1 } }"
  for i in $(seq 13 26); do echo "  t$i: { type: shell, with: { argv: [sh, -c, 'echo mark-t$i >&2'] } }"; done
} >"$T/staged.yaml"
"$weft" submit "$T/staged.yaml" --scheduler "$ep" --wait >"$T/staged.out" 2>&1
expect "30 tasks on one slot with a queue of four succeed" 0 $?
run=$(run_of)
expect "... each with one attempt" "30 30" \
    "$(q "SELECT count(*), count(DISTINCT idx) FROM attempts WHERE run_id = $run" | tr '|' ' ')"
staged=$(grep -c "staged behind" "$T/worker-one.log")
back=$(grep -c "taken back" "$T/worker-one.log")
at_least "attempts the worker staged and its executor started (of 30)" 15 $((staged - back))
# (start and end by the executor's clock: a staged attempt starts before its worker hears)
expect "no two attempts overlapped on the slot" 0 \
    "$(q "SELECT count(*) FROM attempts a JOIN attempts b ON b.run_id = a.run_id
          AND b.started_us > a.started_us AND b.started_us < a.finished_us
          WHERE a.run_id = $run")"
for t in t1 t5 t12 after_busy t13 t20 t26; do
    "$weft" logs "$run" "$t" --scheduler "$ep" >"$T/log-$t" 2>&1
    expect "$t's log holds its own mark, and no other task's" "mark-$t" \
        "$(grep -o 'mark-[a-z_0-9]*' "$T/log-$t" | sort -u | tr '\n' ' ' | sed 's/ $//')"
done
at_least "the busy task's CPU time is its attempt's (µs)" 100000 "$(attempt "$run" busy cpu_us)"
at_most "... and not the next attempt's" 50000 "$(attempt "$run" after_busy cpu_us)"
at_least "the attempt that touched 96 MiB peaked above them (MiB)" 96 \
    $(($(attempt "$run" big peak_mem_bytes) >> 20))
at_most "... and the one after it 64 MiB lower at least (MiB)" \
    $((($(attempt "$run" big peak_mem_bytes) >> 20) - 64)) \
    $(($(attempt "$run" after_big peak_mem_bytes) >> 20))

# Two slots, a three-second task and eight short ones: the short one staged behind the long
# task is taken back when a short one ends on the other slot, and runs there next, not
# after the long task, nor after the short ones given after it.
{ echo "workflow: behind-long"; echo "defaults: { labels: { pool: two } }"; echo "tasks:"
  echo "  long: { type: shell, with: { argv: [sleep, \"3\"] } }"
  for i in $(seq 1 8); do echo "  q$i: { type: shell, with: { argv: [sleep, \"0.1\"] } }"; done
} >"$T/long.yaml"
"$weft" submit "$T/long.yaml" --scheduler "$ep" --wait >"$T/long.out" 2>&1
expect "a long task and eight short ones on two slots succeed" 0 $?
run=$(run_of)
expect "every short task ended a second or more before the long one" 8 \
    "$(q "SELECT count(*) FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx
          WHERE a.run_id = $run AND t.name != 'long' AND a.finished_us <
          (SELECT max(finished_us) FROM attempts WHERE run_id = $run) - 1000000")"
at_least "attempts the worker took back from behind the long task" 1 \
    "$(grep -c "taken back" "$T/worker-two.log")"
late=$(q "SELECT group_concat(t.name, ' ') FROM attempts a JOIN tasks t ON t.run_id = a.run_id
          AND t.idx = a.idx WHERE a.run_id = $run AND t.name != 'long' AND a.started_us >
          (SELECT max(a2.started_us) FROM attempts a2 JOIN tasks t2 ON t2.run_id = a2.run_id
           AND t2.idx = a2.idx WHERE a2.run_id = $run AND t2.name = 'q5')
          AND t.name IN ('q1', 'q2', 'q3')")
expect "the first three short ones all started before the fifth" "" "$late"

# next_ran RUN: the task next, staged behind the other, succeeded with one attempt and its
# log is its own.
next_ran() {
    expect "the task staged behind it succeeded, with one attempt" "succeeded 1" \
        "$(q "SELECT state, attempts FROM tasks WHERE run_id = $1 AND name = 'next'" | tr '|' ' ')"
    "$weft" logs "$1" next --scheduler "$ep" >"$T/log-next-$1" 2>&1
    expect_grep "... and its log holds its mark" "mark-next" "$T/log-next-$1"
}

# An attempt that times out with one staged behind it: that one runs on the next executor.
cat >"$T/timeout.yaml" <<'YAML'
workflow: staged-timeout
defaults: { labels: { pool: one } }
tasks:
  slow: { type: shell, timeout: 1s, with: { argv: [sleep, "10"] } }
  next: { type: shell, with: { argv: [sh, -c, 'echo mark-next >&2'] } }
YAML
"$weft" submit "$T/timeout.yaml" --scheduler "$ep" --wait >"$T/timeout.out" 2>&1
run=$(run_of)
expect "the slow task timed out" "failed timeout" \
    "$(q "SELECT state, error_class FROM tasks WHERE run_id = $run AND name = 'slow'" | tr '|' ' ')"
next_ran "$run"

# The executor dies with an attempt staged behind its running one: that one runs on the
# executor that replaces it.
cat >"$T/killed.yaml" <<'YAML'
workflow: staged-killed
defaults: { labels: { pool: one } }
tasks:
  dies: { type: shell, with: { argv: [sh, -c, 'sleep 0.5; kill -9 $PPID; sleep 5'] } }
  next: { type: shell, with: { argv: [sh, -c, 'echo mark-next >&2'] } }
YAML
"$weft" submit "$T/killed.yaml" --scheduler "$ep" --wait >"$T/killed.out" 2>&1
run=$(run_of)
expect "the attempt whose executor was killed failed as a crash" crash \
    "$(attempt "$run" dies error_class)"
next_ran "$run"

# An executor that ran an attempt and the one staged behind it, and wrote both results while
# its worker was stopped, then died: both results count, neither attempt fails or runs again.
cat >"$T/died-after.yaml" <<'YAML'
workflow: died-after
defaults: { labels: { pool: one } }
tasks:
  first: { type: shell, with: { argv: [sleep, "1"] } }
  second: { type: shell, with: { argv: [sh, -c, 'echo mark-second >&2'] } }
YAML
"$weft" submit "$T/died-after.yaml" --scheduler "$ep" >/dev/null 2>&1 || fail "submit died-after"
run=$(run_of)
for _ in $(seq 100); do
    [ "$(q "SELECT count(*) FROM attempts WHERE run_id = $run")" = 2 ] && break
    sleep 0.05
done
wpid=$(pgrep -f -- "--name one ")
kill -STOP "$wpid"
sleep 1.5
pkill -9 -P "$wpid" weft-executor
kill -CONT "$wpid"
wait_run_ended "$state" "$run"
expect "the run whose executor died after writing both results succeeded" succeeded \
    "$(q "SELECT state FROM runs WHERE id = $run")"
expect "... each task with one attempt, which succeeded" "2 2" \
    "$(q "SELECT count(*), sum(state = 'succeeded') FROM attempts WHERE run_id = $run" | tr '|' ' ')"

# An executor given a staging descriptor that is no shared page refuses to start.
"$WEFT_BIN/weft-executor" --staging 99 >"$T/bad-fd.out" 2>&1
expect "an executor with --staging of a closed descriptor exits 2" 2 $?
expect_grep "... saying why" "weft-executor: --staging 99: not a shared page: Bad file descriptor" \
    "$T/bad-fd.out"
"$WEFT_BIN/weft-executor" --staging x >"$T/bad-arg.out" 2>&1
expect "an executor with --staging of no number exits 2" 2 $?
expect_grep "... saying why" "weft-executor: --staging x: not a shared page" "$T/bad-arg.out"
finish
