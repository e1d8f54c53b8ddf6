/* catalog_query: the catalogue's read side: runs, tasks, events, logs, recovery rows. Every
 * query returns JSON, so the daemon and a local reader share one implementation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/fsutil.h"
#include "common/xmem.h"

#define LOG_READ_MAX (8u << 20)

sqlite3_stmt *cat_query(catalog *c, const char *sql, weft_err *err)
{
    if (cat_settle(c) < 0) {
        err_set(err, WEFT_EDB, "cannot write the turn's tasks: %s", c->turn_err.msg);
        return NULL;
    }
    kept_query *q = NULL, *oldest = &c->queries[0];
    for (int i = 0; i < CAT_QUERIES && !q; i++) {
        kept_query *k = &c->queries[i];
        if (k->sql && strcmp(k->sql, sql) == 0)
            q = k;
        else if (k->used < oldest->used)
            oldest = k;
    }
    if (!q) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
            SQLITE_OK) {
            err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
            return NULL;
        }
        q = oldest;
        cat_query_forget(q);
        q->sql = xstrdup(sql);
        q->st = st;
    }
    q->used = ++c->query_clock;
    sqlite3_reset(q->st);
    sqlite3_clear_bindings(q->st);
    return q->st;
}

void cat_query_forget(kept_query *q)
{
    sqlite3_finalize(q->st);
    free(q->sql);
    *q = (kept_query){0};
}

/* Runs sql with int64 bindings and returns the rows as an array of objects keyed by
 * column name. */
json_t *cat_rows(catalog *c, const char *sql, const int64_t *args, int nargs,
                 const char *text_arg, weft_err *err)
{
    sqlite3_stmt *st = cat_query(c, sql, err);
    if (!st)
        return NULL;
    for (int i = 0; i < nargs; i++)
        sqlite3_bind_int64(st, i + 1, args[i]);
    if (text_arg)
        sqlite3_bind_text(st, nargs + 1, text_arg, -1, SQLITE_STATIC); /* stepped here */
    return cat_query_rows(c, st, err);
}

json_t *cat_query_rows(catalog *c, sqlite3_stmt *st, weft_err *err)
{
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
                    !strcmp(name, "artifacts") || !strcmp(name, "projects") ||
                    !strcmp(name, "labels") || !strcmp(name, "timing") ||
                    !strcmp(name, "schedule_vars") || !strcmp(name, "target") ||
                    !strcmp(name, "payload"))
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
    sqlite3_reset(st);
    return out;
}

json_t *cat_run_row(catalog *c, const char *sql, int64_t run, weft_err *err)
{
    int64_t args[] = {run};
    json_t *r = cat_rows(c, sql, args, 1, NULL, err);
    json_t *row = r && json_array_size(r) == 1 ? json_incref(json_array_get(r, 0)) : NULL;
    if (r && !row)
        err_set(err, WEFT_ENOTFOUND, "no run %lld", (long long)run);
    json_decref(r);
    return row;
}

json_t *catalog_query_runs(catalog *c, const catalog_runs_filter *f, weft_err *err)
{
    sqlite3_stmt *st;
    const char *sql = "SELECT r.id, w.name AS workflow, r.project, r.state, r.ntasks, "
                      "r.created_us, r.finished_us, r.error, r.labels, r.logical_s, "
                      "(SELECT s.name FROM schedules s WHERE s.id = r.schedule_id) AS schedule, "
                      "(SELECT count(*) FROM tasks t WHERE t.run_id = r.id AND t.elem = -1 AND "
                      "t.state = 'succeeded') AS succeeded, "
                      "(SELECT count(*) FROM tasks t WHERE t.run_id = r.id AND t.elem = -1 AND "
                      "t.state IN ('failed', 'skipped', 'cancelled')) AS failed "
                      "FROM runs r JOIN workflows w ON w.id = r.workflow_id "
                      "WHERE (?1 IS NULL OR r.project = ?1) AND (?2 IS NULL OR r.project IN "
                      "(SELECT value FROM json_each(?2))) AND (?4 IS NULL OR w.name = ?4) "
                      "AND (?5 IS NULL OR r.state = ?5) AND (?6 = 0 OR r.created_us >= ?6) "
                      "AND (?7 = 0 OR r.created_us < ?7) AND (?8 = 0 OR r.id < ?8) "
                      "AND (?9 IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(?9) l WHERE "
                      "NOT EXISTS (SELECT 1 FROM json_each(r.labels) x WHERE x.key = l.key "
                      "AND x.value = l.value))) AND (?10 IS NULL OR r.schedule_id IN "
                      "(SELECT s.id FROM schedules s WHERE s.name = ?10)) "
                      "ORDER BY r.id DESC LIMIT ?3";
    st = cat_query(c, sql, err);
    if (!st)
        return NULL;
    cat_bind_text(st, 1, f->project);
    cat_bind_text(st, 2, f->within);
    sqlite3_bind_int64(st, 3, f->limit > 0 ? f->limit : 50);
    cat_bind_text(st, 4, f->workflow);
    cat_bind_text(st, 5, f->state);
    sqlite3_bind_int64(st, 6, f->since_us);
    sqlite3_bind_int64(st, 7, f->until_us);
    sqlite3_bind_int64(st, 8, f->before_run);
    cat_bind_text(st, 9, f->labels);
    cat_bind_text(st, 10, f->schedule);
    return cat_query_rows(c, st, err);
}

/* Attaches to each task row (ordered by idx, elem) its attempts (ordered the same way),
 * then moves element rows into their mapped task's "elements". */
static json_t *nest_tasks(json_t *rows, json_t *attempts)
{
    json_t *tasks = json_array(), *parent = NULL;
    size_t i, a = 0;
    json_t *t;
    json_array_foreach(rows, i, t) {
        json_t *list = json_array();
        json_int_t idx = json_integer_value(json_object_get(t, "idx"));
        json_int_t elem = json_integer_value(json_object_get(t, "elem"));
        for (; a < json_array_size(attempts); a++) {
            json_t *at = json_array_get(attempts, a);
            json_int_t ai = json_integer_value(json_object_get(at, "idx"));
            json_int_t ae = json_integer_value(json_object_get(at, "elem"));
            /* An attempt of a unit not listed (a reader beside the scheduler, whose element
             * changed state between the two reads): skipped. */
            if (ai < idx || (ai == idx && ae < elem))
                continue;
            if (ai != idx || ae != elem)
                break;
            json_object_del(at, "idx");
            json_object_del(at, "elem");
            json_array_append(list, at);
        }
        json_object_set_new(t, "attempt_list", list);
        if (elem >= 0 && parent && json_integer_value(json_object_get(parent, "idx")) == idx) {
            json_t *elems = json_object_get(parent, "elements");
            if (!elems)
                json_object_set_new(parent, "elements", elems = json_array());
            json_array_append(elems, t);
        } else {
            json_object_del(t, "elem");
            json_array_append(tasks, t);
            parent = t;
        }
    }
    return tasks;
}

json_t *catalog_query_run_row(catalog *c, int64_t run, weft_err *err)
{
    return cat_run_row(c,
                          "SELECT r.id, w.name AS workflow, w.version, w.file, w.hash, "
                          "r.project, r.state, r.params, r.ntasks, r.created_us, r.finished_us, "
                          "r.error, r.retry_of, r.labels, r.logical_s, r.schedule_vars, "
                          "(SELECT s.name FROM schedules s WHERE s.id = r.schedule_id) "
                          "AS schedule "
                          "FROM runs r JOIN workflows w ON w.id = r.workflow_id WHERE r.id = ?1",
                          run, err);
}

/* What a listing of run ?1 keeps when it keeps only some. listed: the elements, when ?2
 * keeps only some: per mapped task, ?2 of those that neither succeeded nor wait, the failed
 * ones first. listed_tasks: the tasks, when ?3 keeps only some: ?3 of those, likewise. */
#define LISTED_UNITS \
    "WITH listed AS (SELECT idx, elem FROM (SELECT idx, elem, row_number() OVER " \
    "(PARTITION BY idx ORDER BY state = 'failed' DESC, elem) AS k FROM tasks " \
    "WHERE run_id = ?1 AND elem >= 0 AND state NOT IN ('succeeded', 'pending', 'ready')) " \
    "WHERE k <= ?2), " \
    "listed_tasks AS (SELECT idx FROM tasks WHERE run_id = ?1 AND elem < 0 AND " \
    "state NOT IN ('succeeded', 'pending', 'ready') ORDER BY state = 'failed' DESC, idx " \
    "LIMIT ?3) "
/* The units a listing of run ?1 keeps (?2, ?3: LISTED_UNITS's). */
#define LISTED_WHERE \
    "WHERE run_id = ?1 AND (?3 = 0 OR idx IN listed_tasks) AND " \
    "(elem < 0 OR ?2 = 0 OR (idx, elem) IN listed) "

/* The tasks of run (and the elements max_elements keeps, see catalog.h), by idx and elem.
 * source: where a succeeded task's outputs came from (computed, cache, in-flight, retry),
 * with the run and task that computed them when they were copied. */
#define TASK_COLUMNS \
    "SELECT idx, elem, name, type, type_version, state, attempts, worker, " \
    "error_class, error, inputs, outputs, ready_us, started_us, " \
    "finished_us, retry_due_us, cache_key, " \
    "CASE WHEN state = 'succeeded' THEN coalesce(source, 'computed') END " \
    "AS source, source_run, source_task FROM tasks "
/* An attempt as an answer shows it; nest_tasks also reads its idx and elem. */
#define ATTEMPT_FIELDS \
    "id, number, worker, state, error_class, error, dispatched_us, started_us, finished_us, " \
    "peak_mem_bytes, cpu_us "

static const char *const TASK_ROWS = LISTED_UNITS TASK_COLUMNS LISTED_WHERE
    "ORDER BY idx, elem";
static const char *const ATTEMPT_ROWS = LISTED_UNITS
    "SELECT idx, elem, " ATTEMPT_FIELDS "FROM attempts " LISTED_WHERE
    "ORDER BY idx, elem, number";

/* Adds to each mapped task of tasks (all of them, or the one of index task) its elements
 * counted: element_counts {state: n}, elements_total and element_attempts (the attempts of
 * all its elements). */
static int count_elements(catalog *c, int64_t run, int task, json_t *tasks, weft_err *err)
{
    int64_t args[] = {run, task};
    json_t *rows = cat_rows(c, "SELECT idx, state, count(*) AS n, sum(attempts) AS a "
                               "FROM tasks WHERE run_id = ?1 AND (?2 < 0 OR idx = ?2) AND "
                               "elem >= 0 GROUP BY idx, state ORDER BY idx", args, 2, NULL,
                            err);
    if (!rows)
        return -1;
    size_t i, k = 0;
    json_t *row, *t = NULL;
    json_array_foreach(rows, i, row) {
        json_int_t idx = json_integer_value(json_object_get(row, "idx"));
        while (k < json_array_size(tasks) &&
               json_integer_value(json_object_get(t = json_array_get(tasks, k), "idx")) < idx)
            k++;
        if (k == json_array_size(tasks) ||
            json_integer_value(json_object_get(t, "idx")) != idx)
            continue;
        json_t *counts = json_object_get(t, "element_counts");
        if (!counts)
            json_object_set_new(t, "element_counts", counts = json_object());
        json_int_t n = json_integer_value(json_object_get(row, "n"));
        json_object_set_new(counts, json_string_value(json_object_get(row, "state")),
                            json_integer(n));
        json_object_set_new(t, "elements_total", json_integer(
            json_integer_value(json_object_get(t, "elements_total")) + n));
        json_object_set_new(t, "element_attempts", json_integer(
            json_integer_value(json_object_get(t, "element_attempts")) +
            json_integer_value(json_object_get(row, "a"))));
    }
    json_decref(rows);
    return 0;
}

json_t *catalog_query_run(catalog *c, int64_t run, weft_err *err)
{
    return catalog_query_run_some(c, run, 0, 0, err);
}

/* Whether run is small enough to be listed whole (0), or -1 with err saying why not. */
static int listable_whole(catalog *c, int64_t run, weft_err *err)
{
    sqlite3_stmt *st = cat_query(c, "SELECT count(*) FROM tasks WHERE run_id = ?1", err);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, run);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (n <= CATALOG_LIST_WHOLE_MAX)
        return 0;
    err_set(err, WEFT_EINVAL, "run %lld has %lld tasks and map elements; a listing of every one "
            "stops at %d (weft status without --json counts them and names those that did "
            "not succeed; GET /api/v1/runs/%lld?elements=N lists N of each map; "
            "GET /api/v1/runs/%lld/tasks/NAME[i] shows one)", (long long)run, (long long)n,
            CATALOG_LIST_WHOLE_MAX, (long long)run, (long long)run);
    return -1;
}

/* {state: n} from sql, which selects state and n (count(*)) for run ?1, or NULL (err
 * set). */
static json_t *count_states(catalog *c, const char *sql, int64_t run, weft_err *err)
{
    int64_t args[] = {run};
    json_t *rows = cat_rows(c, sql, args, 1, NULL, err);
    if (!rows)
        return NULL;
    json_t *counts = json_object(), *row;
    size_t i;
    json_array_foreach(rows, i, row)
        json_object_set(counts, json_string_value(json_object_get(row, "state")),
                        json_object_get(row, "n"));
    json_decref(rows);
    return counts;
}

json_t *catalog_query_run_some(catalog *c, int64_t run, int max_elements, int max_tasks,
                               weft_err *err)
{
    json_t *out = catalog_query_run_row(c, run, err);
    if (!out)
        return NULL;
    json_int_t ntasks = json_integer_value(json_object_get(out, "ntasks"));
    int64_t args[] = {run, max_elements > 0 ? max_elements : 0,
                      max_tasks > 0 && ntasks > max_tasks ? max_tasks : 0};
    json_t *counts = max_tasks > 0 ? count_states(c, "SELECT state, count(*) AS n FROM tasks "
                                                     "WHERE run_id = ?1 AND elem < 0 "
                                                     "GROUP BY state", run, err)
                                   : NULL;
    if ((max_tasks > 0 && !counts) ||
        (max_elements <= 0 && listable_whole(c, run, err) < 0)) {
        json_decref(out);
        return NULL;
    }
    if (counts)
        json_object_set_new(out, "task_counts", counts);
    json_t *rows = cat_rows(c, TASK_ROWS, args, 3, NULL, err);
    json_t *attempts = cat_rows(c, ATTEMPT_ROWS, args, 3, NULL, err);
    json_t *tasks = rows && attempts ? nest_tasks(rows, attempts) : NULL;
    json_decref(rows);
    json_decref(attempts);
    if (!tasks || count_elements(c, run, -1, tasks, err) < 0) {
        json_decref(tasks);
        json_decref(out);
        return NULL;
    }
    json_object_set_new(out, "tasks", tasks);
    return out;
}

json_t *catalog_query_task_rows(catalog *c, int64_t run, weft_err *err)
{
    int64_t args[] = {run};
    return cat_rows(c, TASK_COLUMNS "WHERE run_id = ?1 AND elem < 0 ORDER BY idx", args, 1,
                    NULL, err);
}

const json_t *catalog_run_unit(const json_t *run, const char *name)
{
    size_t i, k;
    const json_t *t, *e;
    json_array_foreach(json_object_get(run, "tasks"), i, t) {
        const char *tn = json_string_value(json_object_get(t, "name"));
        if (tn && !strcmp(tn, name))
            return t;
        json_array_foreach(json_object_get(t, "elements"), k, e) {
            const char *en = json_string_value(json_object_get(e, "name"));
            if (en && !strcmp(en, name))
                return e;
        }
    }
    return NULL;
}

json_t *catalog_query_run_unit(catalog *c, int64_t run, const char *name, weft_err *err)
{
    int64_t args[3] = {run};
    json_t *out = catalog_query_run_row(c, run, err);
    json_t *rows = out ? cat_rows(c, TASK_COLUMNS "WHERE run_id = ?1 AND name = ?2", args, 1,
                                  name, err)
                       : NULL;
    json_t *unit = json_array_get(rows, 0), *list = NULL;
    if (unit) {
        args[1] = json_integer_value(json_object_get(unit, "idx"));
        args[2] = json_integer_value(json_object_get(unit, "elem"));
        list = cat_rows(c, "SELECT " ATTEMPT_FIELDS "FROM attempts WHERE run_id = ?1 AND "
                        "idx = ?2 AND elem = ?3 ORDER BY number", args, 3, NULL, err);
        if (list)
            json_object_set_new(unit, "attempt_list", list);
        if (args[2] < 0)
            json_object_del(unit, "elem");
    }
    /* A mapped task counts its elements; an element is one. */
    if (!rows || (unit && (!list || (args[2] < 0 &&
                                     count_elements(c, run, (int)args[1], rows, err) < 0)))) {
        json_decref(rows);
        json_decref(out);
        return NULL;
    }
    json_object_set_new(out, "tasks", rows);
    return out;
}

/* {state: n} of run's tasks and map elements: those it finished with (runs.counts), else
 * counted from its rows; NULL (err set) when the catalogue cannot be read. */
static json_t *run_counts(catalog *c, int64_t run, weft_err *err)
{
    int64_t args[] = {run};
    json_t *rows = cat_rows(c, "SELECT counts FROM runs WHERE id = ?1 AND counts IS NOT NULL",
                            args, 1, NULL, err);
    if (!rows)
        return NULL;
    const char *text = json_string_value(json_object_get(json_array_get(rows, 0), "counts"));
    json_t *kept = text ? json_loads(text, 0, NULL) : NULL;
    json_decref(rows);
    if (json_is_object(kept))
        return kept;
    json_decref(kept);
    return count_states(c, "SELECT state, count(*) AS n FROM tasks WHERE run_id = ?1 "
                           "GROUP BY state", run, err);
}

json_t *catalog_query_progress(catalog *c, int64_t run, int64_t after_seq, int count,
                               weft_err *err)
{
    if (cat_events_flush(c, err) < 0)
        return NULL;
    int64_t last = cat_events_last(c, run, err);
    json_t *events = last < 0 ? NULL : cat_events_notable(c, run, after_seq, last, 1000, err);
    json_t *counts = !events ? NULL : !count ? json_object() : run_counts(c, run, err);
    if (!counts) {
        json_decref(events);
        return NULL;
    }
    if (json_array_size(events) == 1000)
        last = json_integer_value(json_object_get(json_array_get(events, 999), "seq"));
    return json_pack("{s:I, s:o, s:o}", "seq", (json_int_t)last, "counts", counts,
                     "events", events);
}

json_t *catalog_query_open_runs(catalog *c, weft_err *err)
{
    return cat_rows(c, "SELECT id, created_us FROM runs WHERE state = 'running' ORDER BY id",
                    NULL, 0, NULL, err);
}

json_t *catalog_query_recovery(catalog *c, int64_t run, weft_err *err)
{
    return cat_run_row(c,
                       "SELECT r.id, w.file, w.spec, r.params, r.types, r.artifacts, "
                       "r.cancel_requested, r.created_us, r.project, r.labels, "
                       "r.schedule_id, r.logical_s, r.schedule_vars FROM runs r "
                       "JOIN workflows w ON w.id = r.workflow_id WHERE r.id = ?1",
                       run, err);
}

json_t *catalog_unit_json(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* A column of the attempt a running task row has running: its own (tcol, of its last
 * attempt), else looked up among the ones before it, for those rows only. */
#define RUNNING_ATTEMPT(col, tcol) \
    "CASE WHEN t.state = 'running' THEN coalesce(CASE WHEN t.attempt_state = 'running' " \
    "THEN t." tcol " END, (SELECT x." col " FROM attempt_rows x WHERE " \
    "x.run_id = t.run_id AND x.idx = t.idx AND x.elem = t.elem AND x.state = 'running' " \
    "ORDER BY x.id DESC LIMIT 1)) END"

int catalog_each_unit(catalog *c, int64_t run, int task, catalog_unit_fn fn, void *ud,
                      weft_err *err)
{
    /* Prepared for this walk alone: fn may query the catalogue, which could reset a kept
     * statement under it. One task's elements are a range of the (run_id, idx, elem) key. */
#define UNIT_ROWS \
    "SELECT t.idx, t.elem, t.name, t.state, t.error, t.inputs, t.outputs, t.attempts, " \
    "t.retry_due_us, CASE WHEN t.state = 'succeeded' THEN coalesce(t.source, 'computed') " \
    "END, t.source_run, t.source_task, " RUNNING_ATTEMPT("id", "attempt_id") ", " \
    RUNNING_ATTEMPT("worker", "worker") ", " RUNNING_ATTEMPT("dispatched_us", "dispatched_us") \
    " FROM tasks t " \
    "WHERE t.run_id = ?1 "
    static const char *const every = UNIT_ROWS "ORDER BY t.idx, t.elem";
    static const char *const one = UNIT_ROWS "AND t.idx = ?2 AND t.elem >= 0 ORDER BY t.elem";
#undef UNIT_ROWS
    sqlite3_stmt *st;
    if (cat_settle(c) < 0)
        return err_set(err, WEFT_EDB, "cannot write the turn's tasks: %s", c->turn_err.msg);
    if (sqlite3_prepare_v2(c->db, task < 0 ? every : one, -1, &st, NULL) != SQLITE_OK) {
        err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, run);
    if (task >= 0)
        sqlite3_bind_int(st, 2, task);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        catalog_unit u = {
            .idx = sqlite3_column_int(st, 0), .elem = sqlite3_column_int(st, 1),
            .name = col_text(st, 2), .state = col_text(st, 3), .error = col_text(st, 4),
            .inputs = col_text(st, 5), .outputs = col_text(st, 6),
            .attempts = sqlite3_column_int(st, 7), .retry_due_us = sqlite3_column_int64(st, 8),
            .source = col_text(st, 9), .source_run = sqlite3_column_int64(st, 10),
            .source_task = col_text(st, 11), .running_attempt = sqlite3_column_int64(st, 12),
            .running_worker = col_text(st, 13),
            .running_dispatched_us = sqlite3_column_int64(st, 14)};
        stop = fn(ud, &u);
    }
    if (!stop && rc != SQLITE_DONE) {
        err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
        stop = -1;
    }
    sqlite3_finalize(st);
    return stop;
}

json_t *catalog_query_logs(catalog *c, int64_t run, const char *task, weft_err *err)
{
    int64_t args[] = {run};
    json_t *list = cat_rows(c,
                        task ? "SELECT t.name AS task, a.number AS attempt FROM attempts a "
                               "JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx "
                               "AND t.elem = a.elem "
                               "WHERE a.run_id = ?1 AND t.name = ?2 ORDER BY a.id"
                             : "SELECT t.name AS task, a.number AS attempt FROM attempts a "
                               "JOIN tasks t ON t.run_id = a.run_id AND t.idx = a.idx "
                               "AND t.elem = a.elem "
                               "WHERE a.run_id = ?1 ORDER BY a.id",
                        args, 1, task, err);
    if (!list)
        return NULL;
    size_t i;
    json_t *e;
    size_t total = 0;
    json_array_foreach(list, i, e) {
        char *path = cat_log_path(c, run, json_string_value(json_object_get(e, "task")),
                                  (int)json_integer_value(json_object_get(e, "attempt")));
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

json_t *catalog_list_keys(catalog *c, weft_err *err)
{
    return cat_rows(c, "SELECT public_key, name, role, projects, created_us, revoked_us "
                       "FROM principals ORDER BY name, created_us", NULL, 0, NULL, err);
}

json_t *catalog_list_projects(catalog *c, weft_err *err)
{
    return cat_rows(c,
                    "SELECT n.name, coalesce(p.max_runs, 0) AS max_runs, "
                    "coalesce(p.max_tasks, 0) AS max_tasks, "
                    "coalesce(p.max_inflight, 0) AS max_inflight, "
                    "coalesce(p.priority, 0) AS priority, "
                    "(SELECT count(*) FROM runs r WHERE r.project = n.name) AS runs "
                    "FROM (SELECT name FROM projects UNION SELECT DISTINCT project FROM runs) n "
                    "LEFT JOIN projects p ON p.name = n.name ORDER BY n.name",
                    NULL, 0, NULL, err);
}

int catalog_run_project(catalog *c, int64_t run, char *out, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "SELECT project FROM runs WHERE id = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return WEFT_EDB;
    sqlite3_bind_int64(st, 1, run);
    int rc = sqlite3_step(st), found = 0;
    if (rc == SQLITE_ROW) {
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
        found = 1;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : WEFT_EDB;
}

json_t *catalog_query_workers(catalog *c, weft_err *err)
{
    sqlite3_stmt *st;
    const char *sql = "SELECT name, slots, state, types, first_seen_us, last_seen_us, "
                      "(SELECT count(*) FROM attempts a WHERE a.worker = workers.name AND "
                      "a.state = 'running') AS running FROM workers ORDER BY name";
    st = cat_query(c, sql, err);
    if (!st)
        return NULL;
    return cat_query_rows(c, st, err);
}

json_t *catalog_query_edges(catalog *c, int64_t run, weft_err *err)
{
    int64_t args[] = {run};
    json_t *rows = cat_rows(c, "SELECT child, parent FROM edges WHERE run_id = ?1 "
                               "ORDER BY child, parent", args, 1, NULL, err);
    json_t *out = rows ? json_array() : NULL;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        json_array_append_new(out, json_pack("[O, O]", json_object_get(r, "child"),
                                             json_object_get(r, "parent")));
    json_decref(rows);
    return out;
}
