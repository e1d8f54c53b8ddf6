/* catalog_file: the catalogue's database file: schema and migrations, opening with care
 * (the high-water marks of catalog.marks, see marks.h), checking, and the write probe.
 * Not here: reads and writes of the catalogue's contents (catalog.c, catalog_query.c). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xmem.h"
#include "catalog/catalog_int.h"
#include "catalog/catvfs.h"

#define BUSY_WAIT_MS 5000
#define CHECK_LINES 3

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
    /* 9: exactly-once requests: a client's idempotency key with the first answer it got;
     * and the scheduler's own small records (the write probe of a degraded scheduler). */
    "CREATE TABLE requests ("
    "  key TEXT PRIMARY KEY, kind TEXT NOT NULL, code INTEGER NOT NULL, error TEXT,"
    "  json TEXT, run_id INTEGER, created_us INTEGER NOT NULL);"
    "CREATE INDEX requests_age ON requests(created_us);"
    "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT);",
    /* 10: the keys the scheduler admits: one row per CURVE public key, of a principal (a
     * name with a role; a name may hold several keys while they are rotated). */
    "CREATE TABLE principals ("
    "  public_key TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
    "  projects TEXT NOT NULL DEFAULT '[]', created_us INTEGER NOT NULL, revoked_us INTEGER);"
    "CREATE INDEX principals_name ON principals(name);",
    /* 11: projects. Every run belongs to one (runs before this belong to 'default'), and so
     * does every cache entry (the project of the run that computed it); a project's limits
     * (0: none) live in projects, a row per project an admin set limits for. */
    "ALTER TABLE runs ADD COLUMN project TEXT NOT NULL DEFAULT 'default';"
    "CREATE INDEX runs_project ON runs(project, id);"
    "ALTER TABLE cache ADD COLUMN project TEXT NOT NULL DEFAULT 'default';"
    "CREATE TABLE projects ("
    "  name TEXT PRIMARY KEY, max_runs INTEGER NOT NULL DEFAULT 0,"
    "  max_tasks INTEGER NOT NULL DEFAULT 0, max_inflight INTEGER NOT NULL DEFAULT 0,"
    "  updated_us INTEGER NOT NULL);",
    /* 12: blobs remote clients uploaded, by project: a submit may name only what its
     * project uploaded, and a blob a project holds is not sent again. */
    "CREATE TABLE uploads ("
    "  project TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,"
    "  created_us INTEGER NOT NULL, PRIMARY KEY (project, hash));",
    /* 13: a run's labels (a JSON object of strings), given at submit, for finding it. */
    "ALTER TABLE runs ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';",
    /* 14: schedules and the slots they fired. A schedule (kind cron) fires at the slots of
     * its expression after its cursor; a backfill (kind backfill) queues a range of slots
     * once. A fired slot is a row of fires, unique per schedule, written in the turn that
     * creates its run (run_id NULL: queued behind max_active; error: it could not start).
     * A run knows its schedule, logical time and the ${schedule.*} values it was compiled
     * with. A removed schedule keeps its row, for its runs' history. */
    "CREATE TABLE schedules ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, project TEXT NOT NULL,"
    "  workflow TEXT NOT NULL, file TEXT NOT NULL, spec TEXT NOT NULL, params TEXT NOT NULL,"
    "  artifacts TEXT NOT NULL, labels TEXT NOT NULL, timing TEXT NOT NULL,"
    "  max_active INTEGER NOT NULL, paused INTEGER NOT NULL DEFAULT 0,"
    "  cursor_s INTEGER NOT NULL, created_us INTEGER NOT NULL, created_by TEXT NOT NULL,"
    "  removed_us INTEGER);"
    "CREATE UNIQUE INDEX schedules_name ON schedules(name) WHERE removed_us IS NULL;"
    "CREATE TABLE fires ("
    "  schedule_id INTEGER NOT NULL, slot_s INTEGER NOT NULL,"
    "  interval_start_s INTEGER NOT NULL, run_id INTEGER, error TEXT,"
    "  queued_us INTEGER NOT NULL, PRIMARY KEY (schedule_id, slot_s));"
    "CREATE INDEX fires_queued ON fires(schedule_id, slot_s) WHERE run_id IS NULL AND "
    "  error IS NULL;"
    "ALTER TABLE runs ADD COLUMN schedule_id INTEGER;"
    "ALTER TABLE runs ADD COLUMN logical_s INTEGER;"
    "ALTER TABLE runs ADD COLUMN schedule_vars TEXT;"
    "CREATE INDEX runs_schedule ON runs(schedule_id) WHERE schedule_id IS NOT NULL;"
    "CREATE INDEX runs_logical ON runs(logical_s) WHERE logical_s IS NOT NULL;",
    /* 15: the notification outbox. A row per event and target, queued in the turn that
     * records the event (key: unique, so an event queues once), with what to send; the
     * scheduler delivers it, recording every attempt, until it is delivered or given up. */
    "CREATE TABLE notifications ("
    "  id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, run_id INTEGER,"
    "  project TEXT NOT NULL, event TEXT NOT NULL, target TEXT NOT NULL,"
    "  payload TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_us INTEGER NOT NULL, created_us INTEGER NOT NULL, finished_us INTEGER,"
    "  last_error TEXT);"
    "CREATE INDEX notifications_due ON notifications(next_us) WHERE state = 'pending';"
    "CREATE INDEX notifications_run ON notifications(run_id);"
    "CREATE TABLE notification_attempts ("
    "  notification_id INTEGER NOT NULL, number INTEGER NOT NULL,"
    "  started_us INTEGER NOT NULL, finished_us INTEGER NOT NULL, status INTEGER,"
    "  error TEXT, PRIMARY KEY (notification_id, number));",
    /* 16: registered workflows: a workflow kept under its name in a project, to be run by
     * name (weft register, POST /api/v1/workflows) with its typed parameters; artifacts
     * pins the paths its defaults named (path -> reference), taken when it was registered,
     * so a run of it never reads the scheduler's disk for a remote client. Registering a
     * name again replaces it and counts its version up. */
    "CREATE TABLE registrations ("
    "  project TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
    "  file TEXT NOT NULL, spec TEXT NOT NULL, params TEXT NOT NULL, artifacts TEXT NOT NULL,"
    "  registered_us INTEGER NOT NULL, registered_by TEXT NOT NULL,"
    "  PRIMARY KEY (project, name));",
    /* 17: the blob journal: small blobs (a task's outputs, a client's inline files) whose
     * store files were written without fsync, kept here in the commit that references them
     * until the store's file system has synced them (see catalog.h). Ids are never reused:
     * the scheduler drops entries up to an id. */
    "CREATE TABLE blob_journal ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT NOT NULL, data BLOB NOT NULL);",
    /* 18: what an attempt used: its peak memory and CPU time (NULL: not measured). */
    "ALTER TABLE attempts ADD COLUMN peak_mem_bytes INTEGER;"
    "ALTER TABLE attempts ADD COLUMN cpu_us INTEGER;",
    /* 19: a project's default priority (of tasks and workflows that name none). */
    "ALTER TABLE projects ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;",
    /* 20: a run's notable events (its own, and its tasks' failures and retry waits), which a
     * client following its progress asks for every 100 ms, indexed apart: it no longer
     * reads every task's ready, dispatched and succeeded events to find them. The condition
     * is catalog_query_progress's, word for word (SQLite uses the index only then). */
    "CREATE INDEX events_notable ON events(run_id, seq)"
    "  WHERE task IS NULL OR kind IN ('failed', 'retry_wait');",
    /* 21: a finished run's tasks and map elements by state ({"succeeded": n}), final when
     * it finished: a client's last look at a large run no longer counts its rows (NULL: a
     * run that finished before, or whose counts were not known, is counted). */
    "ALTER TABLE runs ADD COLUMN counts TEXT;",
    /* 22: events in blocks (catalog_events.c): a run's events of a turn in one row, as a
     * JSON array of [ts_us, task, kind, detail] numbered from the row's seq, a notable one
     * in a row of its own; the view events shows them one a row, as this table did. Each
     * event before becomes a block of one. */
    "CREATE TABLE event_blocks ("
    "  seq INTEGER PRIMARY KEY, run_id INTEGER, n INTEGER NOT NULL,"
    "  notable INTEGER NOT NULL, events TEXT NOT NULL);"
    "INSERT INTO event_blocks(seq, run_id, n, notable, events)"
    "  SELECT seq, run_id, 1, task IS NULL OR kind IN ('failed', 'retry_wait'),"
    "  json_array(json_array(ts_us, task, kind, detail)) FROM events ORDER BY seq;"
    "DROP TABLE events;"
    "CREATE INDEX event_blocks_run ON event_blocks(run_id, seq);"
    "CREATE INDEX event_blocks_notable ON event_blocks(run_id, seq) WHERE notable;"
    "CREATE TRIGGER event_blocks_append_only_u BEFORE UPDATE ON event_blocks"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER event_blocks_append_only_d BEFORE DELETE ON event_blocks"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE VIEW events(seq, ts_us, run_id, task, kind, detail) AS"
    "  SELECT b.seq + e.key, json_extract(e.value, '$[0]'), b.run_id,"
    "  json_extract(e.value, '$[1]'), json_extract(e.value, '$[2]'),"
    "  json_extract(e.value, '$[3]') FROM event_blocks b, json_each(b.events) e;",
    /* 23: a task's last attempt lives in its row (attempt_id and the attempt_ columns,
     * with attempts as its number and worker as its worker), written as the task is
     * dispatched and as the attempt ends, instead of in a row of its own inserted and then
     * updated; attempt_rows keeps the attempts before it (moved there as the next one
     * starts) and every attempt of the catalogue before this. The view attempts shows them
     * all, as the table of that name did. */
    "ALTER TABLE attempts RENAME TO attempt_rows;"
    "ALTER TABLE tasks ADD COLUMN attempt_id INTEGER;"
    "ALTER TABLE tasks ADD COLUMN attempt_state TEXT;"
    "ALTER TABLE tasks ADD COLUMN attempt_error_class TEXT;"
    "ALTER TABLE tasks ADD COLUMN attempt_error TEXT;"
    "ALTER TABLE tasks ADD COLUMN dispatched_us INTEGER;"
    "ALTER TABLE tasks ADD COLUMN attempt_started_us INTEGER;"
    "ALTER TABLE tasks ADD COLUMN attempt_finished_us INTEGER;"
    "ALTER TABLE tasks ADD COLUMN checkpoint TEXT;"
    "ALTER TABLE tasks ADD COLUMN peak_mem_bytes INTEGER;"
    "ALTER TABLE tasks ADD COLUMN cpu_us INTEGER;"
    "CREATE VIEW attempts(id, run_id, idx, number, worker, state, error_class, error,"
    "  dispatched_us, started_us, finished_us, elem, checkpoint, peak_mem_bytes, cpu_us) AS"
    "  SELECT id, run_id, idx, number, worker, state, error_class, error, dispatched_us,"
    "  started_us, finished_us, elem, checkpoint, peak_mem_bytes, cpu_us FROM attempt_rows"
    "  UNION ALL SELECT attempt_id, run_id, idx, attempts, worker, attempt_state,"
    "  attempt_error_class, attempt_error, dispatched_us, attempt_started_us,"
    "  attempt_finished_us, elem, checkpoint, peak_mem_bytes, cpu_us FROM tasks"
    "  WHERE attempt_id IS NOT NULL;",
    /* 24: edges, never updated and small, are their key alone (WITHOUT ROWID): one b-tree
     * written an edge instead of a table and its key's index. */
    "CREATE TABLE edges_v24 ("
    "  run_id INTEGER NOT NULL, child INTEGER NOT NULL, parent INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, child, parent)) WITHOUT ROWID;"
    "INSERT INTO edges_v24 SELECT run_id, child, parent FROM edges;"
    "DROP TABLE edges;"
    "ALTER TABLE edges_v24 RENAME TO edges;",
};
_Static_assert(sizeof migrations / sizeof migrations[0] == CATALOG_SCHEMA_VERSION,
               "CATALOG_SCHEMA_VERSION is the number of migrations");


int cat_exec(catalog *c, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("catalogue: %s (in: %.60s)", msg ? msg : "?", sql);
        sqlite3_free(msg);
        return WEFT_EDB;
    }
    return 0;
}

/* The first column of sql's first row as an integer; -1 when the query fails. */
static int64_t scalar(catalog *c, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(catalog *c, int version, weft_err *err)
{
    int target = (int)(sizeof migrations / sizeof migrations[0]);
    if (version > target)
        return err_set(err, WEFT_EDB, "%s/catalog.db has schema version %d; this weft knows "
                       "up to %d (upgrade weft)", c->dir, version, target);
    for (int v = version; v < target; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (cat_exec(c, "BEGIN IMMEDIATE") < 0 || cat_exec(c, migrations[v]) < 0 ||
            cat_exec(c, pragma) < 0 || cat_exec(c, "COMMIT") < 0) {
            err_set(err, WEFT_EDB, "%s/catalog.db: migration to schema version %d failed: %s",
                    c->dir, v + 1, sqlite3_errmsg(c->db));
            cat_exec(c, "ROLLBACK");
            return WEFT_EDB;
        }
    }
    return 0;
}

/* The highest run number among the directories of logs/ (0 when none): a run whose logs
 * exist was committed once. */
int64_t cat_logs_high(const char *dir)
{
    char *path = xasprintf("%s/logs", dir);
    DIR *d = opendir(path);
    free(path);
    int64_t high = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end;
        long long v = strtoll(e->d_name, &end, 10);
        if (*end == '\0' && end != e->d_name && v > high)
            high = v;
    }
    if (d)
        closedir(d);
    return high;
}

/* What the database holds against what was committed once. */
typedef struct history {
    int64_t runs, attempts; /* the database's highest ids */
    int64_t logs;           /* the highest run with a directory in logs/ */
    int found;              /* catalog.marks exists (then in c->marks) */
} history;

/* Reads catalog.marks into c->marks, and the highest ids of the database (version: its
 * schema version, 0 for an empty file) and of logs/. */
static int read_history(catalog *c, int version, history *h, weft_err *err)
{
    memset(h, 0, sizeof *h);
    if (marks_read(c->dir, &c->marks, &h->found, err) < 0)
        return err->code;
    h->runs = version > 0 ? scalar(c, "SELECT coalesce(max(id), 0) FROM runs") : 0;
    h->attempts = version >= 23 ? scalar(c, CAT_ATTEMPT_HIGH_SQL)
                  : version > 0 ? scalar(c, "SELECT coalesce(max(id), 0) FROM attempts") : 0;
    h->logs = cat_logs_high(c->dir);
    if (version < 0 || h->runs < 0 || h->attempts < 0)
        return err_set(err, WEFT_ECORRUPT, "%s/catalog.db cannot be read: %s", c->dir,
                       sqlite3_errmsg(c->db));
    return 0;
}

/* Whether the database holds less than catalog.marks or logs/ show was committed. */
static int history_lost(const catalog *c, const history *h)
{
    const catalog_marks *m = &c->marks;
    return h->runs < m->run || h->attempts < m->attempt ||
           h->logs > (h->runs > m->run_floor ? h->runs : m->run_floor);
}

/* The refusal of a database that holds less than was committed. */
static int lost_history(const catalog *c, const history *h, weft_err *err)
{
    return err_set(err, WEFT_ECORRUPT,
                   "%s/catalog.db lost history: it holds runs to %lld, attempts to %lld; "
                   "%s shows runs to %lld, attempts to %lld committed. Recover: weft restore "
                   "BACKUP, or start on what is left with --accept-loss", c->dir,
                   (long long)h->runs, (long long)h->attempts,
                   h->found ? "catalog.marks" : "logs/",
                   (long long)(c->marks.run > h->logs ? c->marks.run : h->logs),
                   (long long)c->marks.attempt);
}

int catalog_check_history(catalog *c, weft_err *err)
{
    history h;
    if (read_history(c, (int)scalar(c, "PRAGMA user_version"), &h, err) < 0)
        return err->code;
    return history_lost(c, &h) ? lost_history(c, &h, err) : 0;
}

/* A database that lost history is refused unless accept_loss; accepted, the ids it lost
 * become floors. Then catalog.marks is brought up to the database and the next run id set. */
static int settle_history(catalog *c, const history *h, int accept_loss, weft_err *err)
{
    int lost = history_lost(c, h);
    if (lost && !accept_loss)
        return lost_history(c, h, err);
    if (lost) {
        log_warn("%s/catalog.db lost history (runs up to %lld committed, %lld left); "
                 "continuing as asked, ids continue after the lost ones", c->dir,
                 (long long)(c->marks.run > h->logs ? c->marks.run : h->logs),
                 (long long)h->runs);
        if (h->logs > c->marks.run)
            c->marks.run = h->logs;
        c->marks.run_floor = marks_run_max(&c->marks);
        c->marks.attempt_floor = marks_attempt_max(&c->marks);
    }
    if (lost || !h->found || h->runs > c->marks.run || h->attempts > c->marks.attempt) {
        c->marks.run = h->runs > c->marks.run || lost ? h->runs : c->marks.run;
        c->marks.attempt = h->attempts > c->marks.attempt || lost ? h->attempts
                                                                  : c->marks.attempt;
        int rc = marks_write(c->dir, &c->marks);
        if (rc < 0)
            return err_set(err, WEFT_EIO, "cannot write %s/catalog.marks: %s", c->dir,
                           strerror(-rc));
    }
    c->committed_attempt = c->marks.attempt;
    c->next_run = marks_run_max(&c->marks) + 1;
    if (h->runs + 1 > c->next_run)
        c->next_run = h->runs + 1;
    return 0;
}

/* Sets up a writable catalogue: WAL, durability, schema, and its history checked. */
static int open_writable(catalog *c, int flags, weft_err *err)
{
    int version = (int)scalar(c, "PRAGMA user_version");
    if (version < 0 || scalar(c, "SELECT count(*) FROM sqlite_schema") < 0)
        return err_set(err, WEFT_ECORRUPT, "%s/catalog.db cannot be read: %s", c->dir,
                       sqlite3_errmsg(c->db));
    history h;
    if (read_history(c, version, &h, err) < 0)
        return err->code;
    /* An empty file where history was committed: refuse before writing a schema into it. */
    if (version == 0 && !(flags & CATALOG_ACCEPT_LOSS) && history_lost(c, &h))
        return lost_history(c, &h, err);
    /* WAL: readers (the CLI) never block the scheduler. synchronous=FULL: a committed
     * group survives power loss, not only a crash of the process. A page cache of up to
     * 16 MiB (SQLite's default is 2 MiB) holds the pages the turns update, which follow the
     * dispatch order: a million-element map runs as fast as with 64 MiB, and a page it
     * misses is read again from the file (most often from the kernel's cache). */
    if (cat_exec(c, "PRAGMA journal_mode = WAL") < 0 ||
        cat_exec(c, "PRAGMA synchronous = FULL") < 0 ||
        cat_exec(c, "PRAGMA cache_size = -16384") < 0 ||
        cat_exec(c, "PRAGMA foreign_keys = ON") < 0)
        return err_set(err, WEFT_EDB, "cannot set up catalogue %s/catalog.db: %s", c->dir,
                       sqlite3_errmsg(c->db));
    if (migrate(c, version, err) < 0)
        return err->code;
    return settle_history(c, &h, flags & CATALOG_ACCEPT_LOSS, err);
}

static const char *wal_vfs; /* catvfs's name, or NULL for the default VFS */

/* SQLite keeps no allocation statistics for weft (nothing reads them): each of its
 * allocations would otherwise take a process-wide mutex. Must precede its initialization.
 * The catalogue's WAL is written a commit's frames at a time (catvfs.c). */
static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    wal_vfs = catvfs_register();
}

int catalog_open(const char *dir, int flags, catalog **out, weft_err *err)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, configure_sqlite);
    int readonly = flags & CATALOG_READONLY;
    if (!readonly && fs_mkdir_p(dir, 0755) < 0)
        return err_set(err, WEFT_EIO, "cannot create state directory %s: %s", dir,
                       strerror(errno));
    catalog *c = xcalloc(1, sizeof *c);
    c->dir = xstrdup(dir);
    char *path = xasprintf("%s/catalog.db", dir);
    int oflags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &c->db, oflags | SQLITE_OPEN_NOMUTEX, wal_vfs);
    if (rc != SQLITE_OK) {
        err_set(err, readonly ? WEFT_ENOTFOUND : WEFT_EDB, "cannot open catalogue %s: %s", path,
                c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        free(path);
        catalog_close(&c);
        return err->code;
    }
    free(path);
    sqlite3_busy_timeout(c->db, BUSY_WAIT_MS);
    sqlite3_extended_result_codes(c->db, 1);
    if (!readonly)
        rc = open_writable(c, flags, err);
    else if (!(flags & CATALOG_ANY_VERSION) &&
             scalar(c, "PRAGMA user_version") != CATALOG_SCHEMA_VERSION)
        rc = err_set(err, WEFT_EDB, "%s/catalog.db has schema version %d; expected %d", dir,
                     (int)scalar(c, "PRAGMA user_version"), CATALOG_SCHEMA_VERSION);
    if (rc < 0) {
        catalog_close(&c);
        return rc;
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
        cat_ckpt_stop(c);
        catalog_commit(c, NULL);
        catalog_write_marks(c);
        for (int i = 0; i < ST__COUNT; i++)
            sqlite3_finalize(c->stmts[i]);
        for (int i = 0; i < CAT_QUERIES; i++)
            cat_query_forget(&c->queries[i]);
        sqlite3_close(c->db);
    }
    cat_events_drop(c);
    free(c->events);
    arena_destroy(&c->event_text);
    cat_rows_drop(c);
    free(c->rows);
    free(c->edges);
    cat_rowids_drop(c);
    arena_destroy(&c->row_text);
    free(c->dir);
    free(c);
    *cp = NULL;
}

void catalog_set_busy_wait(catalog *c, int ms)
{
    sqlite3_busy_timeout(c->db, ms);
}

void cat_marks_committed(catalog *c)
{
    if (c->turn_run > c->marks.run) {
        c->marks.run = c->turn_run;
        c->marks_due = 1;
    }
    if (c->turn_attempt > c->committed_attempt)
        c->committed_attempt = c->turn_attempt;
    c->turn_run = c->turn_attempt = 0;
    if (c->committed_attempt > c->marks.attempt &&
        (c->marks_due || clock_mono_us() - c->marks_written_us >= 1000000)) {
        c->marks.attempt = c->committed_attempt;
        c->marks_due = 1;
    }
}

void catalog_write_marks(catalog *c)
{
    if (!c->marks_due)
        return;
    c->marks_due = 0;
    int rc = marks_write(c->dir, &c->marks);
    if (rc < 0)
        log_warn("cannot write %s/catalog.marks: %s", c->dir, strerror(-rc));
    c->marks_written_us = clock_mono_us();
}

int cat_check_db(sqlite3 *db, const char *path, int full, weft_err *err)
{
    sqlite3_stmt *st;
    const char *sql = full ? "PRAGMA integrity_check" : "PRAGMA quick_check";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return err_set(err, WEFT_ECORRUPT, "%s cannot be checked: %s", path, sqlite3_errmsg(db));
    char found[WEFT_ERR_MSG_MAX] = "";
    size_t len = 0;
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        if (line && strcmp(line, "ok") != 0 && n++ < CHECK_LINES && len < sizeof found)
            len += (size_t)snprintf(found + len, sizeof found - len, "%s%s", len ? "; " : "",
                                    line);
    }
    if (rc != SQLITE_DONE && !n) {
        snprintf(found, sizeof found, "%s", sqlite3_errmsg(db));
        n = 1;
    }
    sqlite3_finalize(st);
    if (n)
        return err_set(err, WEFT_ECORRUPT, "%s is damaged (%s found %d problem%s: %s). "
                       "Restore a backup (weft restore), or salvage what is readable with "
                       "sqlite3's .recover", path, full ? "integrity_check" : "quick_check", n,
                       n == 1 ? "" : "s", found);
    return 0;
}

int catalog_check(catalog *c, int full, weft_err *err)
{
    char *path = xasprintf("%s/catalog.db", c->dir);
    int rc = cat_check_db(c->db, path, full, err);
    free(path);
    return rc;
}

int catalog_probe(catalog *c, int64_t now_us, weft_err *err)
{
    char sql[128];
    snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta(k, v) VALUES ('probe', '%lld')",
             (long long)now_us);
    /* A commit this small fits in the zeros the WAL grew by: the probe also wants room to
     * grow it, which the turns' commits will need. */
    int room = 1;
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK &&
        (room = catvfs_can_grow(c->db)) &&
        sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    err_set(err, WEFT_EDB, "catalogue %s/catalog.db: %s", c->dir,
            room ? sqlite3_errmsg(c->db) : "database or disk is full (its WAL cannot grow)");
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return WEFT_EDB;
}
