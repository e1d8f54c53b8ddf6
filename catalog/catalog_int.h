/* catalog_int: what the catalogue's source files share (catalog.c writes, catalog_query.c
 * reads, catalog_cache.c memoization and artifacts). Private to catalog/. */
#ifndef WEFT_CATALOG_INT_H
#define WEFT_CATALOG_INT_H

#include <jansson.h>
#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/marks.h"
#include "common/arena.h"

enum stmt_id {
    ST_PUT_WORKFLOW, ST_GET_WORKFLOW, ST_CREATE_RUN, ST_ADD_TASK, ST_UPDATE_TASK,
    ST_END_TASK,
    ST_ATTEMPT_MOVE, ST_TASK_RUNNING, ST_FINISH_ATTEMPT, ST_FINISH_MOVED, ST_FINISH_RUN,
    ST_PUT_WORKER, ST_CHECKPOINT_MOVED, ST_CHECKPOINT_ANY, ST_ATTEMPT_HIGH,
    ST_CANCEL_RUN, ST_TASK_LOOKUP, ST_TASK_SOURCE, ST_CACHE_GET, ST_CACHE_HIT,
    ST_CACHE_PUT, ST_CACHE_DEL, ST_SAVE_CHECKPOINT, ST_LAST_CHECKPOINT, ST_RETRY_OF,
    ST_RETRIED_UNIT, ST_WORKER_STATE, ST_REQUEST_GET, ST_REQUEST_PUT, ST_KEY_ADD,
    ST_KEY_REVOKE, ST_PROJECT_SET,
    ST_UPLOAD_PUT, ST_UPLOAD_HAS, ST_TASK_INPUTS, ST_BEGIN, ST_COMMIT,
    /* catalog_schedule.c's, with their SQL there */
    ST_SCHEDULE_ADD, ST_SCHEDULE_SET, ST_SCHEDULE_CURSOR, ST_FIRE_PUT, ST_FIRE_STARTED,
    /* catalog_notify.c's */
    ST_NOTIFY_PUT, ST_NOTIFY_ATTEMPT, ST_NOTIFY_STATE,
    /* catalog_workflows.c's */
    ST_REGISTER,
    /* catalog_journal.c's */
    ST_JOURNAL_ADD, ST_JOURNAL_DROP,
    /* catalog_events.c's */
    ST_EVENT_NEXT, ST_EVENT_BLOCK,
    /* catalog_rows.c's */
    ST_ROWS, ST_ROW, ST_EDGES, ST_EDGE,
    ST__COUNT
};

/* The highest attempt id of a catalogue of schema 23 or later: attempt_rows' highest, or
 * the highest a commit recorded (meta attempt_high), whichever is higher. A task row's last
 * attempt has no index: a max over the view attempts would read every task. */
#define CAT_ATTEMPT_HIGH_SQL                                                                 \
    "SELECT max(coalesce((SELECT max(id) FROM attempt_rows), 0), "                          \
    "coalesce((SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'attempt_high'), 0))"

/* The row of tasks a statement writes: its unit (?1 run, ?2 idx, ?20 elem), found by the
 * rowid hint ?30 (catalog_rowids.c) when bound, else through the unit's index. */
#define CAT_ROWID_PARAM 30
#define CAT_TASK_ROW                                                                         \
    "rowid = coalesce(?30, (SELECT rowid FROM tasks WHERE run_id = ?1 AND idx = ?2 AND "    \
    "elem = ?20)) AND run_id = ?1 AND idx = ?2 AND elem = ?20"

/* A read query's prepared statement, kept for the next call with the same SQL text. */
#define CAT_QUERIES 32
typedef struct kept_query {
    char *sql;
    sqlite3_stmt *st;
    uint64_t used; /* the query clock when last used (the least recent is replaced) */
} kept_query;

/* An event recorded in the turn, not yet written (catalog_events.c); its text lives in the
 * catalogue's event_text. */
typedef struct cat_event {
    int64_t ts_us, run;
    const char *task, *kind, *detail;
} cat_event;

/* A task row made in the turn, not yet written (catalog_rows.c): its columns as they are
 * now (NULL text and 0 times are NULL); its text lives in the catalogue's row_text. */
typedef struct cat_row {
    int64_t run;
    int idx, elem, attempts;
    const char *name, *type, *type_version, *state, *worker, *inputs, *outputs,
        *error_class, *error;
    int64_t ready_us, started_us, finished_us, retry_due_us;
    int64_t attempt_id, dispatched_us; /* its attempt, dispatched in the turn (0: none) */
} cat_row;

/* An edge of a run made in the turn (catalog_add_edge), held with the rows. */
typedef struct cat_edge {
    int64_t run;
    int child, parent;
} cat_edge;

/* Rows the catalogue writes together go CAT_PER_INSERT to a statement. */
#define CAT_PER_INSERT 16

/* Rows of one kind written together (cat_insert_rows): statement many inserts
 * CAT_PER_INSERT of them (its SQL many_sql), statement one a single one (one_sql); bind
 * binds row i of ud at column offset off. */
typedef struct cat_insert {
    int many, one; /* enum stmt_id */
    const char *many_sql, *one_sql;
    int columns;
    void (*bind)(sqlite3_stmt *s, int off, size_t i, void *ud);
    /* NULL, or told that rows i .. i + k - 1 were written by one statement */
    void (*inserted)(catalog *c, size_t i, size_t k, void *ud);
    const char *what;
} cat_insert;

typedef struct cat_ckpt cat_ckpt;

struct catalog {
    sqlite3 *db;
    char *dir;
    int in_txn;
    /* The first write of the turn that failed (code 0: none). Once set, the turn takes no
     * more writes, and catalog_commit rolls it back: SQLite may already have rolled the
     * transaction back itself (SQLITE_FULL, SQLITE_IOERR), and later statements would
     * otherwise each commit on their own. */
    weft_err turn_err;
    /* Ids: the next run id to issue (never one issued before, committed or not), and the
     * highest run and attempt ids written in the turn and committed (for catalog.marks). */
    int64_t next_run;
    catalog_marks marks;      /* what catalog.marks holds */
    int64_t committed_attempt; /* may run ahead of marks.attempt (written once a second) */
    int64_t turn_run, turn_attempt;
    int64_t marks_written_us;  /* monotonic */
    int marks_due;             /* marks raised by a commit, not yet written (catalog_write_marks) */
    int64_t requests_pruned_us;
    int64_t retry_of_run, retry_of; /* the run last asked which run it retries, and that */
    sqlite3_stmt *stmts[ST__COUNT];
    cat_event *events;        /* the turn's events, in order, written when it commits, before
                                 a read of events, or once EVENTS_HELD_MAX are held */
    size_t nevents, capevents;
    arena event_text;         /* the text of the held events, let go as they are */
    cat_row *rows;            /* task rows made in the turn, written when it commits or
                                 before anything else reads or writes (cat_settle) */
    size_t nrows, caprows;
    struct u64map *row_at;    /* a held row's unit -> 1 + its index in rows */
    cat_edge *edges;          /* edges of the runs made in the turn, written with the rows */
    size_t nedges, capedges;
    arena row_text;           /* the text of the held rows (a field set again leaves its old
                                 value there until they go) */
    struct u64map *rowids;    /* run id -> where its task rows are (catalog_rowids.c) */
    sqlite3_stmt *hinted;     /* the statement cat_bind_task last gave a rowid hint */
    kept_query queries[CAT_QUERIES];
    uint64_t query_clock;
    cat_ckpt *ckpt; /* the WAL's checkpoints on a thread (catalog_ckpt.c), or NULL */
};

/* Stops the checkpoint thread, if any, and gives the WAL back to SQLite's automatic
 * checkpoint (catalog_close, before the database's own close). */
void cat_ckpt_stop(catalog *c);
/* PRAGMA quick_check (integrity_check when full) of db, the file at path: 0, or
 * WEFT_ECORRUPT with the first problems and how to recover. */
int cat_check_db(sqlite3 *db, const char *path, int full, weft_err *err);
/* The highest run number among the directories of dir/logs (0 when none). */
int64_t cat_logs_high(const char *dir);
/* The file of attempt number attempt of task's log in run (catalog_log.c; caller frees). */
char *cat_log_path(const catalog *c, int64_t run, const char *task, int attempt);
/* Holds a new task row (catalog_add_task) in memory: 1, or 0 when it is not held (write
 * it at once). */
int cat_rows_add(catalog *c, int64_t run, int idx, int elem, const char *name,
                 const char *type, const char *type_version, const char *state);
/* The held row of a unit, to change in place, or NULL. */
cat_row *cat_rows_find(catalog *c, int64_t run, int idx, int elem);
/* Sets a held row's text field to a copy of v (NULL: NULL). */
void cat_row_set(catalog *c, const char **field, const char *v);
/* Holds an edge: 0, or WEFT_EDB (the held rows could not be written to make room). */
int cat_edges_add(catalog *c, int64_t run, int child, int parent);
/* Writes the held rows, then the held edges: 0, or WEFT_EDB (the turn failed). */
int cat_rows_write(catalog *c);
/* Forgets the held rows and edges (the turn was rolled back, or they were written). */
void cat_rows_drop(catalog *c);
/* Writes rows 0 .. n-1 of ud as ins says, CAT_PER_INSERT a statement while that many
 * remain: 0, or WEFT_EDB (the turn failed). */
int cat_insert_rows(catalog *c, const cat_insert *ins, size_t n, void *ud);
/* Writes the held rows before a statement that may read or change them. */
#define cat_settle(c) ((c)->nrows || (c)->nedges ? cat_rows_write(c) : 0)

/* Opens the turn's transaction unless it is open; WEFT_EDB once a write of it failed. */
int cat_turn_begin(catalog *c);
/* Writes the turn's events into its transaction (before its commit, a read of events, or
 * once many are held): 0, or WEFT_EDB (the turn failed). */
int cat_events_write(catalog *c);
/* Forgets the turn's events (it was rolled back). */
void cat_events_drop(catalog *c);
/* Writes the turn's held events before a read of them: 0, or WEFT_EDB with err. */
int cat_events_flush(catalog *c, weft_err *err);
/* The seq of run's last written event (0: none), or WEFT_EDB with err. */
int64_t cat_events_last(catalog *c, int64_t run, weft_err *err);
/* Run's notable events numbered after after_seq up to upto, limit at most, as an array of
 * {seq, ts_us, task, kind, detail}; NULL with err. */
json_t *cat_events_notable(catalog *c, int64_t run, int64_t after_seq, int64_t upto,
                           int limit, weft_err *err);
/* Writes the end of attempt a, moved to attempt_rows (its task's row holds a later one). */
int cat_finish_moved(catalog *c, const catalog_attempt_end *a);
/* Binds an attempt's end as parameters first (its state) to first + 6 (its CPU time). */
void cat_bind_attempt_end(sqlite3_stmt *s, const catalog_attempt_end *a, int first);
/* Runs sql; 0, or WEFT_EDB (logged). */
int cat_exec(catalog *c, const char *sql);
/* After a successful commit: raises the marks to the ids the turn committed (run ids at
 * once, attempt ids at most once a second), for catalog_write_marks to write. */
void cat_marks_committed(catalog *c);
/* Records the database's last error for what as the turn's failure (logged); returns
 * WEFT_EDB. */
int cat_db_fail(catalog *c, const char *what);
/* The prepared statement for id, reset and unbound, inside the turn's transaction (opened
 * on first use); NULL on failure (logged). */
sqlite3_stmt *cat_stmt(catalog *c, enum stmt_id id);
/* The same for a statement whose SQL its module keeps (sql: the same text every time). */
sqlite3_stmt *cat_prepared(catalog *c, enum stmt_id id, const char *sql);
/* Binds text (NULL: leaves NULL) and times (0: leaves NULL). */
void cat_bind_text(sqlite3_stmt *s, int i, const char *v);
void cat_bind_time(sqlite3_stmt *s, int i, int64_t v);
/* Binds the task (or element) a statement is about: run ?1, idx ?2, elem ?20, the
 * convention of every statement that addresses one row of tasks. */
void cat_bind_unit(sqlite3_stmt *s, int64_t run, int idx, int elem);
/* Steps a write; 0 or WEFT_EDB (logged). */
int cat_done(catalog *c, sqlite3_stmt *s, const char *what);
/* catalog_rowids.c. Notes that the row of a unit of run was written at rowid (checked
 * against the run's rows before it), or that rows of run were written whose rowids are not
 * known (the run gets no hints). */
void cat_rowid_note(catalog *c, int64_t run, int idx, int elem, int64_t rowid);
void cat_rowid_unknown(catalog *c, int64_t run);
/* The rowid of a unit's row if the catalogue wrote it in this process, else 0. */
int64_t cat_rowid(catalog *c, int64_t run, int idx, int elem);
/* Forgets where run's rows are (it finished), or every run's (the turn was rolled back;
 * the catalogue closes). */
void cat_rowids_forget(catalog *c, int64_t run);
void cat_rowids_drop(catalog *c);
/* cat_bind_unit for a statement that writes the unit's row (CAT_TASK_ROW), with its
 * rowid hint when known; then cat_done_task steps it, and once more without the hint when
 * it changed no row (a hint is never trusted to find the row alone). */
void cat_bind_task(catalog *c, sqlite3_stmt *s, int64_t run, int idx, int elem);
int cat_done_task(catalog *c, sqlite3_stmt *s, const char *what);
/* Runs sql with int64 arguments (and one text argument after them) and returns the rows as
 * an array of objects keyed by column; JSON columns come back as JSON. NULL with err. Its
 * statement is kept for the next call with the same text (catalog.queries). */
json_t *cat_rows(catalog *c, const char *sql, const int64_t *args, int nargs,
                 const char *text_arg, weft_err *err);
/* The prepared statement for sql, reset and unbound: kept from an earlier call with the same
 * text (preparing costs more than most of the queries it serves), else prepared and kept in
 * place of the least recently used (catalog.queries). NULL with err. */
sqlite3_stmt *cat_query(catalog *c, const char *sql, weft_err *err);
/* The rows of a bound statement (as cat_rows returns them), leaving it reset (holding no
 * read snapshot) for its next use. */
json_t *cat_query_rows(catalog *c, sqlite3_stmt *st, weft_err *err);
/* Finalizes a kept query and empties its place. */
void cat_query_forget(kept_query *q);
/* The one row sql (?1 = run) returns, or NULL with "no run N". */
json_t *cat_run_row(catalog *c, const char *sql, int64_t run, weft_err *err);

#endif
