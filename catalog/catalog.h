/* catalog: the data catalogue, a SQLite database in WAL mode.
 *
 * Holds workflows (spec and hash), runs, task executions, attempts, the edges of each run's
 * graph, workers, and an append-only trail of events, one per state transition (stored in
 * blocks: catalog_events.c; the view events shows one a row). The schema is versioned
 * (PRAGMA user_version) and migrated forward on open.
 *
 * Writes are grouped: the first write after catalog_commit opens a transaction, and the
 * scheduler calls catalog_commit once per loop turn (group commit). Queries used by the
 * CLI return JSON, so the daemon and a local reader share one implementation.
 *
 * A turn's writes commit together or not at all: once one write fails (disk full, I/O
 * error, a lock held too long, a damaged page) the turn takes no more, and catalog_commit
 * rolls it back and says why. Run ids are issued by the catalogue and never issued twice;
 * catalog.marks beside the database records the highest ids committed, so that a database
 * that lost history is refused on open (see marks.h).
 *
 * Task logs live beside the database, in logs/RUN/TASK.ATTEMPT.log. Not here: artifacts. */
#ifndef WEFT_CATALOG_H
#define WEFT_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

typedef struct catalog catalog;

#define CATALOG_SCHEMA_VERSION 24

enum {
    CATALOG_READONLY = 1,    /* an existing database, for queries only */
    CATALOG_ACCEPT_LOSS = 2, /* open a database that lost history (ids continue after it) */
    CATALOG_ANY_VERSION = 4, /* read-only: open whatever schema version it has (weft check) */
};
/* Opens (creating and migrating) the catalogue in directory dir (catalog.db, logs/).
 * A writable open checks the database against catalog.marks and logs/ and refuses one that
 * holds less than was committed (WEFT_ECORRUPT, saying what it found and how to recover),
 * unless flags has CATALOG_ACCEPT_LOSS. On failure returns a negative code with a message
 * naming the file. */
int catalog_open(const char *dir, int flags, catalog **out, weft_err *err);
/* Commits any open transaction and closes. Accepts NULL; sets *cp to NULL. */
void catalog_close(catalog **cp);
/* Checkpoints the WAL from a thread and a connection of the catalogue's own, rather than in
 * the commit that fills it (2-12 ms, in the scheduler's loop); a commit checkpoints only
 * the few frames that thread left, or a WAL that grew to 8,000 frames regardless. 0, or a
 * negative code with a message. */
int catalog_checkpoint_in_background(catalog *c, weft_err *err);
/* How many checkpoints of the WAL the thread ran, and how many commits ran one. */
void catalog_checkpoints(catalog *c, uint64_t *background, uint64_t *after_commit);
/* Commits the current group of writes, if any. When a write of the group or the commit
 * failed, rolls the group back and returns WEFT_EBUSY (another connection held the write
 * lock) or WEFT_EDB, with the first failure's message in err (may be NULL). */
int catalog_commit(catalog *c, weft_err *err);
/* Writes catalog.marks if a commit raised them since it was last written (logged when it
 * cannot be). The scheduler calls it after sending what a turn's commit allowed, so the
 * write is not on the way from a commit to its messages; catalog_close calls it. */
void catalog_write_marks(catalog *c);
/* Whether this turn has writes to commit. */
int catalog_in_turn(const catalog *c);
/* How long a write waits for another connection's write lock (default 5 s). */
void catalog_set_busy_wait(catalog *c, int ms);
/* Checks the database file: PRAGMA quick_check, or integrity_check when full. 0, or
 * WEFT_ECORRUPT with the first problems found and how to recover. */
int catalog_check(catalog *c, int full, weft_err *err);
/* Compares the database with catalog.marks and logs/ without changing anything: 0, or
 * WEFT_ECORRUPT saying what was committed and what is left. */
int catalog_check_history(catalog *c, weft_err *err);
/* Whether the catalogue can be written now: a small write in a transaction of its own.
 * 0, or WEFT_EDB with the reason. */
int catalog_probe(catalog *c, int64_t now_us, weft_err *err);

/* ---- writes (each joins the current group) ---- */

/* Stores a workflow spec once per hash; returns its id (> 0) or WEFT_EDB. */
int64_t catalog_put_workflow(catalog *c, const char *name, int64_t version, const char *hash,
                             const char *file, const char *spec);
typedef struct catalog_run {
    int64_t workflow_id;
    const char *params;    /* JSON: resolved parameters */
    const char *types;     /* JSON: the declarations of the task types it uses, as a plugin
                              description */
    const char *artifacts; /* JSON: path -> artifact reference for every path it named */
    size_t ntasks;
    int64_t retry_of;      /* the run this one retries, or 0 */
    const char *project;   /* NULL: CATALOG_DEFAULT_PROJECT */
    const char *labels;    /* JSON object of strings; NULL: none */
    int64_t schedule_id;   /* the schedule that fired it (or whose slot it retries), or 0 */
    int64_t logical_s;     /* with schedule_id: the slot */
    const char *schedule_vars; /* JSON: the ${schedule.*} values it was compiled with */
} catalog_run;
/* Creates a run in state "running"; returns its id (> 0) or WEFT_EDB. */
int64_t catalog_create_run(catalog *c, const catalog_run *r, int64_t now_us);
/* A task's row (elem -1), or the row of element elem of mapped task idx. Idempotent. */
int catalog_add_task(catalog *c, int64_t run, int idx, int elem, const char *name,
                     const char *type, const char *type_version, const char *state);
int catalog_add_edge(catalog *c, int64_t run, int child, int parent);

/* A task's new state. Optional fields (NULL / 0) leave the column as it was. */
typedef struct catalog_task_update {
    int64_t run;
    int idx;
    int elem;                /* the element of a mapped task, or -1 (always set it) */
    const char *state;
    const char *task_name;   /* for the event row */
    const char *error_class; /* failures */
    const char *error;
    const char *outputs;     /* JSON, on success */
    const char *inputs;      /* JSON: of a task decided without an attempt (an approval, a
                                subworkflow's entry or exit), as a dispatch records them */
    int64_t ready_us, finished_us, due_us;
    const struct catalog_attempt_end *end; /* the end of the attempt that brought this state,
                                              written with it (NULL: none) */
} catalog_task_update;
int catalog_update_task(catalog *c, const catalog_task_update *u, int64_t now_us);

/* A dispatched attempt: the task's row takes it as its last attempt (the one it had moves
 * to attempt_rows) and is marked running. */
typedef struct catalog_attempt {
    uint64_t id;
    int64_t run;
    int idx;
    int elem;           /* -1, or the element of a mapped task (always set it) */
    const char *task_name;
    int number;
    const char *worker;
    const char *inputs; /* JSON */
    int64_t ready_us;   /* when the task became ready, when that was not recorded (0) */
} catalog_attempt;
int catalog_start_attempt(catalog *c, const catalog_attempt *a, int64_t now_us);
/* An attempt's end. state is "succeeded", "failed" or "stale" (a result nobody waited for,
 * kept for the record). Its unit finds its row: a task's last attempt lives in the task's
 * row, the ones before it in attempt_rows (the view attempts shows both). */
typedef struct catalog_attempt_end {
    uint64_t id;
    int64_t run;
    int idx, elem;
    const char *state;
    const char *error_class, *error; /* failures */
    int64_t started_us, finished_us;
    uint64_t peak_mem_bytes, cpu_us; /* what it used; 0 peak: not measured (NULL) */
    const char *checkpoint;          /* catalog_save_checkpoint's */
} catalog_attempt_end;
int catalog_finish_attempt(catalog *c, const catalog_attempt_end *a);
/* Records the last checkpoint (an artifact reference, JSON: a->checkpoint) attempt a (id and
 * unit) saved. */
int catalog_save_checkpoint(catalog *c, const catalog_attempt_end *a);
/* The checkpoint attempt a (about to be dispatched) resumes from, malloc'd, or NULL: the
 * last one an earlier attempt of its task saved; else, in a run made by weft retry, the last
 * one the retried run's attempts of the task with the same name, element and inputs saved
 * (when that task did not succeed there). */
char *catalog_resume_checkpoint(catalog *c, const catalog_attempt *a);
/* The inputs (JSON, malloc'd) task idx (element elem, or -1) of run was last dispatched
 * with, or NULL. */
char *catalog_task_inputs(catalog *c, int64_t run, int idx, int elem);
/* Records that run ended in state (error: why, or NULL), with its tasks and map elements by
 * state as counts ({"succeeded": n}, JSON text; NULL: not known, counted from its rows
 * when asked). */
int catalog_finish_run(catalog *c, int64_t run, const char *state, const char *error,
                       const char *counts, int64_t now_us);
/* Records that run is to be cancelled (kept across restarts). */
int catalog_request_cancel(catalog *c, int64_t run, int64_t now_us);
int catalog_put_worker(catalog *c, const char *name, uint32_t slots, const char *types_json,
                       const char *state, int64_t now_us);
/* A known worker's new state ("lost", "unknown"), with an event (kind: "worker_" state). */
int catalog_worker_state(catalog *c, const char *name, const char *state, int64_t now_us);
/* Marks every worker "up" as "unknown": a starting scheduler knows none of them yet. */
int catalog_workers_unknown(catalog *c);

/* ---- exactly-once requests ---- */

/* The first answer to a client request with idempotency key `key`. */
typedef struct catalog_answer {
    char kind[16];   /* "submit", "retry", "cancel" */
    int code;        /* 0 or a weft error code */
    char *error;     /* malloc'd or NULL */
    char *json;      /* malloc'd or NULL */
    int64_t run_id;
} catalog_answer;
/* 1 and fills a (free with catalog_answer_free) when key was answered before; 0 when not;
 * a negative code when the catalogue cannot tell. */
int catalog_request_get(catalog *c, const char *key, catalog_answer *a);
void catalog_answer_free(catalog_answer *a);
/* Records the answer to a request with key, in the current group (the answer is sent only
 * after it commits). Keys older than a day are forgotten. */
int catalog_request_put(catalog *c, const char *key, const catalog_answer *a, int64_t now_us);
int catalog_event(catalog *c, int64_t run, const char *task, const char *kind,
                  const char *detail, int64_t now_us);
/* The largest attempt id ever issued (0 when none), counting ids issued before a loss of
 * history that was accepted. */
uint64_t catalog_max_attempt_id(catalog *c);

/* Writes a task log to logs/RUN/TASK.ATTEMPT.log; an empty log writes no file. */
int catalog_write_log(catalog *c, int64_t run, const char *task, int attempt,
                      const void *data, size_t len);

/* ---- a running attempt's log (catalog_log.c) ---- */

#define CATALOG_LOG_STREAM_MAX (64ull << 20) /* a streamed log's size */
#define CATALOG_LOG_TAIL_MAX (1u << 20)      /* what one read of a log returns */
/* Writes data at offset of the log of attempt number attempt of task in run (what a
 * running attempt's log gained; the log written when it ends replaces it). WEFT_ELIMIT
 * past CATALOG_LOG_STREAM_MAX. */
int catalog_append_log(catalog *c, int64_t run, const char *task, int attempt,
                       uint64_t offset, const void *data, size_t len);
/* The number of task's (or element "task[i]"'s) last attempt in run, or 0. */
int catalog_last_attempt(catalog *c, int64_t run, const char *task);
/* Whether attempt number attempt of task (or element "task[i]") in run is still running:
 * 1, 0, or -1 when the catalogue cannot say. */
int catalog_attempt_running(catalog *c, int64_t run, const char *task, int attempt);
/* The size of that log now (0 when there is none). */
int64_t catalog_log_size(catalog *c, int64_t run, const char *task, int attempt);
/* That log from offset on (at most CATALOG_LOG_TAIL_MAX bytes, whole UTF-8 characters):
 * {"data", "next" (the offset after it), "size" (of the log now)}. */
json_t *catalog_query_log_tail(catalog *c, int64_t run, const char *task, int attempt,
                               uint64_t offset, weft_err *err);

/* ---- principals: the CURVE keys the scheduler admits ---- */

/* A key of principal name with role ("worker", "client" or "admin") and the projects it
 * may use (a JSON array of names; NULL: none). */
typedef struct catalog_key {
    const char *public_key, *name, *role, *projects;
} catalog_key;
/* Adds a key. The caller checks that the key is new and the role is the name's (a duplicate
 * key fails the turn). */
int catalog_add_key(catalog *c, const catalog_key *k, int64_t now_us);
/* Revokes every unrevoked key of the principal name_or_key, or the one key it is; returns
 * how many were revoked (0: none) or WEFT_EDB. */
int catalog_revoke_keys(catalog *c, const char *name_or_key, int64_t now_us);
/* Every key, revoked ones too: [{"public_key", "name", "role", "projects", "created_us",
 * "revoked_us"}], by name. */
json_t *catalog_list_keys(catalog *c, weft_err *err);

/* ---- projects: every run belongs to one ---- */

#define CATALOG_DEFAULT_PROJECT "default"

/* A project's limits; 0 means none. */
typedef struct catalog_project {
    const char *name;
    int64_t max_runs;     /* runs running at once */
    int64_t max_tasks;    /* tasks and map elements of one run */
    int64_t max_inflight; /* attempts in flight at once, over all its runs */
    int64_t priority;     /* of its tasks that have none of their own or their workflow's */
} catalog_project;
/* Sets (replaces) a project's limits. */
int catalog_set_project(catalog *c, const catalog_project *p, int64_t now_us);
/* Every project that has limits or runs: [{"name", "max_runs", "max_tasks",
 * "max_inflight", "priority", "runs"}], by name ("runs": how many it ever had). */
json_t *catalog_list_projects(catalog *c, weft_err *err);
/* The project of run into out (n bytes): 1, 0 when there is no such run, or WEFT_EDB. */
int catalog_run_project(catalog *c, int64_t run, char *out, size_t n);
/* Records that project uploaded blob hash (once). */
int catalog_put_upload(catalog *c, const char *project, const char *hash, uint64_t size,
                       int64_t now_us);
/* Whether project uploaded blob hash: 1, 0, or WEFT_EDB. */
int catalog_has_upload(catalog *c, const char *project, const char *hash);

/* ---- schedules and backfills (catalog_schedule.c) ---- */

/* A schedule (kind "cron": fires at its slots after cursor_s) or a backfill (kind
 * "backfill": runs the slots queued when it was made). timing is the workflow's normalized
 * schedule (JSON); spec, file, params (resolved, JSON) and artifacts (pins, JSON) are what
 * every run it starts is compiled from. */
typedef struct catalog_schedule {
    const char *name, *kind, *project, *workflow, *file, *spec, *params, *artifacts,
        *labels, *timing, *created_by;
    int64_t max_active, cursor_s;
} catalog_schedule;
/* Adds one (name NULL: "backfill-ID"); returns its id (> 0) or WEFT_EDB (also when a live
 * one has the name: check first). */
int64_t catalog_add_schedule(catalog *c, const catalog_schedule *s, int64_t now_us);
/* Pauses or resumes a schedule, or (removed_us) removes it: it fires no more, and its name
 * is free again; its row stays for its runs' history. */
int catalog_schedule_set(catalog *c, int64_t id, int paused, int64_t removed_us);
/* Every slot up to cursor_s has been decided (fired, or passed over by catchup). */
int catalog_schedule_cursor(catalog *c, int64_t id, int64_t cursor_s);
/* Records that slot_s of schedule fired (queued: no run yet), its data interval starting at
 * start_s. 1, or 0 when the slot fired before (nothing is written), or WEFT_EDB. */
int catalog_put_fire(catalog *c, int64_t schedule, int64_t slot_s, int64_t start_s,
                     int64_t now_us);
/* A queued slot started run (> 0), or could not start (error). */
int catalog_fire_started(catalog *c, int64_t schedule, int64_t slot_s, int64_t run,
                         const char *error);
/* Schedules and backfills, by name (removed ones too when removed), of the projects in
 * within (a JSON array; NULL: every project): each {"id", "name", "kind", "project",
 * "workflow", "timing", "labels", "max_active", "paused", "cursor_s", "created_us",
 * "created_by", "removed_us", "fired", "queued", "running", "last_run", "last_state",
 * "last_slot_s", "last_error"}. */
json_t *catalog_list_schedules(catalog *c, const char *within, int removed, weft_err *err);
/* Adds to a row of those what people look for: "state" (active, paused, removed; a
 * backfill: running, paused, done) and "next_s" (the next fire of an active schedule,
 * after now_s). */
void catalog_schedule_describe(json_t *row, int64_t now_s);
/* One schedule by id (> 0), or by name among the live ones: the listing's row with "file",
 * "spec", "params" and "artifacts"; NULL with WEFT_ENOTFOUND when there is none. */
json_t *catalog_schedule_get(catalog *c, int64_t id, const char *name, weft_err *err);
/* The ids of the live (not removed) schedules and backfills: [{"id"}]. */
json_t *catalog_live_schedules(catalog *c, weft_err *err);
/* The first limit queued slots of schedule, oldest first: [{"slot_s",
 * "interval_start_s"}]. */
json_t *catalog_queued_fires(catalog *c, int64_t schedule, int limit, weft_err *err);
/* How many runs of schedule are running, or WEFT_EDB. */
int64_t catalog_schedule_running(catalog *c, int64_t schedule);
/* Whether a run of workflow in project for slot_s succeeded or is running (by any schedule
 * or backfill, or a retry of one): 1, 0, or WEFT_EDB. */
int catalog_slot_taken(catalog *c, const char *project, const char *workflow, int64_t slot_s);

/* ---- the notification outbox (catalog_notify.c) ---- */

/* What to send to one target about one event. */
typedef struct catalog_notification {
    const char *key;     /* unique: the event and the target */
    int64_t run;         /* or 0 */
    const char *project, *event;
    const char *target;  /* JSON: the normalized notify target */
    const char *payload; /* JSON: what happened */
} catalog_notification;
/* Queues n (pending, due now): 1, or 0 when its key was queued before, or WEFT_EDB. */
int catalog_put_notification(catalog *c, const catalog_notification *n, int64_t now_us);
/* Up to limit pending notifications due by now_us, oldest first: [{"id", "key", "run_id",
 * "project", "event", "target", "payload", "attempts", "created_us"}]. */
json_t *catalog_due_notifications(catalog *c, int64_t now_us, int limit, weft_err *err);
/* When the next pending notification is due (0: none). */
int64_t catalog_next_notification_us(catalog *c);
/* Records delivery attempt number of notification id (status: the HTTP or SMTP reply code,
 * 0 when none; error NULL when it was delivered) and its new state: "delivered", "pending"
 * (again at next_us) or "failed" (given up). */
typedef struct catalog_delivery {
    int64_t id;
    const char *key;     /* the row's key too (an id may be reissued after a rollback) */
    int number;
    int64_t started_us, finished_us;
    long status;
    const char *error;
    const char *state;
    int64_t next_us;
} catalog_delivery;
int catalog_record_delivery(catalog *c, const catalog_delivery *d);
/* Notifications of run (0: every run) within the projects of within (a JSON array; NULL:
 * all), newest first, each with its attempts: [{"id", "run_id", "project", "event", "type",
 * "state", "attempts", "created_us", "finished_us", "last_error", "attempt_list"}]. */
json_t *catalog_query_notifications(catalog *c, int64_t run, const char *within, int limit,
                                    weft_err *err);

/* ---- memoization (catalog_cache.c) ---- */

/* A memoized task was looked up: its key, cache version and resolved inputs. */
int catalog_task_lookup(catalog *c, int64_t run, int idx, int elem, const char *key,
                        const char *cache_version, const char *inputs_json);
/* Where a task's outputs came from: via "cache" or "in-flight" (an identical task), with
 * the run and task that computed them. */
int catalog_task_source(catalog *c, int64_t run, int idx, int elem, const char *via,
                        int64_t src_run, const char *src_task);
/* The cache entry for key: {"outputs", "run_id", "task"} (new reference), or NULL. */
json_t *catalog_cache_get(catalog *c, const char *key);
/* Counts a hit on key. */
int catalog_cache_hit(catalog *c, const char *key, int64_t now_us);
/* Records the outputs of task idx of run (which was looked up) as the entry for its key. */
int catalog_cache_put(catalog *c, int64_t run, int idx, int elem, const char *outputs_json,
                      int64_t now_us);
/* Deletes the entry for key (0 whether or not there was one). */
int catalog_cache_del(catalog *c, const char *key);

/* Which cache entries: key prefix, workflow, task and project (NULL: any). */
typedef struct catalog_cache_filter {
    const char *prefix, *workflow, *task, *project;
} catalog_cache_filter;
/* Cache entries, newest first, filtered by workflow, task and project (f->prefix unused):
 * each {"key", "project", "workflow", "task", "type", "type_version", "cache_version",
 * "run_id", "created_us", "hits", "last_hit_us"}. */
json_t *catalog_query_cache(catalog *c, const catalog_cache_filter *f, int limit,
                            weft_err *err);
/* The entries whose key starts with prefix, with inputs and outputs. */
json_t *catalog_query_cache_entry(catalog *c, const char *prefix, weft_err *err);
/* For cache explain: task (by name) of run, with its workflow, key, cache version, inputs,
 * source, and run creation time; then "nearest": the latest entry for the same workflow
 * and task created before that run (or null), with inputs. */
json_t *catalog_query_cache_explain(catalog *c, int64_t run, const char *task, weft_err *err);
/* Deletes the entries matching f; returns how many, or a negative code. */
int64_t catalog_cache_evict(catalog *c, const catalog_cache_filter *f, weft_err *err);

/* ---- garbage collection (catalog_gc.c) ---- */

/* The references that keep artifacts alive live in JSON documents: the artifacts, task
 * inputs and task outputs of every run that is running or finished at or after
 * expire_before_us (0: of every run), and the inputs and outputs of every cache entry.
 * fn is called with each document's text; a nonzero return stops and is returned. */
typedef int (*catalog_root_fn)(void *ud, const char *json);
typedef struct catalog_roots {
    int64_t runs_kept, runs_expired, cache_entries;
} catalog_roots;
int catalog_each_root(catalog *c, int64_t expire_before_us, catalog_root_fn fn, void *ud,
                      catalog_roots *n, weft_err *err);

/* ---- backup and restore (catalog_backup.c) ---- */

/* Copies the catalogue in dir to the file dest (which must not exist) with SQLite's online
 * backup: a consistent copy even while a scheduler writes. The copy is checked. */
int catalog_backup(const char *dir, const char *dest, weft_err *err);
/* Replaces the catalogue in dir (no scheduler may be running on it) by the backup src,
 * after checking src. The replaced file is kept as catalog.db.replaced-TIME; ids issued
 * before stay issued (catalog.marks keeps them as floors). *kept gets the kept file's
 * path (caller frees), or NULL when there was none. */
int catalog_restore(const char *dir, const char *src, char **kept, weft_err *err);

/* ---- queries (JSON; caller json_decrefs; NULL with err when not found) ---- */

/* Which runs catalog_query_runs lists: project NULL: of any project; within (a JSON array
 * of project names) NULL: no restriction; the others NULL or 0: any. */
typedef struct catalog_runs_filter {
    const char *project;
    const char *within;
    const char *workflow;
    const char *state;
    int64_t since_us, until_us; /* created in [since, until) */
    const char *labels;   /* a JSON object: runs carrying every one of these labels */
    const char *schedule; /* runs fired by the schedule or backfill of this name */
    int64_t before_run;   /* ids below this one (paging) */
    int limit;            /* <= 0: 50 */
} catalog_runs_filter;
/* Runs, newest first, each with its project, and its schedule and logical time (null when
 * started by hand). */
json_t *catalog_query_runs(catalog *c, const catalog_runs_filter *f, weft_err *err);
/* A run of more tasks and elements than this is not listed whole (its JSON would take
 * about 5 KB each): catalog_query_run refuses it, naming the ways to read it in parts. */
#define CATALOG_LIST_WHOLE_MAX 100000
/* One run: its row (with retry_of, schedule, logical_s and schedule_vars), and its tasks in
 * order, each with its attempts ("attempt_list"), inputs, outputs and lineage ("source":
 * computed, cache, in-flight or retry for a succeeded task; "source_run" and "source_task"
 * when copied); a mapped task holds its elements, likewise, in "elements". */
json_t *catalog_query_run(catalog *c, int64_t run, weft_err *err);
/* The same, listing at most max_elements elements of each mapped task (0: every one): those
 * that neither succeeded nor wait (failed first, then cancelled, running...), in order. In
 * both, a mapped task carries element_counts ({state: n}), elements_total and
 * element_attempts, counted over all its elements: what a summary of a large map needs
 * without holding each element. With max_tasks > 0 the run carries task_counts ({state: n}
 * over its tasks), and a run of more tasks than that lists max_tasks of its tasks alike: those
 * that neither succeeded nor wait, failed first (what a summary of a 100,000-task run needs). */
json_t *catalog_query_run_some(catalog *c, int64_t run, int max_elements, int max_tasks,
                               weft_err *err);
/* The task rows of run alone, in order, as catalog_query_run has them without their
 * attempts and elements. */
json_t *catalog_query_task_rows(catalog *c, int64_t run, weft_err *err);
/* In a catalog_query_run answer, the task or element ("task[i]") called name, or NULL. */
const json_t *catalog_run_unit(const json_t *run, const char *name);
/* The run's row with, as its "tasks", the one task or element ("task[i]") called name (as
 * catalog_query_run has it, attempts included), or none when the run has no such unit. */
json_t *catalog_query_run_unit(catalog *c, int64_t run, const char *name, weft_err *err);
/* The edges of run's graph: [[child, parent], ...] by task index. */
json_t *catalog_query_edges(catalog *c, int64_t run, weft_err *err);
/* The same row without its tasks. */
json_t *catalog_query_run_row(catalog *c, int64_t run, weft_err *err);
/* The run's events after after_seq, in order, at most limit (<= 0: 1,000): [{"seq",
 * "ts_us", "task" (null for the run's own), "kind", "detail"}]. As JSON text, written
 * straight from the blocks (a follower reads every event of a run: 3 a task). */
char *catalog_query_events_text(catalog *c, int64_t run, int64_t after_seq, int limit,
                                weft_err *err);
/* The same, parsed. */
json_t *catalog_query_events(catalog *c, int64_t run, int64_t after_seq, int limit,
                             weft_err *err);
/* A run's progress, for a client following it: {"seq": S, "counts": {state: n}, "events":
 * [...]}: its tasks and map elements by state (when count; else "counts" is {}): those
 * it finished with, when they were kept, else counted from its rows; and the notable
 * events (a task failed or waiting to retry, and the run's own) with a sequence number
 * after after_seq, up to S, the cursor for the next call. */
json_t *catalog_query_progress(catalog *c, int64_t run, int64_t after_seq, int count,
                               weft_err *err);
/* The runs in state "running", oldest first: [{"id", "created_us"}, ...]. */
json_t *catalog_query_open_runs(catalog *c, weft_err *err);
/* What a restarted scheduler needs to rebuild a run: {"id", "file", "spec", "params",
 * "types", "artifacts", "cancel_requested", "project", "labels", "schedule_id", "logical_s",
 * "schedule_vars"}; its tasks and elements are read with catalog_each_unit. */
json_t *catalog_query_recovery(catalog *c, int64_t run, weft_err *err);

/* One task or element row of a run as catalog_each_unit passes it; the strings (JSON text
 * for inputs and outputs; NULL where the column is) last until the callback returns. */
typedef struct catalog_unit {
    int idx, elem;            /* elem -1: the task itself */
    const char *name, *state, *error, *inputs, *outputs;
    int attempts;
    int64_t retry_due_us;
    const char *source;       /* a succeeded unit's: computed, cache, in-flight, retry */
    int64_t source_run;
    const char *source_task;
    int64_t running_attempt;  /* the attempt the catalogue holds running (0: none) */
    const char *running_worker;
    int64_t running_dispatched_us;
} catalog_unit;
typedef int (*catalog_unit_fn)(void *ud, const catalog_unit *u);
/* A catalog_unit's JSON column as a value (a new reference): null when the column is, as
 * catalog_query_run has it. */
json_t *catalog_unit_json(const char *text);
/* Calls fn on each row of run by (idx, elem): every task and element when task < 0, the
 * elements of that task otherwise. Holds one row at a time, so a run of a million
 * elements is read in constant memory. Returns 0, fn's first non-zero return, or -1 with
 * err when the read fails. */
int catalog_each_unit(catalog *c, int64_t run, int task, catalog_unit_fn fn, void *ud,
                      weft_err *err);
/* ---- workflows: registered, and as they ran (catalog_workflows.c) ---- */

typedef struct catalog_registration {
    const char *project, *name, *file, *spec;
    const char *params;    /* compile_describe_params as JSON text */
    const char *artifacts; /* pinned paths: JSON object text */
    const char *by;        /* the principal registering it */
} catalog_registration;
/* Registers r (replacing the project's workflow of that name); returns its version (1, 2,
 * ...) or WEFT_EDB. */
int64_t catalog_register(catalog *c, const catalog_registration *r, int64_t now_us);
/* The registration of name in project: {"project", "name", "version", "file", "spec",
 * "params", "artifacts", "registered_us", "registered_by"}, or NULL (WEFT_ENOTFOUND). */
json_t *catalog_registration_get(catalog *c, const char *project, const char *name,
                                 weft_err *err);
/* The workflows registered in, or that ran in, the projects of within (a JSON array; NULL:
 * every project), by project and name: [{"project", "name", "registered" (its version,
 * or null), "runs", "last_run_us", "last_state"}]. */
json_t *catalog_query_workflows(catalog *c, const char *within, weft_err *err);
/* The workflow name of the projects of within (project NULL: any of them): registered, or
 * else as its latest run ran it: {"project", "name", "version", "file", "spec",
 * "registered" (true or false), "params" (registered: their description), "last_run"};
 * WEFT_ENOTFOUND when none. */
json_t *catalog_query_workflow(catalog *c, const char *name, const char *project,
                               const char *within, weft_err *err);
/* Every worker that ever registered: [{"name", "slots", "state", "types" (JSON text),
 * "first_seen_us", "last_seen_us", "running" (attempts running on it now)}]. */
json_t *catalog_query_workers(catalog *c, weft_err *err);
/* Counts for metrics, by project, of the projects of within (NULL: every one): {"runs",
 * "tasks" (elements not counted): [{"project", "workflow", "state", "n"}], "attempts":
 * [{... "error_class" ("" when none)}], "cache": [{"project", "result" (hit or miss, of
 * memoized tasks that succeeded), "n"}], "notifications": [{"project", "state", "n"}],
 * "deliveries": [{"project", "outcome" (ok or error), "n"}], "schedules": [{"project",
 * "name", "paused", "lag_s" (how late its last fire started, null before one)}]}. */
json_t *catalog_metrics(catalog *c, const char *within, weft_err *err);
/* ---- the blob journal (catalog_journal.c) ----
 *
 * A small blob (a task's output, a client's inline file) can be made durable by the commit
 * that references it instead of an fsync of its own: the scheduler adds it here in that
 * commit, writes its store file unsynced after, and drops the entries once a sync of the
 * store's file system has covered them. On start it writes and syncs every blob still
 * here (a power cut may have lost its file) before dropping them. */

/* Adds blob hex (its len bytes of data) to the journal, in the turn: its entry's id (> 0),
 * or WEFT_EDB. */
int64_t catalog_journal_add(catalog *c, const char *hex, const void *data, size_t len);
/* Drops the entries up to id upto, in the turn. */
int catalog_journal_drop(catalog *c, int64_t upto);
/* Calls fn for every entry, oldest first; a nonzero return from fn stops and is returned. */
typedef int (*catalog_journal_fn)(void *ud, int64_t id, const char *hex, const void *data,
                                  size_t len);
int catalog_journal_each(catalog *c, catalog_journal_fn fn, void *ud, weft_err *err);

/* Logs of a run (task NULL: every task), each {"task","attempt","log"}. */
json_t *catalog_query_logs(catalog *c, int64_t run, const char *task, weft_err *err);

#endif
