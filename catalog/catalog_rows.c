/* catalog_rows: task rows (and the edges between them) made in the turn, held in memory
 * until the turn commits or something else needs the catalogue as it is. A row made and
 * changed in one turn (a root task made ready as its run is created, a map's elements made
 * ready as it expands, either dispatched at once) is then written once, CAT_PER_INSERT rows
 * a statement, instead of an INSERT and an UPDATE per change; edges go CAT_PER_INSERT a
 * statement too. See catalog_int.h. */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "common/u64map.h"
#include "common/xmem.h"

#define ROWS_HELD_MAX 16384 /* then the held rows are written, and the next ones held */
#define ROW_COLUMNS 20

#define ROW_VALUES "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define ROW_VALUES4 ROW_VALUES "," ROW_VALUES "," ROW_VALUES "," ROW_VALUES
#define ROWS_INSERT                                                                          \
    "INSERT OR IGNORE INTO tasks(run_id, idx, elem, name, type, type_version, state, "       \
    "attempts, worker, inputs, outputs, error_class, error, ready_us, started_us, "         \
    "finished_us, retry_due_us, attempt_id, attempt_state, dispatched_us) VALUES "

static const char *const rows_sql =
    ROWS_INSERT ROW_VALUES4 "," ROW_VALUES4 "," ROW_VALUES4 "," ROW_VALUES4;
_Static_assert(CAT_PER_INSERT == 16, "rows_sql has 16 rows");
static const char *const row_sql = ROWS_INSERT ROW_VALUES;

#define EDGE_VALUES4 "(?,?,?),(?,?,?),(?,?,?),(?,?,?)"
#define EDGES_INSERT "INSERT OR IGNORE INTO edges(run_id, child, parent) VALUES "
static const char *const edges_sql =
    EDGES_INSERT EDGE_VALUES4 "," EDGE_VALUES4 "," EDGE_VALUES4 "," EDGE_VALUES4;
static const char *const edge_sql = EDGES_INSERT "(?,?,?)";

/* The key of a unit in c->row_at, or 0 for one that is never held (its numbers do not
 * fit: written at once). */
static uint64_t row_key(int64_t run, int idx, int elem)
{
    if (run <= 0 || run >= (INT64_C(1) << 23) || idx < 0 || idx >= (1 << 20) || elem < -1 ||
        elem >= (1 << 20) - 1)
        return 0;
    return (uint64_t)run << 41 | (uint64_t)idx << 21 | (uint64_t)(elem + 1);
}

int cat_rows_add(catalog *c, int64_t run, int idx, int elem, const char *name,
                 const char *type, const char *type_version, const char *state)
{
    uint64_t key = row_key(run, idx, elem);
    if (!key)
        return 0;
    if (c->row_at && u64map_get(c->row_at, key))
        return 1; /* made twice in the turn: the first stays, as INSERT OR IGNORE keeps it */
    if (c->nrows == ROWS_HELD_MAX && cat_rows_write(c) < 0)
        return 1; /* the turn failed: it is rolled back */
    if (!c->row_at)
        c->row_at = u64map_new();
    xgrow(&c->rows, &c->caprows, c->nrows + 1, sizeof *c->rows);
    cat_row *r = &c->rows[c->nrows++];
    memset(r, 0, sizeof *r);
    r->run = run;
    r->idx = idx;
    r->elem = elem;
    r->name = arena_strdup(&c->row_text, name);
    r->type = arena_strdup(&c->row_text, type);
    r->type_version = arena_strdup(&c->row_text, type_version);
    r->state = arena_strdup(&c->row_text, state);
    u64map_put(c->row_at, key, (void *)(uintptr_t)c->nrows);
    return 1;
}

cat_row *cat_rows_find(catalog *c, int64_t run, int idx, int elem)
{
    uint64_t key = row_key(run, idx, elem);
    size_t at = key && c->nrows ? (size_t)(uintptr_t)u64map_get(c->row_at, key) : 0;
    return at ? &c->rows[at - 1] : NULL;
}

void cat_row_set(catalog *c, const char **field, const char *v)
{
    *field = arena_strdup(&c->row_text, v);
}

/* Binds held row at of c's as the row at column offset off of s. */
static void bind_row(sqlite3_stmt *s, int off, size_t at, void *ud)
{
    const cat_row *r = &((catalog *)ud)->rows[at];
    sqlite3_bind_int64(s, off + 1, r->run);
    sqlite3_bind_int(s, off + 2, r->idx);
    sqlite3_bind_int(s, off + 3, r->elem);
    const char *texts[] = {r->name, r->type, r->type_version, r->state};
    for (int i = 0; i < 4; i++)
        cat_bind_text(s, off + 4 + i, texts[i]);
    sqlite3_bind_int(s, off + 8, r->attempts);
    const char *more[] = {r->worker, r->inputs, r->outputs, r->error_class, r->error};
    for (int i = 0; i < 5; i++)
        cat_bind_text(s, off + 9 + i, more[i]);
    const int64_t times[] = {r->ready_us, r->started_us, r->finished_us, r->retry_due_us};
    for (int i = 0; i < 4; i++)
        cat_bind_time(s, off + 14 + i, times[i]);
    if (r->attempt_id) { /* dispatched in the turn: its attempt runs */
        sqlite3_bind_int64(s, off + 18, r->attempt_id);
        sqlite3_bind_text(s, off + 19, "running", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, off + 20, r->dispatched_us);
    }
}

/* Notes where rows first .. first + k - 1 went: the k rows one INSERT wrote took the rowids
 * up to the last in their order, unless some were there already. */
static void rows_inserted(catalog *c, size_t first, size_t k, void *ud)
{
    (void)ud;
    int all = (size_t)sqlite3_changes(c->db) == k;
    int64_t last = sqlite3_last_insert_rowid(c->db);
    for (size_t j = 0; j < k; j++) {
        const cat_row *r = &c->rows[first + j];
        if (all)
            cat_rowid_note(c, r->run, r->idx, r->elem, last - (int64_t)(k - 1 - j));
        else
            cat_rowid_unknown(c, r->run);
    }
}

int cat_edges_add(catalog *c, int64_t run, int child, int parent)
{
    if (c->nedges == ROWS_HELD_MAX && cat_rows_write(c) < 0)
        return WEFT_EDB;
    xgrow(&c->edges, &c->capedges, c->nedges + 1, sizeof *c->edges);
    c->edges[c->nedges++] = (cat_edge){run, child, parent};
    return 0;
}

static void bind_edge(sqlite3_stmt *s, int off, size_t at, void *ud)
{
    const cat_edge *e = &((catalog *)ud)->edges[at];
    sqlite3_bind_int64(s, off + 1, e->run);
    sqlite3_bind_int(s, off + 2, e->child);
    sqlite3_bind_int(s, off + 3, e->parent);
}

void cat_rows_drop(catalog *c)
{
    c->nrows = 0;
    c->nedges = 0;
    arena_reset(&c->row_text);
    u64map_destroy(&c->row_at);
}

int cat_rows_write(catalog *c)
{
    /* ST_ROWS, ST_ROW, ST_EDGES and ST_EDGE leave held rows alone (cat_prepared): no
     * recursion. */
    const cat_insert ins = {ST_ROWS, ST_ROW, rows_sql, row_sql, ROW_COLUMNS, bind_row,
                            rows_inserted, "add tasks"};
    const cat_insert edges = {ST_EDGES, ST_EDGE, edges_sql, edge_sql, 3, bind_edge, NULL,
                              "add edges"};
    int rc = cat_insert_rows(c, &ins, c->nrows, c);
    if (rc == 0)
        rc = cat_insert_rows(c, &edges, c->nedges, c);
    cat_rows_drop(c);
    return rc;
}
