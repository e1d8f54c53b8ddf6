/* catalog_rowids: where the task rows of the runs this catalogue made are, by rowid, so that
 * the statements that write one task's row (dispatch, end) find it in the table itself
 * instead of seeking the (run_id, idx, elem) index first: 3,400 instructions a task.
 *
 * A run's rows are written in the order its tasks are made, so their rowids follow their
 * numbers: a run's tasks sit at base + idx, a mapped task's elements at its own base + elem.
 * Each base is learnt from the first row written and every later row is checked against it;
 * a run (or mapped task) whose rows do not follow one base gets no hints. A hint is only a
 * hint: the statements that take one (CAT_TASK_ROW) still check the row's unit, and one that
 * changed nothing with a hint runs again without it (cat_done_task). A run's hints go when
 * it finishes or a turn is rolled back; a restarted scheduler finds rows by their unit. */
#include <stdint.h>
#include <stdlib.h>

#include "catalog/catalog_int.h"
#include "common/u64map.h"
#include "common/xmem.h"

/* A base in a u64map value: offset so that it is never NULL; IRREGULAR: no hints. */
#define BASE_OFFSET (UINT64_C(1) << 62)
#define IRREGULAR ((void *)1)

typedef struct run_rowids {
    int64_t base;        /* rowid - idx of its tasks' rows (elem -1) */
    int known, irregular;
    u64map *maps;        /* idx + 1 -> a mapped task's base (rowid - elem), or IRREGULAR */
} run_rowids;

static void *base_value(int64_t base)
{
    return (void *)(uintptr_t)((uint64_t)base + BASE_OFFSET);
}

static int64_t value_base(void *v)
{
    return (int64_t)((uint64_t)(uintptr_t)v - BASE_OFFSET);
}

static run_rowids *run_of(catalog *c, int64_t run, int make)
{
    if (run <= 0 || (!c->rowids && !make))
        return NULL;
    if (!c->rowids)
        c->rowids = u64map_new();
    run_rowids *r = u64map_get(c->rowids, (uint64_t)run);
    if (!r && make) {
        r = xcalloc(1, sizeof *r);
        u64map_put(c->rowids, (uint64_t)run, r);
    }
    return r;
}

/* Checks a mapped task's element row against the task's base (learnt from the first). */
static void note_elem(run_rowids *r, int idx, int elem, int64_t rowid)
{
    if (!r->maps)
        r->maps = u64map_new();
    uint64_t key = (uint64_t)idx + 1;
    void *v = u64map_get(r->maps, key);
    if (!v)
        u64map_put(r->maps, key, base_value(rowid - elem));
    else if (v != IRREGULAR && value_base(v) != rowid - elem)
        u64map_put(r->maps, key, IRREGULAR);
}

void cat_rowid_note(catalog *c, int64_t run, int idx, int elem, int64_t rowid)
{
    run_rowids *r = run_of(c, run, 1);
    if (!r || r->irregular || idx < 0 || elem < -1)
        return;
    if (elem >= 0)
        note_elem(r, idx, elem, rowid);
    else if (!r->known) {
        r->base = rowid - idx;
        r->known = 1;
    } else if (r->base != rowid - idx)
        r->irregular = 1;
}

void cat_rowid_unknown(catalog *c, int64_t run)
{
    run_rowids *r = run_of(c, run, 1);
    if (r)
        r->irregular = 1;
}

int64_t cat_rowid(catalog *c, int64_t run, int idx, int elem)
{
    run_rowids *r = run_of(c, run, 0);
    if (!r || r->irregular || idx < 0)
        return 0;
    if (elem < 0)
        return r->known ? r->base + idx : 0;
    void *v = r->maps ? u64map_get(r->maps, (uint64_t)idx + 1) : NULL;
    return v && v != IRREGULAR ? value_base(v) + elem : 0;
}

static void run_free(run_rowids *r)
{
    if (r) {
        u64map_destroy(&r->maps);
        free(r);
    }
}

void cat_rowids_forget(catalog *c, int64_t run)
{
    if (c->rowids && run > 0)
        run_free(u64map_del(c->rowids, (uint64_t)run));
}

void cat_rowids_drop(catalog *c)
{
    size_t pos = 0;
    uint64_t key;
    void *v;
    while (c->rowids && u64map_next(c->rowids, &pos, &key, &v))
        run_free(v);
    u64map_destroy(&c->rowids);
}

void cat_bind_task(catalog *c, sqlite3_stmt *s, int64_t run, int idx, int elem)
{
    cat_bind_unit(s, run, idx, elem);
    int64_t rowid = cat_rowid(c, run, idx, elem);
    if (rowid > 0)
        sqlite3_bind_int64(s, CAT_ROWID_PARAM, rowid);
    c->hinted = rowid > 0 ? s : NULL;
}

int cat_done_task(catalog *c, sqlite3_stmt *s, const char *what)
{
    int hinted = c->hinted == s;
    c->hinted = NULL;
    if (cat_done(c, s, what) < 0)
        return WEFT_EDB;
    if (!hinted || sqlite3_changes(c->db) > 0)
        return 0;
    /* Nothing changed: the row's attempt is another, or the hint is wrong. Again without. */
    sqlite3_reset(s);
    sqlite3_bind_null(s, CAT_ROWID_PARAM);
    return cat_done(c, s, what);
}
