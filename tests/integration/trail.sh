#!/usr/bin/env bash
# A run's trail: its events and its attempts.
# Events are stored in blocks: a run's events of a turn are one row of event_blocks, a
# notable one (the run's own, a failure, a retry wait) a row of its own. weft events reads
# them in pages that start inside blocks and lose or repeat nothing; the view events shows
# the same trail one event a row; no block can be changed or deleted.
# A task's last attempt lives in its own row, the ones before it in attempt_rows; the view
# attempts shows them all.
# A catalogue of schema 21 (events and attempts rows of their own, edges a table with a
# rowid) keeps every event, with the same numbers, every attempt and every edge, when a
# scheduler opens it and moves them.
. "$(dirname "$0")/lib.sh"
: "${WEFT_TEST_PLUGINS:?}"
path="$WEFT_PLUGIN_PATH:$WEFT_TEST_PLUGINS"
state="$T/state"
ep="tcp://127.0.0.1:$(free_port)"
wf="$T/wf.yaml"
{
    echo "workflow: trail"
    echo "tasks:"
    echo "  bad: { type: fail, with: { message: \"no luck\" } }"
    echo "  flaky:"
    echo "    type: crashy.flaky"
    echo "    retry: { max_attempts: 3, interval: 10ms, on: [transient] }"
    for i in $(seq 1 700); do echo "  t$i: { type: noop }"; done
    echo "  after: { type: noop, needs: [t1, t2] }"
} >"$wf"

start_scheduler "$state" "$ep"
start_worker w "$ep" 2 "$path"
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

# Attempts: the last in its task's row, the ones before it moved to attempt_rows.
expect "flaky's attempts, in order" "1 failed transient|2 failed transient|3 succeeded " \
    "$(sql "$state" "SELECT group_concat(a.number || ' ' || a.state || ' ' || coalesce(a.error_class, ''), '|') FROM (SELECT a.* FROM attempts a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx AND t.elem = a.elem WHERE a.run_id = 1 AND t.name = 'flaky' ORDER BY a.id) a")"
expect "its first two were moved to attempt_rows" "1 2" \
    "$(sql "$state" "SELECT group_concat(number, ' ') FROM (SELECT a.number FROM attempt_rows a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx WHERE t.name = 'flaky' AND t.run_id = 1 ORDER BY a.number)")"
expect "its last is in its row" "3|succeeded" \
    "$(sql "$state" "SELECT attempts || '|' || attempt_state FROM tasks WHERE run_id = 1 AND name = 'flaky'")"
expect "every other task's single attempt is in its row" 0 \
    "$(sql "$state" "SELECT count(*) FROM attempt_rows a JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx WHERE t.name != 'flaky'")"
expect "an attempt a task, and flaky's two before its last" \
    "$(sql "$state" "SELECT count(*) + 2 FROM tasks WHERE run_id = 1")" \
    "$(sql "$state" "SELECT count(*) FROM attempts WHERE run_id = 1")"
expect "each attempt's id once" "$(sql "$state" "SELECT count(*) FROM attempts")" \
    "$(sql "$state" "SELECT count(DISTINCT id) FROM attempts")"
attempts_now() {
    sql "$state" "SELECT id, run_id, idx, elem, number, worker, state, coalesce(error_class, ''),
        dispatched_us, coalesce(started_us, ''), coalesce(finished_us, '') FROM attempts
        WHERE run_id = 1 ORDER BY id"
}
attempts_now >"$T/attempts.txt"
edges_now() { sql "$state" "SELECT run_id, child, parent FROM edges ORDER BY 1, 2, 3"; }
edges_now >"$T/edges.txt"
expect "the run has its two edges" 2 "$(wc -l <"$T/edges.txt")"

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
CREATE TABLE old AS SELECT * FROM edges; DROP TABLE edges;
CREATE TABLE edges (run_id INTEGER NOT NULL, child INTEGER NOT NULL, parent INTEGER NOT NULL,
  PRIMARY KEY (run_id, child, parent));
INSERT INTO edges SELECT * FROM old; DROP TABLE old;
CREATE TABLE old AS SELECT * FROM events;
DROP VIEW events; DROP TABLE event_blocks;
CREATE TABLE events (seq INTEGER PRIMARY KEY, ts_us INTEGER NOT NULL, run_id INTEGER, task TEXT,
  kind TEXT NOT NULL, detail TEXT);
CREATE INDEX events_run ON events(run_id, seq);
CREATE INDEX events_notable ON events(run_id, seq) WHERE task IS NULL OR kind IN ('failed', 'retry_wait');
INSERT INTO events SELECT * FROM old ORDER BY seq; DROP TABLE old;
INSERT INTO events(ts_us, run_id, task, kind, detail)
  VALUES (1, 1, 'bad', 'failed', CAST(X'6E6FC3' AS TEXT));
CREATE TABLE old AS SELECT * FROM attempts;
DROP VIEW attempts; DROP TABLE attempt_rows;
CREATE TABLE attempts (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, idx INTEGER NOT NULL,
  number INTEGER NOT NULL, worker TEXT NOT NULL, state TEXT NOT NULL, error_class TEXT, error TEXT,
  dispatched_us INTEGER NOT NULL, started_us INTEGER, finished_us INTEGER,
  elem INTEGER NOT NULL DEFAULT -1, checkpoint TEXT, peak_mem_bytes INTEGER, cpu_us INTEGER);
CREATE INDEX attempts_task ON attempts(run_id, idx, elem);
INSERT INTO attempts SELECT * FROM old ORDER BY id; DROP TABLE old;
ALTER TABLE tasks DROP COLUMN attempt_id; ALTER TABLE tasks DROP COLUMN attempt_state;
ALTER TABLE tasks DROP COLUMN attempt_error_class; ALTER TABLE tasks DROP COLUMN attempt_error;
ALTER TABLE tasks DROP COLUMN dispatched_us; ALTER TABLE tasks DROP COLUMN attempt_started_us;
ALTER TABLE tasks DROP COLUMN attempt_finished_us; ALTER TABLE tasks DROP COLUMN checkpoint;
ALTER TABLE tasks DROP COLUMN peak_mem_bytes; ALTER TABLE tasks DROP COLUMN cpu_us;
PRAGMA user_version = 21; COMMIT;" || fail "making a catalogue of schema 21"
expect "the catalogue is of schema 21" 21 "$(sql "$state" "PRAGMA user_version")"
old_last=$(sql "$state" "SELECT max(seq) FROM events")
start_scheduler "$state" "$ep"
wait_for_workers "$ep" 1 || exit 1
expect "the scheduler moved the events into blocks, the attempts and the edges" 24 \
    "$(sql "$state" "PRAGMA user_version")"
expect "every attempt is kept" "$(cat "$T/attempts.txt")" "$(attempts_now)"
expect "every edge is kept" "$(cat "$T/edges.txt")" "$(edges_now)"
expect "edges are their key alone" 1 \
    "$(sql "$state" "SELECT wr FROM pragma_table_list WHERE name = 'edges'")"
"$weft" events 1 --scheduler "$ep" --json >"$T/events2.json" || fail "weft events after the move"
expect "weft events gives the same trail after the move" "$(jq -c . "$T/events.json")" \
    "$(jq -c '.[:-1]' "$T/events2.json")"
expect "an old event's character cut in two reads as '?'" "failed|no?" \
    "$(jq -r '.[-1] | .kind + "|" + .detail' "$T/events2.json")"
expect_text "a follower's progress reads it among the run's notable events" '^counts: ' \
    "$("$WEFT_BIN/weft-testpeer" "$ep" progress 1 2>&1)"
"$weft" submit "$wf" --scheduler "$ep" --wait >/dev/null 2>&1
expect "a new run's events follow the old ones" 1 \
    "$(sql "$state" "SELECT min(seq) > $old_last FROM events WHERE run_id = 2")"
expect "and it has its whole trail" "$total" "$(sql "$state" "SELECT count(*) FROM events WHERE run_id = 2")"
expect "its attempts follow the old ones, each once" \
    "$(sql "$state" "SELECT count(*) + 2 FROM tasks WHERE run_id = 2")|1" \
    "$(sql "$state" "SELECT count(*) || '|' || (min(id) > (SELECT max(id) FROM attempts WHERE run_id = 1)) FROM attempts WHERE run_id = 2")"

# Run 2's attempts live in its task rows, which no index orders by attempt: a scheduler
# killed and started again still issues ids after every one of them, from the catalogue
# alone (catalog.marks, which also bounds them, is taken away).
kill_scheduler
rm -f "$state/catalog.marks"
start_scheduler "$state" "$ep"
wait_for_workers "$ep" 1 || exit 1
"$weft" submit "$wf" --scheduler "$ep" --wait >/dev/null 2>&1
expect "after a restart, new attempts follow every attempt before" 1 \
    "$(sql "$state" "SELECT min(id) > (SELECT max(id) FROM attempts WHERE run_id < 3) FROM attempts WHERE run_id = 3")"
finish
