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

#include "common/fsutil.h"
#include "common/log.h"
#include "common/xmem.h"
#include "catalog/catalog_int.h"

#define LOG_READ_MAX (8u << 20)

/* Migrations, applied in order; migration i brings user_version from i to i + 1.
 * Only ever append. */
static const char *const migrations[] = {
    "CREATE TABLE workflows ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INTEGER NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE, file TEXT NOT NULL, spec TEXT NOT NULL,"
    "  created_us INTEGER NOT NULL);"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY, workflow_id INTEGER NOT NULL REFERENCES workflows(id),"
    "  state TEXT NOT NULL, params TEXT NOT NULL, ntasks INTEGER NOT NULL,"
    "  created_us INTEGER NOT NULL, finished_us INTEGER, error TEXT);"
    "CREATE TABLE tasks ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL, name TEXT NOT NULL,"
    "  type TEXT NOT NULL, type_version TEXT NOT NULL, state TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, worker TEXT, inputs TEXT, outputs TEXT,"
    "  error_class TEXT, error TEXT, ready_us INTEGER, started_us INTEGER,"
    "  finished_us INTEGER, retry_due_us INTEGER, PRIMARY KEY (run_id, idx));"
    "CREATE TABLE edges ("
    "  run_id INTEGER NOT NULL, child INTEGER NOT NULL, parent INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, child, parent));"
    "CREATE TABLE attempts ("
    "  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, idx INTEGER NOT NULL,"
    "  number INTEGER NOT NULL, worker TEXT NOT NULL, state TEXT NOT NULL,"
    "  error_class TEXT, error TEXT, dispatched_us INTEGER NOT NULL, started_us INTEGER,"
    "  finished_us INTEGER);"
    "CREATE INDEX attempts_task ON attempts(run_id, idx);"
    "CREATE TABLE workers ("
    "  name TEXT PRIMARY KEY, slots INTEGER NOT NULL, types TEXT NOT NULL,"
    "  state TEXT NOT NULL, first_seen_us INTEGER NOT NULL, last_seen_us INTEGER NOT NULL);"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY, ts_us INTEGER NOT NULL, run_id INTEGER, task TEXT,"
    "  kind TEXT NOT NULL, detail TEXT);"
    "CREATE INDEX events_run ON events(run_id, seq);"
    "CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_append_only_d BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
    /* 2: the task type declarations a run was compiled against, so a restarted scheduler
     * recompiles it identically before any worker has registered. */
    "ALTER TABLE runs ADD COLUMN types TEXT NOT NULL DEFAULT '{}';",
    /* 3: a cancel, once requested, survives a scheduler restart. */
    "ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;",
    /* 4: artifacts and memoization. runs.artifacts pins the paths a run was submitted with
     * (path -> reference); retry_of links a rerun to the run it retries. A task's outputs
     * were computed, or came from the cache or from the run retried (source, source_run,
     * source_task); cache_key is its memoization key. */
    "ALTER TABLE runs ADD COLUMN artifacts TEXT NOT NULL DEFAULT '{}';"
    "ALTER TABLE runs ADD COLUMN retry_of INTEGER;"
    "ALTER TABLE tasks ADD COLUMN cache_key TEXT;"
    "ALTER TABLE tasks ADD COLUMN source TEXT;"
    "ALTER TABLE tasks ADD COLUMN source_run INTEGER;"
    "ALTER TABLE tasks ADD COLUMN source_task TEXT;"
    "CREATE TABLE cache ("
    "  key TEXT PRIMARY KEY, workflow TEXT NOT NULL, task TEXT NOT NULL, type TEXT NOT NULL,"
    "  type_version TEXT NOT NULL, cache_version TEXT NOT NULL, inputs TEXT NOT NULL,"
    "  outputs TEXT NOT NULL, run_id INTEGER NOT NULL, created_us INTEGER NOT NULL,"
    "  hits INTEGER NOT NULL DEFAULT 0, last_hit_us INTEGER);"
    "CREATE INDEX cache_task ON cache(workflow, task, created_us);"
    "CREATE TABLE artifacts ("
    "  hash TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT, size INTEGER,"
    "  run_id INTEGER, created_us INTEGER NOT NULL);",
    /* 5: the cache version a memoized task was looked up with (for cache explain). */
    "ALTER TABLE tasks ADD COLUMN cache_version TEXT;",
    /* 6: map fan-out. Each element of a mapped task is a row of its own (elem >= 0; the task
     * itself is elem -1), and so is each element's attempt. SQLite cannot change a primary
     * key in place: the table is rebuilt. */
    "CREATE TABLE tasks_v6 ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL,"
    "  elem INTEGER NOT NULL DEFAULT -1, name TEXT NOT NULL,"
    "  type TEXT NOT NULL, type_version TEXT NOT NULL, state TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, worker TEXT, inputs TEXT, outputs TEXT,"
    "  error_class TEXT, error TEXT, ready_us INTEGER, started_us INTEGER,"
    "  finished_us INTEGER, retry_due_us INTEGER, cache_key TEXT, source TEXT,"
    "  source_run INTEGER, source_task TEXT, cache_version TEXT,"
    "  PRIMARY KEY (run_id, idx, elem));"
    "INSERT INTO tasks_v6 (run_id, idx, name, type, type_version, state, attempts, worker,"
    "  inputs, outputs, error_class, error, ready_us, started_us, finished_us, retry_due_us,"
    "  cache_key, source, source_run, source_task, cache_version)"
    "  SELECT run_id, idx, name, type, type_version, state, attempts, worker, inputs,"
    "  outputs, error_class, error, ready_us, started_us, finished_us, retry_due_us,"
    "  cache_key, source, source_run, source_task, cache_version FROM tasks;"
    "DROP TABLE tasks;"
    "ALTER TABLE tasks_v6 RENAME TO tasks;"
    "ALTER TABLE attempts ADD COLUMN elem INTEGER NOT NULL DEFAULT -1;"
    "DROP INDEX attempts_task;"
    "CREATE INDEX attempts_task ON attempts(run_id, idx, elem);",
    /* 7: the store is its own index of blobs, and the references that keep them alive live
     * in the documents that hold them (runs, tasks, cache): no table of artifacts. */
    "DROP TABLE artifacts;",
    /* 8: checkpoints: the last one each attempt saved, handed to the task's next attempt
     * (or to its first attempt in a run that retries this one, found by task name). */
    "ALTER TABLE attempts ADD COLUMN checkpoint TEXT;"
    "CREATE INDEX tasks_name ON tasks(run_id, name);",
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_PUT_WORKFLOW] = "INSERT OR IGNORE INTO workflows(name, version, hash, file, spec, "
                        "created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_GET_WORKFLOW] = "SELECT id FROM workflows WHERE hash = ?1",
    [ST_CREATE_RUN] = "INSERT INTO runs(workflow_id, state, params, ntasks, created_us, types, "
                      "artifacts, retry_of) VALUES (?1, 'running', ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_ADD_TASK] = "INSERT OR IGNORE INTO tasks(run_id, idx, name, type, type_version, state, "
                    "elem) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?20)",
    [ST_ADD_EDGE] = "INSERT OR IGNORE INTO edges(run_id, child, parent) VALUES (?1, ?2, ?3)",
    /* A task that succeeds sheds the error of an earlier attempt (attempts keep it). */
    [ST_UPDATE_TASK] = "UPDATE tasks SET state = ?3, "
                       "error_class = CASE ?3 WHEN 'succeeded' THEN NULL "
                       "ELSE coalesce(?4, error_class) END, "
                       "error = CASE ?3 WHEN 'succeeded' THEN NULL ELSE coalesce(?5, error) END, "
                       "outputs = coalesce(?6, outputs), "
                       "ready_us = coalesce(?7, ready_us), "
                       "finished_us = coalesce(?8, finished_us), retry_due_us = ?9 "
                       "WHERE run_id = ?1 AND idx = ?2 AND elem = ?20",
    [ST_START_ATTEMPT] = "INSERT INTO attempts(id, run_id, idx, number, worker, state, "
                         "dispatched_us, elem) VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?20)",
    [ST_TASK_RUNNING] = "UPDATE tasks SET state = 'running', attempts = ?3, worker = ?4, "
                        "inputs = ?5, started_us = coalesce(started_us, ?6), "
                        "retry_due_us = NULL WHERE run_id = ?1 AND idx = ?2 AND elem = ?20",
    [ST_FINISH_ATTEMPT] = "UPDATE attempts SET state = ?2, error_class = ?3, error = ?4, "
                          "started_us = ?5, finished_us = ?6 WHERE id = ?1",
    [ST_SAVE_CHECKPOINT] = "UPDATE attempts SET checkpoint = ?2 WHERE id = ?1",
    [ST_LAST_CHECKPOINT] = "SELECT checkpoint FROM attempts WHERE run_id = ?1 AND idx = ?2 "
                           "AND elem = ?3 AND checkpoint IS NOT NULL ORDER BY number DESC "
                           "LIMIT 1",
    [ST_RETRIED_CHECKPOINT] =
        "SELECT a.checkpoint FROM runs r "
        "JOIN tasks t ON t.run_id = r.retry_of AND t.name = ?2 AND t.elem = ?3 "
        "JOIN attempts a ON a.run_id = t.run_id AND a.idx = t.idx AND a.elem = t.elem "
        "WHERE r.id = ?1 AND t.state != 'succeeded' AND t.inputs = ?4 "
        "AND a.checkpoint IS NOT NULL ORDER BY a.number DESC LIMIT 1",
    [ST_FINISH_RUN] = "UPDATE runs SET state = ?2, error = ?3, finished_us = ?4 WHERE id = ?1",
    [ST_PUT_WORKER] = "INSERT INTO workers(name, slots, types, state, first_seen_us, "
                      "last_seen_us) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(name) DO "
                      "UPDATE SET slots = ?2, types = ?3, state = ?4, last_seen_us = ?5",
    [ST_EVENT] = "INSERT INTO events(ts_us, run_id, task, kind, detail) "
                 "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_CANCEL_RUN] = "UPDATE runs SET cancel_requested = 1 WHERE id = ?1",
    [ST_TASK_LOOKUP] = "UPDATE tasks SET cache_key = ?3, cache_version = ?4, inputs = ?5 "
                       "WHERE run_id = ?1 AND idx = ?2 AND elem = ?20",
    [ST_TASK_SOURCE] = "UPDATE tasks SET source = ?3, source_run = ?4, source_task = ?5 "
                       "WHERE run_id = ?1 AND idx = ?2 AND elem = ?20",
    [ST_CACHE_GET] = "SELECT outputs, run_id, task FROM cache WHERE key = ?1",
    [ST_CACHE_HIT] = "UPDATE cache SET hits = hits + 1, last_hit_us = ?2 WHERE key = ?1",
    [ST_CACHE_PUT] = "INSERT OR REPLACE INTO cache(key, workflow, task, type, type_version, "
                     "cache_version, inputs, outputs, run_id, created_us) "
                     "SELECT t.cache_key, w.name, t.name, t.type, t.type_version, "
                     "coalesce(t.cache_version, ''), coalesce(t.inputs, '{}'), ?3, t.run_id, ?4 "
                     "FROM tasks t JOIN runs r ON r.id = t.run_id "
                     "JOIN workflows w ON w.id = r.workflow_id "
                     "WHERE t.run_id = ?1 AND t.idx = ?2 AND t.elem = ?20 "
                     "AND t.cache_key IS NOT NULL",
    [ST_CACHE_DEL] = "DELETE FROM cache WHERE key = ?1",
};


int cat_db_fail(catalog *c, const char *what)
{
    log_error("catalogue %s/catalog.db: %s: %s", c->dir, what, sqlite3_errmsg(c->db));
    return WEFT_EDB;
}

static int exec(catalog *c, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("catalogue: %s (in: %.60s)", msg ? msg : "?", sql);
        sqlite3_free(msg);
        return WEFT_EDB;
    }
    return 0;
}

static int user_version(catalog *c)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(catalog *c, weft_err *err)
{
    int v = user_version(c);
    int target = (int)(sizeof migrations / sizeof migrations[0]);
    if (v > target)
        return err_set(err, WEFT_EDB, "%s/catalog.db has schema version %d; this weft knows "
                       "up to %d (upgrade weft)", c->dir, v, target);
    for (; v < target; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (exec(c, "BEGIN IMMEDIATE") < 0 || exec(c, migrations[v]) < 0 ||
            exec(c, pragma) < 0 || exec(c, "COMMIT") < 0) {
            exec(c, "ROLLBACK");
            return err_set(err, WEFT_EDB, "%s/catalog.db: migration to schema version %d "
                           "failed: %s", c->dir, v + 1, sqlite3_errmsg(c->db));
        }
    }
    return 0;
}

int catalog_open(const char *dir, int readonly, catalog **out, weft_err *err)
{
    if (!readonly && fs_mkdir_p(dir, 0755) < 0)
        return err_set(err, WEFT_EIO, "cannot create state directory %s: %s", dir,
                       strerror(errno));
    catalog *c = xcalloc(1, sizeof *c);
    c->dir = xstrdup(dir);
    char *path = xasprintf("%s/catalog.db", dir);
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err_set(err, readonly ? WEFT_ENOTFOUND : WEFT_EDB, "cannot open catalogue %s: %s", path,
                c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        free(path);
        catalog_close(&c);
        return err->code;
    }
    free(path);
    sqlite3_busy_timeout(c->db, 5000);
    sqlite3_extended_result_codes(c->db, 1);
    if (!readonly) {
        /* WAL: readers (the CLI) never block the scheduler. synchronous=FULL: a committed
         * group survives power loss, not only a crash of the process. */
        if (exec(c, "PRAGMA journal_mode = WAL") < 0 || exec(c, "PRAGMA synchronous = FULL") < 0 ||
            exec(c, "PRAGMA foreign_keys = ON") < 0 || migrate(c, err) < 0) {
            if (!err || !err->code)
                err_set(err, WEFT_EDB, "cannot set up catalogue %s/catalog.db: %s", dir,
                        sqlite3_errmsg(c->db));
            int code = err ? err->code : WEFT_EDB;
            catalog_close(&c);
            return code;
        }
    } else if (user_version(c) != CATALOG_SCHEMA_VERSION) {
        err_set(err, WEFT_EDB, "%s/catalog.db has schema version %d; expected %d", dir,
                user_version(c), CATALOG_SCHEMA_VERSION);
        catalog_close(&c);
        return WEFT_EDB;
    }
    *out = c;
    return 0;
}

void catalog_close(catalog **cp)
{
    if (!cp || !*cp)
        return;
    catalog *c = *cp;
    if (c->db) {
        catalog_commit(c);
        for (int i = 0; i < ST__COUNT; i++)
            sqlite3_finalize(c->stmts[i]);
        sqlite3_close(c->db);
    }
    free(c->dir);
    free(c);
    *cp = NULL;
}

int catalog_commit(catalog *c)
{
    if (!c->in_txn)
        return 0;
    c->in_txn = 0;
    /* A statement left on a row would keep a read snapshot open past the commit; once
     * another connection (weft cache evict) writes, the next BEGIN IMMEDIATE would fail
     * with SQLITE_BUSY_SNAPSHOT instead of waiting. */
    for (int i = 0; i < ST__COUNT; i++)
        if (c->stmts[i])
            sqlite3_reset(c->stmts[i]);
    if (exec(c, "COMMIT") < 0) {
        exec(c, "ROLLBACK");
        return WEFT_EDB;
    }
    return 0;
}

/* Returns the prepared statement for id, reset and unbound, inside the turn's transaction. */
sqlite3_stmt *cat_stmt(catalog *c, enum stmt_id id)
{
    if (!c->in_txn) {
        if (exec(c, "BEGIN IMMEDIATE") < 0)
            return NULL;
        c->in_txn = 1;
    }
    if (!c->stmts[id] &&
        sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id],
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
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
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
    if (cat_done(c, s, "create run") < 0)
        return WEFT_EDB;
    return sqlite3_last_insert_rowid(c->db);
}

int catalog_add_task(catalog *c, int64_t run, int idx, int elem, const char *name,
                     const char *type, const char *type_version, const char *state)
{
    sqlite3_stmt *s = cat_stmt(c, ST_ADD_TASK);
    if (!s)
        return WEFT_EDB;
    cat_bind_unit(s, run, idx, elem);
    cat_bind_text(s, 3, name);
    cat_bind_text(s, 4, type);
    cat_bind_text(s, 5, type_version);
    cat_bind_text(s, 6, state);
    return cat_done(c, s, "add task");
}

int catalog_add_edge(catalog *c, int64_t run, int child, int parent)
{
    sqlite3_stmt *s = cat_stmt(c, ST_ADD_EDGE);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int(s, 2, child);
    sqlite3_bind_int(s, 3, parent);
    return cat_done(c, s, "add edge");
}

int catalog_update_task(catalog *c, const catalog_task_update *u, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_UPDATE_TASK);
    if (!s)
        return WEFT_EDB;
    cat_bind_unit(s, u->run, u->idx, u->elem);
    cat_bind_text(s, 3, u->state);
    cat_bind_text(s, 4, u->error_class);
    cat_bind_text(s, 5, u->error);
    cat_bind_text(s, 6, u->outputs);
    cat_bind_time(s, 7, u->ready_us);
    cat_bind_time(s, 8, u->finished_us);
    cat_bind_time(s, 9, u->due_us);
    int rc = cat_done(c, s, "update task");
    if (rc == 0)
        rc = catalog_event(c, u->run, u->task_name, u->state, u->error, now_us);
    return rc;
}

int catalog_start_attempt(catalog *c, const catalog_attempt *a, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_START_ATTEMPT);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, (int64_t)a->id);
    sqlite3_bind_int64(s, 2, a->run);
    sqlite3_bind_int(s, 3, a->idx);
    sqlite3_bind_int(s, 20, a->elem);
    sqlite3_bind_int(s, 4, a->number);
    cat_bind_text(s, 5, a->worker);
    sqlite3_bind_int64(s, 6, now_us);
    if (cat_done(c, s, "start attempt") < 0 || !(s = cat_stmt(c, ST_TASK_RUNNING)))
        return WEFT_EDB;
    cat_bind_unit(s, a->run, a->idx, a->elem);
    sqlite3_bind_int(s, 3, a->number);
    cat_bind_text(s, 4, a->worker);
    cat_bind_text(s, 5, a->inputs);
    sqlite3_bind_int64(s, 6, now_us);
    if (cat_done(c, s, "mark task running") < 0)
        return WEFT_EDB;
    char detail[160];
    snprintf(detail, sizeof detail, "attempt %d (id %llu) on %s", a->number,
             (unsigned long long)a->id, a->worker);
    return catalog_event(c, a->run, a->task_name, "dispatched", detail, now_us);
}

int catalog_finish_attempt(catalog *c, uint64_t id, const char *state, const char *error_class,
                           const char *error, int64_t started_us, int64_t finished_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_FINISH_ATTEMPT);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, (int64_t)id);
    cat_bind_text(s, 2, state);
    cat_bind_text(s, 3, error_class);
    cat_bind_text(s, 4, error);
    cat_bind_time(s, 5, started_us);
    cat_bind_time(s, 6, finished_us);
    return cat_done(c, s, "finish attempt");
}

int catalog_save_checkpoint(catalog *c, uint64_t id, const char *ref_json)
{
    sqlite3_stmt *s = cat_stmt(c, ST_SAVE_CHECKPOINT);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, (int64_t)id);
    cat_bind_text(s, 2, ref_json);
    return cat_done(c, s, "save checkpoint");
}

/* The first column of st's first row, malloc'd, or NULL; resets st. */
static char *first_text(sqlite3_stmt *st)
{
    char *v = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return v;
}

char *catalog_resume_checkpoint(catalog *c, const catalog_attempt *a)
{
    sqlite3_stmt *s;
    if (a->number > 1 && (s = cat_stmt(c, ST_LAST_CHECKPOINT))) {
        sqlite3_bind_int64(s, 1, a->run);
        sqlite3_bind_int(s, 2, a->idx);
        sqlite3_bind_int(s, 3, a->elem);
        char *ref = first_text(s);
        if (ref)
            return ref;
    }
    if (!a->task_name || !a->inputs || !(s = cat_stmt(c, ST_RETRIED_CHECKPOINT)))
        return NULL;
    sqlite3_bind_int64(s, 1, a->run);
    cat_bind_text(s, 2, a->task_name);
    sqlite3_bind_int(s, 3, a->elem);
    cat_bind_text(s, 4, a->inputs);
    return first_text(s);
}

int catalog_finish_run(catalog *c, int64_t run, const char *state, const char *error,
                       int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_FINISH_RUN);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, run);
    cat_bind_text(s, 2, state);
    cat_bind_text(s, 3, error);
    sqlite3_bind_int64(s, 4, now_us);
    int rc = cat_done(c, s, "finish run");
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
    int rc = cat_done(c, s, "store worker");
    return rc ? rc : catalog_event(c, 0, NULL, state, name, now_us);
}

int catalog_event(catalog *c, int64_t run, const char *task, const char *kind,
                  const char *detail, int64_t now_us)
{
    sqlite3_stmt *s = cat_stmt(c, ST_EVENT);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, now_us);
    if (run)
        sqlite3_bind_int64(s, 2, run);
    cat_bind_text(s, 3, task);
    cat_bind_text(s, 4, kind);
    cat_bind_text(s, 5, detail);
    return cat_done(c, s, "append event");
}

uint64_t catalog_max_attempt_id(catalog *c)
{
    sqlite3_stmt *st;
    uint64_t v = 0;
    if (sqlite3_prepare_v2(c->db, "SELECT coalesce(max(id), 0) FROM attempts", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int catalog_write_log(catalog *c, int64_t run, const char *task, int attempt,
                      const void *data, size_t len)
{
    if (len == 0)
        return 0; /* an absent log file reads as empty */
    char *dir = xasprintf("%s/logs/%lld", c->dir, (long long)run);
    char *path = xasprintf("%s/%s.%d.log", dir, task, attempt);
    int rc = fs_mkdir_p(dir, 0755);
    if (rc == 0)
        rc = fs_write_file(path, data, len);
    if (rc < 0)
        log_warn("cannot write task log %s: %s", path, strerror(-rc));
    free(dir);
    free(path);
    return rc;
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
