/* catalog: SQLite catalogue. See catalog.h. */
#include "catalog/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/log.h"
#include "common/xmem.h"
#include "catalog/catalog_int.h"

#define TASK_UPDATE_SET                                                                       \
    "state = ?3, error_class = CASE ?3 WHEN 'succeeded' THEN NULL "                           \
    "ELSE coalesce(?4, error_class) END, "                                                    \
    "error = CASE ?3 WHEN 'succeeded' THEN NULL ELSE coalesce(?5, error) END, "               \
    "outputs = coalesce(?6, outputs), inputs = coalesce(?10, inputs), "                      \
    "ready_us = coalesce(?7, ready_us), "                                                     \
    "finished_us = coalesce(?8, finished_us), retry_due_us = ?9"

static const char *const stmt_sql[ST__COUNT] = {
    [ST_PUT_WORKFLOW] = "INSERT OR IGNORE INTO workflows(name, version, hash, file, spec, "
                        "created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_GET_WORKFLOW] = "SELECT id FROM workflows WHERE hash = ?1",
    [ST_CREATE_RUN] = "INSERT INTO runs(workflow_id, state, params, ntasks, created_us, types, "
                      "artifacts, retry_of, id, project, labels, schedule_id, logical_s, "
                      "schedule_vars) "
                      "VALUES (?1, 'running', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                      "?13)",
    [ST_ADD_TASK] = "INSERT OR IGNORE INTO tasks(run_id, idx, name, type, type_version, state, "
                    "elem) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?20)",
    /* A task that succeeds sheds the error of an earlier attempt (attempts keep it). */
    [ST_UPDATE_TASK] = "UPDATE tasks SET " TASK_UPDATE_SET " WHERE " CAT_TASK_ROW,
    /* The same with the end of the attempt ?21 that brought it, while that is the row's. */
    [ST_END_TASK] = "UPDATE tasks SET " TASK_UPDATE_SET ", attempt_state = ?22, "
                    "attempt_error_class = ?23, attempt_error = ?24, attempt_started_us = ?25, "
                    "attempt_finished_us = ?26, peak_mem_bytes = ?27, cpu_us = ?28 "
                    "WHERE " CAT_TASK_ROW " AND attempt_id = ?21",
    /* A task's last attempt lives in its row; the one before goes to attempt_rows as the
     * next starts. */
    [ST_ATTEMPT_MOVE] = "INSERT INTO attempt_rows(id, run_id, idx, number, worker, state, "
                        "error_class, error, dispatched_us, started_us, finished_us, elem, "
                        "checkpoint, peak_mem_bytes, cpu_us) SELECT attempt_id, run_id, idx, "
                        "attempts, worker, attempt_state, attempt_error_class, attempt_error, "
                        "dispatched_us, attempt_started_us, attempt_finished_us, elem, "
                        "checkpoint, peak_mem_bytes, cpu_us FROM tasks WHERE run_id = ?1 AND "
                        "idx = ?2 AND elem = ?20 AND attempt_id IS NOT NULL",
    [ST_TASK_RUNNING] = "UPDATE tasks SET state = 'running', attempts = ?3, worker = ?4, "
                        "inputs = ?5, started_us = coalesce(started_us, ?6), "
                        "ready_us = coalesce(?7, ready_us), retry_due_us = NULL, "
                        "attempt_id = ?8, attempt_state = 'running', dispatched_us = ?6, "
                        "attempt_error_class = NULL, attempt_error = NULL, "
                        "attempt_started_us = NULL, attempt_finished_us = NULL, "
                        "checkpoint = NULL, peak_mem_bytes = NULL, cpu_us = NULL "
                        "WHERE " CAT_TASK_ROW,
    [ST_TASK_INPUTS] = "SELECT inputs FROM tasks WHERE run_id = ?1 AND idx = ?2 AND elem = ?20",
    /* Every turn's, prepared once rather than parsed for each turn. */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    /* An attempt's end and checkpoint go to its task's row while it is the last attempt
     * there, else (it was moved, or it is older than migration 23) to attempt_rows. */
    [ST_FINISH_ATTEMPT] = "UPDATE tasks SET attempt_state = ?4, attempt_error_class = ?5, "
                          "attempt_error = ?6, attempt_started_us = ?7, "
                          "attempt_finished_us = ?8, peak_mem_bytes = ?9, cpu_us = ?10 "
                          "WHERE " CAT_TASK_ROW " AND attempt_id = ?3",
    [ST_FINISH_MOVED] = "UPDATE attempt_rows SET state = ?4, error_class = ?5, error = ?6, "
                        "started_us = ?7, finished_us = ?8, peak_mem_bytes = ?9, cpu_us = ?10 "
                        "WHERE id = ?3",
    [ST_SAVE_CHECKPOINT] = "UPDATE tasks SET checkpoint = ?4 WHERE " CAT_TASK_ROW
                           " AND attempt_id = ?3",
    [ST_CHECKPOINT_MOVED] = "UPDATE attempt_rows SET checkpoint = ?4 WHERE id = ?3",
    /* A late result's attempt, whose unit the scheduler no longer knows (rare: a scan). */
    [ST_CHECKPOINT_ANY] = "UPDATE tasks SET checkpoint = ?4 WHERE attempt_id = ?3",
    /* The highest attempt id committed (CAT_ATTEMPT_HIGH_SQL), in the turn that issued it. */
    [ST_ATTEMPT_HIGH] = "INSERT INTO meta(k, v) VALUES ('attempt_high', ?1) "
                        "ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    [ST_LAST_CHECKPOINT] = "SELECT checkpoint FROM attempts WHERE run_id = ?1 AND idx = ?2 "
                           "AND elem = ?20 AND checkpoint IS NOT NULL ORDER BY number DESC "
                           "LIMIT 1",
    [ST_RETRY_OF] = "SELECT retry_of FROM runs WHERE id = ?1",
    /* The retried run's unit of that name, unless it succeeded or had other inputs; its
     * checkpoint is then ST_LAST_CHECKPOINT's (a join with the view attempts would
     * materialize every attempt of the retried run). */
    [ST_RETRIED_UNIT] = "SELECT idx FROM tasks WHERE run_id = ?1 AND name = ?2 AND elem = ?3 "
                        "AND state != 'succeeded' AND inputs = ?4",
    [ST_FINISH_RUN] = "UPDATE runs SET state = ?2, error = ?3, finished_us = ?4, counts = ?5 "
                      "WHERE id = ?1",
    [ST_PUT_WORKER] = "INSERT INTO workers(name, slots, types, state, first_seen_us, "
                      "last_seen_us) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(name) DO "
                      "UPDATE SET slots = ?2, types = ?3, state = ?4, last_seen_us = ?5",
    [ST_CANCEL_RUN] = "UPDATE runs SET cancel_requested = 1 WHERE id = ?1",
    [ST_TASK_LOOKUP] = "UPDATE tasks SET cache_key = ?3, cache_version = ?4, inputs = ?5 "
                       "WHERE " CAT_TASK_ROW,
    [ST_TASK_SOURCE] = "UPDATE tasks SET source = ?3, source_run = ?4, source_task = ?5 "
                       "WHERE " CAT_TASK_ROW,
    [ST_CACHE_GET] = "SELECT outputs, run_id, task FROM cache WHERE key = ?1",
    [ST_CACHE_HIT] = "UPDATE cache SET hits = hits + 1, last_hit_us = ?2 WHERE key = ?1",
    [ST_CACHE_PUT] = "INSERT OR REPLACE INTO cache(key, workflow, task, type, type_version, "
                     "cache_version, inputs, outputs, run_id, created_us, project) "
                     "SELECT t.cache_key, w.name, t.name, t.type, t.type_version, "
                     "coalesce(t.cache_version, ''), coalesce(t.inputs, '{}'), ?3, t.run_id, ?4, "
                     "r.project "
                     "FROM tasks t JOIN runs r ON r.id = t.run_id "
                     "JOIN workflows w ON w.id = r.workflow_id "
                     "WHERE t.run_id = ?1 AND t.idx = ?2 AND t.elem = ?20 "
                     "AND t.cache_key IS NOT NULL",
    [ST_CACHE_DEL] = "DELETE FROM cache WHERE key = ?1",
    /* A worker's state changes; its row (slots, types) stays as it registered. */
    [ST_WORKER_STATE] = "UPDATE workers SET state = ?2, last_seen_us = ?3 WHERE name = ?1",
    [ST_REQUEST_GET] = "SELECT kind, code, error, json, run_id FROM requests WHERE key = ?1",
    [ST_REQUEST_PUT] = "INSERT INTO requests(key, kind, code, error, json, run_id, created_us) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_KEY_ADD] = "INSERT INTO principals(public_key, name, role, created_us, projects) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_PROJECT_SET] = "INSERT INTO projects(name, max_runs, max_tasks, max_inflight, "
                       "updated_us, priority) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                       "ON CONFLICT(name) DO UPDATE SET max_runs = ?2, max_tasks = ?3, "
                       "max_inflight = ?4, updated_us = ?5, priority = ?6",
    [ST_UPLOAD_PUT] = "INSERT OR IGNORE INTO uploads(project, hash, size, created_us) "
                      "VALUES (?1, ?2, ?3, ?4)",
    [ST_UPLOAD_HAS] = "SELECT 1 FROM uploads WHERE project = ?1 AND hash = ?2",
    [ST_KEY_REVOKE] = "UPDATE principals SET revoked_us = ?2 WHERE revoked_us IS NULL AND "
                      "(name = ?1 OR public_key = ?1)",
};

int cat_db_fail(catalog *c, const char *what)
{
    int code = sqlite3_extended_errcode(c->db);
    if (!c->turn_err.code) {
        err_set(&c->turn_err, (code & 0xff) == SQLITE_BUSY ? WEFT_EBUSY : WEFT_EDB,
                "catalogue %s/catalog.db: %s: %s", c->dir, what, sqlite3_errmsg(c->db));
        log_error("%s", c->turn_err.msg);
    }
    return WEFT_EDB;
}


/* Runs statement id, which returns no rows, outside the turn's bookkeeping: SQLITE_DONE or
 * SQLite's error code (its message stays on the connection for cat_db_fail). */
static int step_once(catalog *c, enum stmt_id id)
{
    if (!c->stmts[id] && sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                            &c->stmts[id], NULL) != SQLITE_OK)
        return sqlite3_errcode(c->db);
    int rc = sqlite3_step(c->stmts[id]);
    sqlite3_reset(c->stmts[id]);
    return rc;
}

int catalog_in_turn(const catalog *c)
{
    return c->in_txn || c->turn_err.code;
}

/* Records the turn's highest attempt id (attempt ids never repeat, even after a restart:
 * catalog_max_attempt_id). */
static void note_attempt_high(catalog *c)
{
    sqlite3_stmt *s = cat_stmt(c, ST_ATTEMPT_HIGH);
    if (s) {
        sqlite3_bind_int64(s, 1, c->turn_attempt);
        cat_done(c, s, "record the highest attempt id");
    }
}

int catalog_commit(catalog *c, weft_err *err)
{
    if (!c->in_txn && !c->turn_err.code)
        return 0;
    if (!c->turn_err.code)
        cat_settle(c);
    if (!c->turn_err.code && c->nevents)
        cat_events_write(c);
    if (!c->turn_err.code && c->turn_attempt > c->committed_attempt)
        note_attempt_high(c);
    cat_rows_drop(c);
    cat_events_drop(c);
    /* A statement left on a row would keep a read snapshot open past the commit; once
     * another connection (weft cache evict) writes, the next BEGIN IMMEDIATE would fail
     * with SQLITE_BUSY_SNAPSHOT instead of waiting. */
    for (int i = 0; i < ST__COUNT; i++)
        if (c->stmts[i])
            sqlite3_reset(c->stmts[i]);
    if (!c->turn_err.code && c->in_txn && step_once(c, ST_COMMIT) != SQLITE_DONE)
        cat_db_fail(c, "commit");
    c->in_txn = 0;
    if (c->turn_err.code) {
        if (!sqlite3_get_autocommit(c->db))
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        cat_rowids_drop(c); /* the turn's rows are gone: their rowids may be reused */
        int code = err_set(err, c->turn_err.code, "%s", c->turn_err.msg);
        c->turn_err = (weft_err){0};
        c->turn_run = c->turn_attempt = 0;
        return code;
    }
    cat_marks_committed(c);
    return 0;
}

int cat_turn_begin(catalog *c)
{
    if (c->turn_err.code)
        return WEFT_EDB;
    if (!c->in_txn) {
        if (step_once(c, ST_BEGIN) != SQLITE_DONE)
            return cat_db_fail(c, "begin");
        c->in_txn = 1;
    }
    return 0;
}

/* Returns the prepared statement for id, reset and unbound, inside the turn's transaction;
 * NULL once a write of the turn failed. */
sqlite3_stmt *cat_stmt(catalog *c, enum stmt_id id)
{
    return cat_prepared(c, id, stmt_sql[id]);
}

/* Whether statement id leaves the held task rows alone (it writes other rows, or held
 * rows are changed in memory instead), so they need not be written before it. */
static int leaves_rows(enum stmt_id id)
{
    switch (id) {
    case ST_ADD_TASK: case ST_UPDATE_TASK: case ST_END_TASK:
    case ST_TASK_RUNNING:
    case ST_ATTEMPT_MOVE: case ST_FINISH_ATTEMPT: case ST_FINISH_MOVED: case ST_EVENT_NEXT:
    case ST_EVENT_BLOCK: case ST_ROWS: case ST_ROW: case ST_EDGES: case ST_EDGE:
        return 1;
    default:
        return 0;
    }
}

sqlite3_stmt *cat_prepared(catalog *c, enum stmt_id id, const char *sql)
{
    if (cat_turn_begin(c) < 0 || (!leaves_rows(id) && cat_settle(c) < 0))
        return NULL;
    if (!c->stmts[id] &&
        sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id],
                           NULL) != SQLITE_OK) {
        cat_db_fail(c, "prepare");
        return NULL;
    }
    sqlite3_reset(c->stmts[id]);
    sqlite3_clear_bindings(c->stmts[id]);
    return c->stmts[id];
}

void cat_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v) /* not copied: the statement is stepped before v goes (cat_done) */
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

void cat_bind_time(sqlite3_stmt *s, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(s, i, v);
}

void cat_bind_unit(sqlite3_stmt *s, int64_t run, int idx, int elem)
{
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int(s, 2, idx);
    sqlite3_bind_int(s, 20, elem);
}

int cat_done(catalog *c, sqlite3_stmt *s, const char *what)
{
    if (!s)
        return WEFT_EDB;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return cat_db_fail(c, what);
    return 0;
}

int cat_insert_rows(catalog *c, const cat_insert *ins, size_t n, void *ud)
{
    size_t i = 0;
    while (i < n) {
        size_t k = n - i >= CAT_PER_INSERT ? CAT_PER_INSERT : 1;
        sqlite3_stmt *s = k > 1 ? cat_prepared(c, (enum stmt_id)ins->many, ins->many_sql)
                                : cat_prepared(c, (enum stmt_id)ins->one, ins->one_sql);
        if (!s)
            return WEFT_EDB;
        for (size_t j = 0; j < k; j++)
            ins->bind(s, (int)j * ins->columns, i + j, ud);
        if (cat_done(c, s, ins->what) < 0)
            return WEFT_EDB;
        if (ins->inserted)
            ins->inserted(c, i, k, ud);
        i += k;
    }
    return 0;
}

int64_t catalog_put_workflow(catalog *c, const char *name, int64_t version, const char *hash,
                             const char *file, const char *spec)
{
    sqlite3_stmt *s = cat_stmt(c, ST_PUT_WORKFLOW);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, version);
    cat_bind_text(s, 3, hash);
    cat_bind_text(s, 4, file);
    cat_bind_text(s, 5, spec);
    sqlite3_bind_int64(s, 6, (int64_t)time(NULL) * 1000000);
    if (cat_done(c, s, "store workflow") < 0 || !(s = cat_stmt(c, ST_GET_WORKFLOW)))
        return WEFT_EDB;
    cat_bind_text(s, 1, hash);
    if (sqlite3_step(s) != SQLITE_ROW)
        return cat_db_fail(c, "find workflow");
    return sqlite3_column_int64(s, 0);
}

int64_t catalog_create_run(catalog *c, const catalog_run *r, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_CREATE_RUN);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, r->workflow_id);
    cat_bind_text(s, 2, r->params);
    sqlite3_bind_int64(s, 3, (int64_t)r->ntasks);
    sqlite3_bind_int64(s, 4, now_us);
    cat_bind_text(s, 5, r->types);
    cat_bind_text(s, 6, r->artifacts ? r->artifacts : "{}");
    cat_bind_time(s, 7, r->retry_of);
    /* Ids are issued, never derived from the table: a run id refused with its turn is
     * skipped, not handed to the next run. */
    int64_t id = c->next_run++;
    sqlite3_bind_int64(s, 8, id);
    cat_bind_text(s, 9, r->project ? r->project : CATALOG_DEFAULT_PROJECT);
    cat_bind_text(s, 10, r->labels ? r->labels : "{}");
    cat_bind_time(s, 11, r->schedule_id);
    if (r->schedule_id)
        sqlite3_bind_int64(s, 12, r->logical_s);
    cat_bind_text(s, 13, r->schedule_vars);
    if (cat_done(c, s, "create run") < 0)
        return WEFT_EDB;
    if (id > c->turn_run)
        c->turn_run = id;
    return id;
}

int catalog_add_task(catalog *c, int64_t run, int idx, int elem, const char *name,
                     const char *type, const char *type_version, const char *state)
{
    if (cat_turn_begin(c) < 0)
        return WEFT_EDB;
    if (cat_rows_add(c, run, idx, elem, name, type, type_version, state))
        return c->turn_err.code ? WEFT_EDB : 0;
    sqlite3_stmt *s = cat_stmt(c, ST_ADD_TASK);
    if (!s)
        return WEFT_EDB;
    cat_bind_unit(s, run, idx, elem);
    cat_bind_text(s, 3, name);
    cat_bind_text(s, 4, type);
    cat_bind_text(s, 5, type_version);
    cat_bind_text(s, 6, state);
    if (cat_done(c, s, "add task") < 0)
        return WEFT_EDB;
    if (sqlite3_changes(c->db) == 1)
        cat_rowid_note(c, run, idx, elem, sqlite3_last_insert_rowid(c->db));
    else
        cat_rowid_unknown(c, run);
    return 0;
}

int catalog_add_edge(catalog *c, int64_t run, int child, int parent)
{
    if (cat_turn_begin(c) < 0)
        return WEFT_EDB;
    return cat_edges_add(c, run, child, parent);
}

/* ST_UPDATE_TASK on a held row. */
static void update_held(catalog *c, cat_row *r, const catalog_task_update *u)
{
    int succeeded = !strcmp(u->state, "succeeded");
    cat_row_set(c, &r->state, u->state);
    if (succeeded || u->error_class)
        cat_row_set(c, &r->error_class, succeeded ? NULL : u->error_class);
    if (succeeded || u->error)
        cat_row_set(c, &r->error, succeeded ? NULL : u->error);
    if (u->outputs)
        cat_row_set(c, &r->outputs, u->outputs);
    if (u->inputs)
        cat_row_set(c, &r->inputs, u->inputs);
    r->ready_us = u->ready_us ? u->ready_us : r->ready_us;
    r->finished_us = u->finished_us ? u->finished_us : r->finished_us;
    r->retry_due_us = u->due_us;
}

/* ST_UPDATE_TASK's parameters (with end, ST_END_TASK's: u->end's too). */
static void bind_update(catalog *c, sqlite3_stmt *s, const catalog_task_update *u, int end)
{
    cat_bind_task(c, s, u->run, u->idx, u->elem);
    cat_bind_text(s, 3, u->state);
    cat_bind_text(s, 4, u->error_class);
    cat_bind_text(s, 5, u->error);
    cat_bind_text(s, 6, u->outputs);
    cat_bind_time(s, 7, u->ready_us);
    cat_bind_time(s, 8, u->finished_us);
    cat_bind_time(s, 9, u->due_us);
    cat_bind_text(s, 10, u->inputs);
    if (end) {
        sqlite3_bind_int64(s, 21, (int64_t)u->end->id);
        cat_bind_attempt_end(s, u->end, 22);
    }
}

/* The task's new state and the end of the attempt that brought it, in one statement: 1, or
 * 0 when the row's last attempt is another (nothing written), or WEFT_EDB. */
static int end_with_task(catalog *c, const catalog_task_update *u)
{
    sqlite3_stmt *s = cat_stmt(c, ST_END_TASK);
    if (!s)
        return WEFT_EDB;
    bind_update(c, s, u, 1);
    if (cat_done_task(c, s, "update task") < 0)
        return WEFT_EDB;
    return sqlite3_changes(c->db) > 0;
}

int catalog_update_task(catalog *c, const catalog_task_update *u, int64_t now_us)
{
    cat_row *held = cat_rows_find(c, u->run, u->idx, u->elem);
    if (held && u->end) { /* rare: an attempt's row made in the turn that ends it */
        if (cat_rows_write(c) < 0)
            return WEFT_EDB;
        held = NULL;
    }
    if (held) {
        update_held(c, held, u);
        return catalog_event(c, u->run, u->task_name, u->state, u->error, now_us);
    }
    int rc = u->end ? end_with_task(c, u) : 0;
    if (rc == 0 && u->end) /* the row's last attempt is another: this one was moved */
        rc = cat_finish_moved(c, u->end) < 0 ? WEFT_EDB : 0;
    if (rc == 0) {
        sqlite3_stmt *s = cat_stmt(c, ST_UPDATE_TASK);
        if (!s)
            return WEFT_EDB;
        bind_update(c, s, u, 0);
        rc = cat_done_task(c, s, "update task");
    }
    if (rc < 0)
        return WEFT_EDB;
    return catalog_event(c, u->run, u->task_name, u->state, u->error, now_us);
}

int catalog_finish_run(catalog *c, int64_t run, const char *state, const char *error,
                       const char *counts, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_FINISH_RUN);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, run);
    cat_bind_text(s, 2, state);
    cat_bind_text(s, 3, error);
    sqlite3_bind_int64(s, 4, now_us);
    cat_bind_text(s, 5, counts);
    int rc = cat_done(c, s, "finish run");
    cat_rowids_forget(c, run);
    return rc ? rc : catalog_event(c, run, NULL, state, error, now_us);
}

int catalog_put_worker(catalog *c, const char *name, uint32_t slots, const char *types_json,
                       const char *state, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_PUT_WORKER);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, name);
    sqlite3_bind_int(s, 2, (int)slots);
    cat_bind_text(s, 3, types_json);
    cat_bind_text(s, 4, state);
    sqlite3_bind_int64(s, 5, now_us);
    return cat_done(c, s, "store worker");
}


uint64_t catalog_max_attempt_id(catalog *c)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(c->db, CAT_ATTEMPT_HIGH_SQL, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    int64_t floor = marks_attempt_max(&c->marks);
    return (uint64_t)(v > floor ? v : floor);
}

int catalog_request_cancel(catalog *c, int64_t run, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_CANCEL_RUN);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, run);
    int rc = cat_done(c, s, "request cancel");
    return rc ? rc : catalog_event(c, run, NULL, "cancel_requested", NULL, now_us);
}

int catalog_worker_state(catalog *c, const char *name, const char *state, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_WORKER_STATE);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, name);
    cat_bind_text(s, 2, state);
    sqlite3_bind_int64(s, 3, now_us);
    int rc = cat_done(c, s, "store worker state");
    char kind[32];
    snprintf(kind, sizeof kind, "worker_%s", state);
    return rc ? rc : catalog_event(c, 0, NULL, kind, name, now_us);
}

int catalog_workers_unknown(catalog *c)
{
    if (cat_turn_begin(c) < 0)
        return WEFT_EDB;
    if (sqlite3_exec(c->db, "UPDATE workers SET state = 'unknown' WHERE state = 'up'", NULL,
                     NULL, NULL) != SQLITE_OK)
        return cat_db_fail(c, "reset worker states");
    return 0;
}

/* ---- exactly-once requests ---- */

#define REQUEST_KEEP_US (24LL * 3600 * 1000000)

static char *column_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    return v ? xstrdup((const char *)v) : NULL;
}

int catalog_request_get(catalog *c, const char *key, catalog_answer *a)
{
    memset(a, 0, sizeof *a);
    /* A read: it joins the turn's transaction when one is open (and sees its writes), but
     * never opens one, so it works while the catalogue cannot be written. */
    sqlite3_stmt *s = c->stmts[ST_REQUEST_GET];
    if (!s && sqlite3_prepare_v3(c->db, stmt_sql[ST_REQUEST_GET], -1, SQLITE_PREPARE_PERSISTENT,
                                 &c->stmts[ST_REQUEST_GET], NULL) != SQLITE_OK)
        return WEFT_EDB;
    s = c->stmts[ST_REQUEST_GET];
    sqlite3_reset(s);
    cat_bind_text(s, 1, key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(a->kind, sizeof a->kind, "%s", (const char *)sqlite3_column_text(s, 0));
        a->code = sqlite3_column_int(s, 1);
        a->error = column_dup(s, 2);
        a->json = column_dup(s, 3);
        a->run_id = sqlite3_column_int64(s, 4);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : WEFT_EDB;
}

void catalog_answer_free(catalog_answer *a)
{
    free(a->error);
    free(a->json);
    a->error = a->json = NULL;
}

int catalog_request_put(catalog *c, const char *key, const catalog_answer *a, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_REQUEST_PUT);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, key);
    cat_bind_text(s, 2, a->kind);
    sqlite3_bind_int(s, 3, a->code);
    cat_bind_text(s, 4, a->error);
    cat_bind_text(s, 5, a->json);
    cat_bind_time(s, 6, a->run_id);
    sqlite3_bind_int64(s, 7, now_us);
    int rc = cat_done(c, s, "record request");
    if (rc == 0 && now_us - c->requests_pruned_us > 3600LL * 1000000) {
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM requests WHERE created_us < %lld",
                 (long long)(now_us - REQUEST_KEEP_US));
        if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return cat_db_fail(c, "forget old requests");
        c->requests_pruned_us = now_us;
    }
    return rc;
}

int catalog_add_key(catalog *c, const catalog_key *k, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_KEY_ADD);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, k->public_key);
    cat_bind_text(s, 2, k->name);
    cat_bind_text(s, 3, k->role);
    sqlite3_bind_int64(s, 4, now_us);
    cat_bind_text(s, 5, k->projects ? k->projects : "[]");
    return cat_done(c, s, "add key");
}

int catalog_set_project(catalog *c, const catalog_project *p, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_PROJECT_SET);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, p->name);
    sqlite3_bind_int64(s, 2, p->max_runs);
    sqlite3_bind_int64(s, 3, p->max_tasks);
    sqlite3_bind_int64(s, 4, p->max_inflight);
    sqlite3_bind_int64(s, 5, now_us);
    sqlite3_bind_int64(s, 6, p->priority);
    return cat_done(c, s, "set project limits");
}

int catalog_revoke_keys(catalog *c, const char *name_or_key, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_KEY_REVOKE);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, name_or_key);
    sqlite3_bind_int64(s, 2, now_us);
    int rc = cat_done(c, s, "revoke key");
    return rc < 0 ? rc : sqlite3_changes(c->db);
}

int catalog_put_upload(catalog *c, const char *project, const char *hash, uint64_t size,
                       int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_UPLOAD_PUT);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, project);
    cat_bind_text(s, 2, hash);
    sqlite3_bind_int64(s, 3, (int64_t)size);
    sqlite3_bind_int64(s, 4, now_us);
    return cat_done(c, s, "record an upload");
}

int catalog_has_upload(catalog *c, const char *project, const char *hash)
{
    sqlite3_stmt *s = cat_stmt(c, ST_UPLOAD_HAS);
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, project);
    cat_bind_text(s, 2, hash);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : WEFT_EDB;
}
