#!/usr/bin/env bash
# A worker queues attempts beyond its slots (--prefetch): given while its slot is busy, each
# starts the moment the slot frees, in the order given, so a slot never waits for a round
# trip to the scheduler; an attempt with a timeout is never queued (its clock runs from its
# dispatch); a queued attempt of a cancelled run ends cancelled without ever starting. A
# worker whose queue is at least half full holds its results a moment to send several in one
# message, never longer than about a millisecond, however long its other attempts take.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
ep="tcp://127.0.0.1:$port"
state="$T/state"
start_scheduler "$state" "$ep"
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name q1 --slots 1 --prefetch 2 \
    --work-dir "$T/work-q1" --heartbeat 200 >"$T/worker-q1.log" 2>&1 &
PIDS+=($!)
wait_for_workers "$ep" 1 || exit 1
q() { sql "$state" "$1"; }

# Three one-second tasks on one slot: given at once, run one after another, in order.
cat >"$T/three.yaml" <<YAML
workflow: three
tasks:
  a: { type: shell, with: { argv: [sleep, "1"] } }
  b: { type: shell, with: { argv: [sleep, "1"] } }
  c: { type: shell, with: { argv: [sleep, "1"] } }
YAML
"$weft" submit "$T/three.yaml" --scheduler "$ep" --wait >"$T/three.out" 2>&1
expect "three tasks on one slot and a queue of two succeed" 0 $?
expect "the three were given within half a second" 1 \
    "$(q "SELECT max(dispatched_us) - min(dispatched_us) < 500000 FROM attempts WHERE run_id = 1")"
expect "... and ran one after another (starts 0.9 s apart at least)" 1 \
    "$(q "SELECT min(b.started_us - a.started_us) >= 900000 FROM attempts a JOIN attempts b
          ON b.run_id = a.run_id AND b.started_us > a.started_us WHERE a.run_id = 1")"
expect "... in the order they were given" \
    "$(q "SELECT group_concat(id, ' ') FROM (SELECT id FROM attempts WHERE run_id = 1 ORDER BY dispatched_us, id)")" \
    "$(q "SELECT group_concat(id, ' ') FROM (SELECT id FROM attempts WHERE run_id = 1 ORDER BY started_us)")"

# An attempt with a timeout waits for a free slot at the scheduler, not in the queue.
cat >"$T/timed.yaml" <<YAML
workflow: timed
tasks:
  a: { type: shell, with: { argv: [sleep, "1"] } }
  b: { type: shell, with: { argv: [sleep, "1"] } }
  timed: { type: shell, timeout: 30s, with: { argv: ["true"] } }
YAML
"$weft" submit "$T/timed.yaml" --scheduler "$ep" --wait >"$T/timed.out" 2>&1
expect "the run with a timed task succeeds" 0 $?
expect "the timed task was given only after both others had ended" 1 \
    "$(q "SELECT t.dispatched_us >= (SELECT max(x.finished_us) FROM attempts x JOIN tasks k
          ON k.run_id = x.run_id AND k.idx = x.idx WHERE x.run_id = 2 AND k.name != 'timed')
          FROM attempts t JOIN tasks k ON k.run_id = t.run_id AND k.idx = t.idx
          WHERE t.run_id = 2 AND k.name = 'timed'")"

# Cancelled while two wait in the queue: they end cancelled, and never run.
cat >"$T/held.yaml" <<YAML
workflow: held
tasks:
  long: { type: shell, with: { argv: [sleep, "30"] } }
  b: { type: shell, with: { argv: [sh, -c, 'echo b >>$T/held-ran'] } }
  c: { type: shell, with: { argv: [sh, -c, 'echo c >>$T/held-ran'] } }
YAML
"$weft" submit "$T/held.yaml" --scheduler "$ep" >/dev/null 2>&1 || fail "submit held"
for _ in $(seq 100); do
    [ "$(q "SELECT count(*) FROM attempts WHERE run_id = 3")" = 3 ] && break
    sleep 0.1
done
expect "all three were given to the worker" 3 "$(q "SELECT count(*) FROM attempts WHERE run_id = 3")"
"$weft" cancel 3 --scheduler "$ep" >/dev/null 2>&1 || fail "cancel"
for _ in $(seq 100); do
    [ "$(q "SELECT state FROM runs WHERE id = 3")" = cancelled ] && break
    sleep 0.1
done
expect "the run ends cancelled" cancelled "$(q "SELECT state FROM runs WHERE id = 3")"
expect "the queued attempts ended cancelled, saying they never started" 2 \
    "$(q "SELECT count(*) FROM attempts WHERE run_id = 3 AND error_class = 'cancelled'
          AND error LIKE 'shell stopped before it started: its run was cancelled%'")"
expect "... and recorded with no start" 2 \
    "$(q "SELECT count(*) FROM attempts WHERE run_id = 3 AND error_class = 'cancelled'
          AND started_us IS NULL AND finished_us IS NOT NULL")"
if [ -e "$T/held-ran" ]; then fail "a queued task of the cancelled run ran"; else ok "neither queued task ran"; fi

# The worker is still whole: the next run succeeds.
"$weft" submit "$T/three.yaml" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a run after the cancel succeeds" 0 $?

# A quick task's result while four slow ones wait in a full queue (one slot, a queue of four,
# heartbeats a minute apart): it reaches the scheduler at once, not with the next heartbeat
# or the next result.
"$WEFT_BIN/weft-worker" --scheduler "$ep" --name q2 --slots 1 --prefetch 4 --label pool=q2 \
    --work-dir "$T/work-q2" --heartbeat 60000 >"$T/worker-q2.log" 2>&1 &
PIDS+=($!)
wait_for_workers "$ep" 2 || exit 1
{ echo "workflow: held-results"; echo "defaults: { labels: { pool: q2 } }"; echo "tasks:"
  echo '  quick: { type: shell, with: { argv: ["true"] } }'
  for i in 1 2 3 4; do echo "  slow$i: { type: shell, with: { argv: [sleep, \"2\"] } }"; done
} >"$T/held-results.yaml"
"$weft" submit "$T/held-results.yaml" --scheduler "$ep" >/dev/null 2>&1 ||
    fail "submit held-results"
run=$(q "SELECT max(id) FROM runs")
for _ in $(seq 100); do
    [ "$(q "SELECT state FROM tasks WHERE run_id = $run AND name = 'quick'")" = succeeded ] && break
    sleep 0.05
done
expect "the quick task was given first, and the four slow ones before its result came" \
    "quick 5" "$(q "SELECT t.name, (SELECT count(*) FROM attempts x WHERE x.run_id = $run
                                    AND x.dispatched_us < t.finished_us)
                    FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx
                    WHERE a.run_id = $run ORDER BY a.id LIMIT 1" | tr '|' ' ')"
expect "its result was recorded within 200 ms of its end, long before the slow ones ended" 1 \
    "$(q "SELECT t.finished_us - a.finished_us < 200000 FROM attempts a JOIN tasks t
          ON t.run_id = a.run_id AND t.idx = a.idx WHERE a.run_id = $run AND t.name = 'quick'")"
finish
