#!/usr/bin/env bash
# The audit trail in blocks: a run's events of a turn are one row of event_blocks, a
# notable one (the run's own, a failure, a retry wait) a row of its own. weft events reads
# them in pages that start inside blocks and lose or repeat nothing; the view events shows
# the same trail one event a row; no block can be changed or deleted; and a catalogue whose
# events were rows of their own (schema 21) keeps every one of them, with the same numbers,
# when a scheduler opens it and moves them into blocks.
. "$(dirname "$0")/lib.sh"
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
wf="$T/wf.yaml"
{
    echo "workflow: trail"
    echo "tasks:"
    echo "  bad: { type: fail, with: { message: \"no luck\" } }"
    for i in $(seq 1 700); do echo "  t$i: { type: noop }"; done
} >"$wf"

start_scheduler "$state" "$ep"
start_worker w "$ep" 2
wait_for_workers "$ep" 1 || exit 1
"$weft" submit "$wf" --scheduler "$ep" --wait >/dev/null 2>&1
expect "the run ends failed (task bad)" failed "$(sql "$state" "SELECT state FROM runs WHERE id = 1")"

# Every event once, in order, through pages of 1,000 that begin inside blocks.
"$weft" events 1 --scheduler "$ep" --json >"$T/events.json" || fail "weft events"
seqs=$(jq -r '.[].seq' "$T/events.json")
total=$(wc -l <<<"$seqs")
[ "$total" -gt 2100 ] && ok "weft events gives the whole trail ($total events)" || fail "only $total events"
expect "no event twice, none out of order" "$seqs" "$(sort -n -u <<<"$seqs")"
expect "the view events holds the same events, in the same order" "$seqs" \
    "$(sql "$state" "SELECT seq FROM events WHERE run_id = 1 ORDER BY seq")"
expect "and the same fields" "$(jq -r '.[] | [.seq, .ts_us, .task // "", .kind, .detail // ""] | join("|")' "$T/events.json")" \
    "$(sql "$state" "SELECT seq, ts_us, coalesce(task, ''), kind, coalesce(detail, '') FROM events WHERE run_id = 1 ORDER BY seq")"
expect "each task's ready, dispatched and succeeded events are there" "700 700 700" \
    "$(sql "$state" "SELECT group_concat(c, ' ') FROM (SELECT count(*) AS c FROM events WHERE run_id = 1 AND task LIKE 't%' GROUP BY kind ORDER BY kind)")"

expect_text "a dispatch's event names its attempt, id and worker" '^attempt 1 \(id [1-9][0-9]*\) on w$' \
    "$(sql "$state" "SELECT detail FROM events WHERE run_id = 1 AND task = 't7' AND kind = 'dispatched'")"

# Blocks: many events to a row; a notable event alone in its row, flagged.
expect "events share rows (at most 64 to one)" 1 \
    "$(sql "$state" "SELECT max(n) > 1 AND max(n) <= 64 FROM event_blocks WHERE run_id = 1")"
expect "a notable event is a row of its own" 0 \
    "$(sql "$state" "SELECT count(*) FROM event_blocks WHERE notable AND n != 1")"
expect "a task's failure is flagged notable" 1 \
    "$(sql "$state" "SELECT count(*) FROM event_blocks b, json_each(b.events) e WHERE b.run_id = 1 AND b.notable AND e.value ->> 1 = 'bad'")"
expect "the run's own events are flagged notable" \
    "$(sql "$state" "SELECT count(*) FROM events WHERE run_id = 1 AND task IS NULL")" \
    "$(sql "$state" "SELECT count(*) FROM event_blocks WHERE run_id = 1 AND notable AND events ->> '\$[0][1]' IS NULL")"
expect "blocks are numbered one after another" 0 \
    "$(sql "$state" "SELECT count(*) FROM event_blocks a JOIN event_blocks b ON b.seq = (SELECT min(seq) FROM event_blocks WHERE seq > a.seq) WHERE b.seq != a.seq + a.n")"

# The trail cannot be changed.
sql "$state" "UPDATE event_blocks SET n = 1 WHERE seq = 1" 2>"$T/update.err"
expect_grep "an update of a block is refused" "events are append-only" "$T/update.err"
sql "$state" "DELETE FROM event_blocks WHERE run_id = 1" 2>"$T/delete.err"
expect_grep "a deletion is refused" "events are append-only" "$T/delete.err"
sql "$state" "DELETE FROM events WHERE run_id = 1" 2>"$T/view.err"
expect_grep "the view cannot be written" "cannot modify events because it is a view" "$T/view.err"
expect "nothing was lost" "$total" "$(sql "$state" "SELECT count(*) FROM events WHERE run_id = 1")"

# A catalogue of schema 21, whose events are rows of their own: opened, they move into
# blocks of one, keeping their numbers, and new events follow the last of them.
kill_scheduler
sql "$state" "BEGIN;
CREATE TABLE old AS SELECT * FROM events;
DROP VIEW events; DROP TABLE event_blocks;
CREATE TABLE events (seq INTEGER PRIMARY KEY, ts_us INTEGER NOT NULL, run_id INTEGER, task TEXT,
  kind TEXT NOT NULL, detail TEXT);
CREATE INDEX events_run ON events(run_id, seq);
CREATE INDEX events_notable ON events(run_id, seq) WHERE task IS NULL OR kind IN ('failed', 'retry_wait');
INSERT INTO events SELECT * FROM old ORDER BY seq; DROP TABLE old;
PRAGMA user_version = 21; COMMIT;" || fail "making a catalogue of schema 21"
expect "the catalogue is of schema 21" 21 "$(sql "$state" "PRAGMA user_version")"
old_last=$(sql "$state" "SELECT max(seq) FROM events")
start_scheduler "$state" "$ep"
wait_for_workers "$ep" 1 || exit 1
expect "the scheduler moved the events into blocks" 22 "$(sql "$state" "PRAGMA user_version")"
"$weft" events 1 --scheduler "$ep" --json >"$T/events2.json" || fail "weft events after the move"
expect "weft events gives the same trail after the move" "$(cat "$T/events.json")" "$(cat "$T/events2.json")"
"$weft" submit "$wf" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a new run's events follow the old ones" 1 \
    "$(sql "$state" "SELECT min(seq) > $old_last FROM events WHERE run_id = 2")"
expect "and it has its whole trail" "$total" "$(sql "$state" "SELECT count(*) FROM events WHERE run_id = 2")"
finish
