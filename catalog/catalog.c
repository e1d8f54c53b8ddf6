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
};

enum stmt_id {
    ST_PUT_WORKFLOW, ST_GET_WORKFLOW, ST_CREATE_RUN, ST_ADD_TASK, ST_ADD_EDGE, ST_UPDATE_TASK,
    ST_START_ATTEMPT, ST_TASK_RUNNING, ST_FINISH_ATTEMPT, ST_FINISH_RUN, ST_PUT_WORKER,
    ST_EVENT, ST_CANCEL_RUN, ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_PUT_WORKFLOW] = "INSERT OR IGNORE INTO workflows(name, version, hash, file, spec, "
                        "created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_GET_WORKFLOW] = "SELECT id FROM workflows WHERE hash = ?1",
    [ST_CREATE_RUN] = "INSERT INTO runs(workflow_id, state, params, ntasks, created_us, types, "
                      "artifacts, retry_of) VALUES (?1, 'running', ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_ADD_TASK] = "INSERT INTO tasks(run_id, idx, name, type, type_version, state) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_ADD_EDGE] = "INSERT OR IGNORE INTO edges(run_id, child, parent) VALUES (?1, ?2, ?3)",
    /* A task that succeeds sheds the error of an earlier attempt (attempts keep it). */
    [ST_UPDATE_TASK] = "UPDATE tasks SET state = ?3, "
                       "error_class = CASE ?3 WHEN 'succeeded' THEN NULL "
                       "ELSE coalesce(?4, error_class) END, "
                       "error = CASE ?3 WHEN 'succeeded' THEN NULL ELSE coalesce(?5, error) END, "
                       "outputs = coalesce(?6, outputs), "
                       "ready_us = coalesce(?7, ready_us), "
                       "finished_us = coalesce(?8, finished_us), retry_due_us = ?9 "
                       "WHERE run_id = ?1 AND idx = ?2",
    [ST_START_ATTEMPT] = "INSERT INTO attempts(id, run_id, idx, number, worker, state, "
                         "dispatched_us) VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6)",
    [ST_TASK_RUNNING] = "UPDATE tasks SET state = 'running', attempts = ?3, worker = ?4, "
                        "inputs = ?5, started_us = coalesce(started_us, ?6), "
                        "retry_due_us = NULL WHERE run_id = ?1 AND idx = ?2",
    [ST_FINISH_ATTEMPT] = "UPDATE attempts SET state = ?2, error_class = ?3, error = ?4, "
                          "started_us = ?5, finished_us = ?6 WHERE id = ?1",
    [ST_FINISH_RUN] = "UPDATE runs SET state = ?2, error = ?3, finished_us = ?4 WHERE id = ?1",
    [ST_PUT_WORKER] = "INSERT INTO workers(name, slots, types, state, first_seen_us, "
                      "last_seen_us) VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(name) DO "
                      "UPDATE SET slots = ?2, types = ?3, state = ?4, last_seen_us = ?5",
    [ST_EVENT] = "INSERT INTO events(ts_us, run_id, task, kind, detail) "
                 "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_CANCEL_RUN] = "UPDATE runs SET cancel_requested = 1 WHERE id = ?1",
};

struct catalog {
    sqlite3 *db;
    char *dir;
    int in_txn;
    sqlite3_stmt *stmts[ST__COUNT];
};

static int db_fail(catalog *c, const char *what)
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
    if (exec(c, "COMMIT") < 0) {
        exec(c, "ROLLBACK");
        return WEFT_EDB;
    }
    return 0;
}

/* Returns the prepared statement for id, reset and unbound, inside the turn's transaction. */
static sqlite3_stmt *stmt(catalog *c, enum stmt_id id)
{
    if (!c->in_txn) {
        if (exec(c, "BEGIN IMMEDIATE") < 0)
            return NULL;
        c->in_txn = 1;
    }
    if (!c->stmts[id] &&
        sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id],
                           NULL) != SQLITE_OK) {
        db_fail(c, "prepare");
        return NULL;
    }
    sqlite3_reset(c->stmts[id]);
    sqlite3_clear_bindings(c->stmts[id]);
    return c->stmts[id];
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static void bind_time(sqlite3_stmt *s, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(s, i, v);
}

static int done(catalog *c, sqlite3_stmt *s, const char *what)
{
    if (!s)
        return WEFT_EDB;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_fail(c, what);
    return 0;
}

int64_t catalog_put_workflow(catalog *c, const char *name, int64_t version, const char *hash,
                             const char *file, const char *spec)
{
    sqlite3_stmt *s = stmt(c, ST_PUT_WORKFLOW);
    if (!s)
        return WEFT_EDB;
    bind_text(s, 1, name);
    sqlite3_bind_int64(s, 2, version);
    bind_text(s, 3, hash);
    bind_text(s, 4, file);
    bind_text(s, 5, spec);
    sqlite3_bind_int64(s, 6, (int64_t)time(NULL) * 1000000);
    if (done(c, s, "store workflow") < 0 || !(s = stmt(c, ST_GET_WORKFLOW)))
        return WEFT_EDB;
    bind_text(s, 1, hash);
    if (sqlite3_step(s) != SQLITE_ROW)
        return db_fail(c, "find workflow");
    return sqlite3_column_int64(s, 0);
}

int64_t catalog_create_run(catalog *c, const catalog_run *r, int64_t now_us)
{
    sqlite3_stmt *s = stmt(c, ST_CREATE_RUN);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, r->workflow_id);
    bind_text(s, 2, r->params);
    sqlite3_bind_int64(s, 3, (int64_t)r->ntasks);
    sqlite3_bind_int64(s, 4, now_us);
    bind_text(s, 5, r->types);
    bind_text(s, 6, r->artifacts ? r->artifacts : "{}");
    bind_time(s, 7, r->retry_of);
    if (done(c, s, "create run") < 0)
        return WEFT_EDB;
    return sqlite3_last_insert_rowid(c->db);
}

int catalog_add_task(catalog *c, int64_t run, int idx, const char *name, const char *type,
                     const char *type_version, const char *state)
{
    sqlite3_stmt *s = stmt(c, ST_ADD_TASK);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int(s, 2, idx);
    bind_text(s, 3, name);
    bind_text(s, 4, type);
    bind_text(s, 5, type_version);
    bind_text(s, 6, state);
    return done(c, s, "add task");
}

int catalog_add_edge(catalog *c, int64_t run, int child, int parent)
{
    sqlite3_stmt *s = stmt(c, ST_ADD_EDGE);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, run);
    sqlite3_bind_int(s, 2, child);
    sqlite3_bind_int(s, 3, parent);
    return done(c, s, "add edge");
}

int catalog_update_task(catalog *c, const catalog_task_update *u, int64_t now_us)
{
    sqlite3_stmt *s = stmt(c, ST_UPDATE_TASK);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, u->run);
    sqlite3_bind_int(s, 2, u->idx);
    bind_text(s, 3, u->state);
    bind_text(s, 4, u->error_class);
    bind_text(s, 5, u->error);
    bind_text(s, 6, u->outputs);
    bind_time(s, 7, u->ready_us);
    bind_time(s, 8, u->finished_us);
    bind_time(s, 9, u->due_us);
    int rc = done(c, s, "update task");
    if (rc == 0)
        rc = catalog_event(c, u->run, u->task_name, u->state, u->error, now_us);
    return rc;
}

int catalog_start_attempt(catalog *c, const catalog_attempt *a, int64_t now_us)
{
    sqlite3_stmt *s = stmt(c, ST_START_ATTEMPT);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, (int64_t)a->id);
    sqlite3_bind_int64(s, 2, a->run);
    sqlite3_bind_int(s, 3, a->idx);
    sqlite3_bind_int(s, 4, a->number);
    bind_text(s, 5, a->worker);
    sqlite3_bind_int64(s, 6, now_us);
    if (done(c, s, "start attempt") < 0 || !(s = stmt(c, ST_TASK_RUNNING)))
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, a->run);
    sqlite3_bind_int(s, 2, a->idx);
    sqlite3_bind_int(s, 3, a->number);
    bind_text(s, 4, a->worker);
    bind_text(s, 5, a->inputs);
    sqlite3_bind_int64(s, 6, now_us);
    if (done(c, s, "mark task running") < 0)
        return WEFT_EDB;
    char detail[160];
    snprintf(detail, sizeof detail, "attempt %d (id %llu) on %s", a->number,
             (unsigned long long)a->id, a->worker);
    return catalog_event(c, a->run, a->task_name, "dispatched", detail, now_us);
}

int catalog_finish_attempt(catalog *c, uint64_t id, const char *state, const char *error_class,
                           const char *error, int64_t started_us, int64_t finished_us)
{
    sqlite3_stmt *s = stmt(c, ST_FINISH_ATTEMPT);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, (int64_t)id);
    bind_text(s, 2, state);
    bind_text(s, 3, error_class);
    bind_text(s, 4, error);
    bind_time(s, 5, started_us);
    bind_time(s, 6, finished_us);
    return done(c, s, "finish attempt");
}

int catalog_finish_run(catalog *c, int64_t run, const char *state, const char *error,
                       int64_t now_us)
{
    sqlite3_stmt *s = stmt(c, ST_FINISH_RUN);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, run);
    bind_text(s, 2, state);
    bind_text(s, 3, error);
    sqlite3_bind_int64(s, 4, now_us);
    int rc = done(c, s, "finish run");
    return rc ? rc : catalog_event(c, run, NULL, state, error, now_us);
}

int catalog_put_worker(catalog *c, const char *name, uint32_t slots, const char *types_json,
                       const char *state, int64_t now_us)
{
    sqlite3_stmt *s = stmt(c, ST_PUT_WORKER);
    if (!s)
        return WEFT_EDB;
    bind_text(s, 1, name);
    sqlite3_bind_int(s, 2, (int)slots);
    bind_text(s, 3, types_json);
    bind_text(s, 4, state);
    sqlite3_bind_int64(s, 5, now_us);
    int rc = done(c, s, "store worker");
    return rc ? rc : catalog_event(c, 0, NULL, state, name, now_us);
}

int catalog_event(catalog *c, int64_t run, const char *task, const char *kind,
                  const char *detail, int64_t now_us)
{
    sqlite3_stmt *s = stmt(c, ST_EVENT);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, now_us);
    if (run)
        sqlite3_bind_int64(s, 2, run);
    bind_text(s, 3, task);
    bind_text(s, 4, kind);
    bind_text(s, 5, detail);
    return done(c, s, "append event");
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

/* ---- queries ---- */

/* Runs sql with int64 bindings and returns the rows as an array of objects keyed by
 * column name. */
static json_t *rows(catalog *c, const char *sql, const int64_t *args, int nargs,
                    const char *text_arg, weft_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
        err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
        return NULL;
    }
    for (int i = 0; i < nargs; i++)
        sqlite3_bind_int64(st, i + 1, args[i]);
    if (text_arg)
        sqlite3_bind_text(st, nargs + 1, text_arg, -1, SQLITE_TRANSIENT);
    json_t *out = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *row = json_object();
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *name = sqlite3_column_name(st, i);
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER:
                json_object_set_new(row, name, json_integer(sqlite3_column_int64(st, i)));
                break;
            case SQLITE_FLOAT:
                json_object_set_new(row, name, json_real(sqlite3_column_double(st, i)));
                break;
            case SQLITE_NULL:
                json_object_set_new(row, name, json_null());
                break;
            default: {
                const char *t = (const char *)sqlite3_column_text(st, i);
                /* Columns holding JSON are returned as JSON. */
                json_t *v = NULL;
                if (!strcmp(name, "params") || !strcmp(name, "inputs") ||
                    !strcmp(name, "outputs") || !strcmp(name, "types") ||
                    !strcmp(name, "artifacts"))
                    v = json_loads(t, JSON_DECODE_ANY, NULL);
                json_object_set_new(row, name, v ? v : json_string(t));
            }
            }
        }
        json_array_append_new(out, row);
    }
    if (rc != SQLITE_DONE) {
        err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
        json_decref(out);
        out = NULL;
    }
    sqlite3_finalize(st);
    return out;
}

/* The one row sql (with ?1 = run) returns, or NULL with "no run N" when there is none. */
static json_t *run_row(catalog *c, const char *sql, int64_t run, weft_err *err)
{
    int64_t args[] = {run};
    json_t *r = rows(c, sql, args, 1, NULL, err);
    json_t *row = r && json_array_size(r) == 1 ? json_incref(json_array_get(r, 0)) : NULL;
    if (r && !row)
        err_set(err, WEFT_ENOTFOUND, "no run %lld", (long long)run);
    json_decref(r);
    return row;
}

json_t *catalog_query_runs(catalog *c, int limit, weft_err *err)
{
    int64_t args[] = {limit > 0 ? limit : 50};
    return rows(c,
                "SELECT r.id, w.name AS workflow, r.state, r.ntasks, r.created_us, "
                "r.finished_us, r.error, "
                "(SELECT count(*) FROM tasks t WHERE t.run_id = r.id AND "
                "t.state = 'succeeded') AS succeeded, "
                "(SELECT count(*) FROM tasks t WHERE t.run_id = r.id AND "
                "t.state IN ('failed', 'skipped', 'cancelled')) AS failed "
                "FROM runs r JOIN workflows w ON w.id = r.workflow_id "
                "ORDER BY r.id DESC LIMIT ?1",
                args, 1, NULL, err);
}

json_t *catalog_query_run(catalog *c, int64_t run, weft_err *err)
{
    int64_t args[] = {run};
    json_t *out = run_row(c,
                          "SELECT r.id, w.name AS workflow, w.version, w.file, w.hash, r.state, "
                          "r.params, r.ntasks, r.created_us, r.finished_us, r.error "
                          "FROM runs r JOIN workflows w ON w.id = r.workflow_id WHERE r.id = ?1",
                          run, err);
    if (!out)
        return NULL;
    json_t *tasks = rows(c,
                         "SELECT idx, name, type, state, attempts, worker, error_class, error, "
                         "inputs, outputs, ready_us, started_us, finished_us, retry_due_us "
                         "FROM tasks WHERE run_id = ?1 ORDER BY idx",
                         args, 1, NULL, err);
    json_t *attempts = rows(c,
                            "SELECT id, idx, number, worker, state, error_class, error, "
                            "dispatched_us, started_us, finished_us FROM attempts "
                            "WHERE run_id = ?1 ORDER BY idx, number",
                            args, 1, NULL, err);
    if (!tasks || !attempts) {
        json_decref(tasks);
        json_decref(attempts);
        json_decref(out);
        return NULL;
    }
    size_t i, a = 0;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        json_t *list = json_array();
        json_int_t idx = json_integer_value(json_object_get(t, "idx"));
        for (; a < json_array_size(attempts); a++) {
            json_t *at = json_array_get(attempts, a);
            if (json_integer_value(json_object_get(at, "idx")) != idx)
                break;
            json_object_del(at, "idx");
            json_array_append(list, at);
        }
        json_object_set_new(t, "attempt_list", list);
    }
    json_decref(attempts);
    json_object_set_new(out, "tasks", tasks);
    return out;
}

json_t *catalog_query_events(catalog *c, int64_t run, int64_t after_seq, int limit,
                             weft_err *err)
{
    int64_t args[] = {run, after_seq, limit > 0 ? limit : 1000};
    return rows(c,
                "SELECT seq, ts_us, task, kind, detail FROM events "
                "WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                args, 3, NULL, err);
}

int catalog_request_cancel(catalog *c, int64_t run, int64_t now_us)
{
    sqlite3_stmt *s = stmt(c, ST_CANCEL_RUN);
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, run);
    int rc = done(c, s, "request cancel");
    return rc ? rc : catalog_event(c, run, NULL, "cancel_requested", NULL, now_us);
}

json_t *catalog_query_open_runs(catalog *c, weft_err *err)
{
    return rows(c, "SELECT id FROM runs WHERE state = 'running' ORDER BY id", NULL, 0, NULL, err);
}

json_t *catalog_query_recovery(catalog *c, int64_t run, weft_err *err)
{
    int64_t args[] = {run};
    json_t *out = run_row(c,
                          "SELECT r.id, w.file, w.spec, r.params, r.types, r.artifacts, "
                          "r.cancel_requested, r.created_us FROM runs r "
                          "JOIN workflows w ON w.id = r.workflow_id WHERE r.id = ?1",
                          run, err);
    if (!out)
        return NULL;
    json_t *tasks = rows(c,
                         "SELECT t.idx, t.state, t.attempts, t.outputs, t.retry_due_us, "
                         "(SELECT max(a.id) FROM attempts a WHERE a.run_id = t.run_id AND "
                         "a.idx = t.idx AND a.state = 'running') AS running_attempt "
                         "FROM tasks t WHERE t.run_id = ?1 ORDER BY t.idx",
                         args, 1, NULL, err);
    if (!tasks) {
        json_decref(out);
        return NULL;
    }
    json_object_set_new(out, "tasks", tasks);
    return out;
}

json_t *catalog_query_logs(catalog *c, int64_t run, const char *task, weft_err *err)
{
    int64_t args[] = {run};
    json_t *list = rows(c,
                        task ? "SELECT t.name AS task, a.number AS attempt FROM attempts a "
                               "JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx "
                               "WHERE a.run_id = ?1 AND t.name = ?2 ORDER BY a.id"
                             : "SELECT t.name AS task, a.number AS attempt FROM attempts a "
                               "JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx "
                               "WHERE a.run_id = ?1 ORDER BY a.id",
                        args, 1, task, err);
    if (!list)
        return NULL;
    size_t i;
    json_t *e;
    size_t total = 0;
    json_array_foreach(list, i, e) {
        char *path = xasprintf("%s/logs/%lld/%s.%lld.log", c->dir, (long long)run,
                               json_string_value(json_object_get(e, "task")),
                               (long long)json_integer_value(json_object_get(e, "attempt")));
        char *text = NULL;
        size_t len = 0;
        if (total < LOG_READ_MAX &&
            fs_read_file(path, LOG_READ_MAX - total, &text, &len, NULL) == 0) {
            json_t *s = json_stringn(text, len);
            json_object_set_new(e, "log", s ? s : json_string("(log is not valid UTF-8)"));
            total += len;
        } else {
            json_object_set_new(e, "log", json_string(""));
        }
        free(text);
        free(path);
    }
    return list;
}
