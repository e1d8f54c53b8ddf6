/* catalog_attempts: a task's attempts as the catalogue records them. A task's last
 * attempt lives in the task's row (attempt_id and the attempt_ columns; attempts is its
 * number, worker its worker): a dispatch is one UPDATE of the row, the attempt before moving
 * to attempt_rows first, and its end is written with the state it brings the task to
 * (catalog_update_task), or alone. The view attempts shows attempt_rows and the rows' last
 * attempts together. See catalog.h. */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "common/text.h"
#include "common/xmem.h"

/* ST_TASK_RUNNING on a held row (one without an attempt yet). */
static void running_held(catalog *c, cat_row *r, const catalog_attempt *a, int64_t now_us)
{
    cat_row_set(c, &r->state, "running");
    r->attempts = a->number;
    cat_row_set(c, &r->worker, a->worker);
    cat_row_set(c, &r->inputs, a->inputs);
    r->started_us = r->started_us ? r->started_us : now_us;
    r->ready_us = a->ready_us ? a->ready_us : r->ready_us;
    r->retry_due_us = 0;
    r->attempt_id = (int64_t)a->id;
    r->dispatched_us = now_us;
}

/* Appends text to out (at *n, cap bytes in all, NUL kept), cut to fit. */
static void put_text(char *out, size_t cap, size_t *n, const char *text)
{
    while (*text && *n + 1 < cap)
        out[(*n)++] = *text++;
    out[*n] = '\0';
}

/* "attempt N (id I) on WORKER", the detail of a dispatched event: written here, not by
 * snprintf, which took 1,400 instructions a dispatch. */
static void attempt_detail(char *out, size_t cap, const catalog_attempt *a)
{
    size_t n = 0;
    char num[TEXT_INT_MAX];
    put_text(out, cap, &n, "attempt ");
    put_text(out, cap, &n, text_int(a->number > 0 ? a->number : 0, num));
    put_text(out, cap, &n, " (id ");
    put_text(out, cap, &n, text_int((int64_t)a->id, num));
    put_text(out, cap, &n, ") on ");
    put_text(out, cap, &n, a->worker ? a->worker : "(null)");
}

/* The task's row takes its new attempt: the one it holds moves to attempt_rows. */
static int running_row(catalog *c, const catalog_attempt *a, int64_t now_us)
{
    sqlite3_stmt *s;
    if (a->number > 1) { /* a first attempt has none before it */
        if (!(s = cat_stmt(c, ST_ATTEMPT_MOVE)))
            return WEFT_EDB;
        cat_bind_unit(s, a->run, a->idx, a->elem);
        if (cat_done(c, s, "keep the attempt before") < 0)
            return WEFT_EDB;
    }
    if (!(s = cat_stmt(c, ST_TASK_RUNNING)))
        return WEFT_EDB;
    cat_bind_task(c, s, a->run, a->idx, a->elem);
    sqlite3_bind_int(s, 3, a->number);
    cat_bind_text(s, 4, a->worker);
    cat_bind_text(s, 5, a->inputs);
    sqlite3_bind_int64(s, 6, now_us);
    cat_bind_time(s, 7, a->ready_us);
    sqlite3_bind_int64(s, 8, (int64_t)a->id);
    return cat_done_task(c, s, "mark task running");
}

int catalog_start_attempt(catalog *c, const catalog_attempt *a, int64_t now_us)
{
    cat_row *held = cat_rows_find(c, a->run, a->idx, a->elem);
    if (held && held->attempt_id) { /* its attempt of this turn moves: the row is written */
        if (cat_rows_write(c) < 0)
            return WEFT_EDB;
        held = NULL;
    }
    if (held)
        running_held(c, held, a, now_us);
    else if (running_row(c, a, now_us) < 0)
        return WEFT_EDB;
    if ((int64_t)a->id > c->turn_attempt)
        c->turn_attempt = (int64_t)a->id;
    char detail[160];
    attempt_detail(detail, sizeof detail, a);
    return catalog_event(c, a->run, a->task_name, "dispatched", detail, now_us);
}

/* Steps statement id about attempt a (its id ?3, the unit ?1 ?2 ?20 when unit) with what
 * bind binds: 1 when it changed a row, 0 when not, WEFT_EDB. */
static int attempt_row(catalog *c, enum stmt_id id, int unit, const catalog_attempt_end *a,
                       void (*bind)(sqlite3_stmt *, const catalog_attempt_end *),
                       const char *what)
{
    sqlite3_stmt *s = cat_stmt(c, id);
    if (!s)
        return WEFT_EDB;
    if (unit)
        cat_bind_task(c, s, a->run, a->idx, a->elem);
    sqlite3_bind_int64(s, 3, (int64_t)a->id);
    bind(s, a);
    if ((unit ? cat_done_task(c, s, what) : cat_done(c, s, what)) < 0)
        return WEFT_EDB;
    return sqlite3_changes(c->db) > 0;
}

void cat_bind_attempt_end(sqlite3_stmt *s, const catalog_attempt_end *a, int first)
{
    cat_bind_text(s, first, a->state);
    cat_bind_text(s, first + 1, a->error_class);
    cat_bind_text(s, first + 2, a->error);
    cat_bind_time(s, first + 3, a->started_us);
    cat_bind_time(s, first + 4, a->finished_us);
    if (a->peak_mem_bytes || a->cpu_us) { /* else not measured: NULL */
        sqlite3_bind_int64(s, first + 5, (int64_t)a->peak_mem_bytes);
        sqlite3_bind_int64(s, first + 6, (int64_t)a->cpu_us);
    }
}

static void bind_end(sqlite3_stmt *s, const catalog_attempt_end *a)
{
    cat_bind_attempt_end(s, a, 4);
}

static void bind_checkpoint(sqlite3_stmt *s, const catalog_attempt_end *a)
{
    cat_bind_text(s, 4, a->checkpoint);
}

/* Writes what bind binds into attempt a's row: its task's while a is the last attempt
 * there, else attempt_rows's. */
static int attempt_update(catalog *c, enum stmt_id in_task, enum stmt_id moved,
                          const catalog_attempt_end *a,
                          void (*bind)(sqlite3_stmt *, const catalog_attempt_end *),
                          const char *what)
{
    if (cat_rows_find(c, a->run, a->idx, a->elem) && cat_rows_write(c) < 0)
        return WEFT_EDB; /* its row was made in this turn: written first */
    int rc = attempt_row(c, in_task, a->run > 0, a, bind, what);
    if (rc == 0)
        rc = attempt_row(c, moved, 0, a, bind, what);
    return rc < 0 ? WEFT_EDB : 0;
}

int cat_finish_moved(catalog *c, const catalog_attempt_end *a)
{
    return attempt_row(c, ST_FINISH_MOVED, 0, a, bind_end, "finish attempt") < 0 ? WEFT_EDB : 0;
}

int catalog_finish_attempt(catalog *c, const catalog_attempt_end *a)
{
    return attempt_update(c, ST_FINISH_ATTEMPT, ST_FINISH_MOVED, a, bind_end, "finish attempt");
}

int catalog_save_checkpoint(catalog *c, const catalog_attempt_end *a)
{
    return attempt_update(c, a->run > 0 ? ST_SAVE_CHECKPOINT : ST_CHECKPOINT_ANY,
                          ST_CHECKPOINT_MOVED, a, bind_checkpoint, "save checkpoint");
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

char *catalog_task_inputs(catalog *c, int64_t run, int idx, int elem)
{
    sqlite3_stmt *s = cat_stmt(c, ST_TASK_INPUTS);
    if (!s)
        return NULL;
    cat_bind_unit(s, run, idx, elem);
    return first_text(s);
}

/* The last checkpoint an attempt of a unit saved, malloc'd, or NULL. */
static char *last_checkpoint(catalog *c, int64_t run, int idx, int elem)
{
    sqlite3_stmt *s = cat_stmt(c, ST_LAST_CHECKPOINT);
    if (!s)
        return NULL;
    cat_bind_unit(s, run, idx, elem);
    return first_text(s);
}

char *catalog_resume_checkpoint(catalog *c, const catalog_attempt *a)
{
    sqlite3_stmt *s;
    char *ref = a->number > 1 ? last_checkpoint(c, a->run, a->idx, a->elem) : NULL;
    if (ref)
        return ref;
    /* A run that retries another (a lookup by key, where the next query would set up a
     * sort even when it finds nothing). */
    if (!a->task_name || !a->inputs)
        return NULL;
    if (a->run != c->retry_of_run) { /* a run's retry_of never changes */
        if (!(s = cat_stmt(c, ST_RETRY_OF)))
            return NULL;
        sqlite3_bind_int64(s, 1, a->run);
        c->retry_of = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        c->retry_of_run = a->run;
        sqlite3_reset(s);
    }
    int64_t retried = c->retry_of;
    if (!retried || !(s = cat_stmt(c, ST_RETRIED_UNIT)))
        return NULL;
    sqlite3_bind_int64(s, 1, retried);
    cat_bind_text(s, 2, a->task_name);
    sqlite3_bind_int(s, 3, a->elem);
    cat_bind_text(s, 4, a->inputs);
    int found = sqlite3_step(s) == SQLITE_ROW;
    int idx = found ? sqlite3_column_int(s, 0) : 0;
    sqlite3_reset(s);
    return found ? last_checkpoint(c, retried, idx, a->elem) : NULL;
}
