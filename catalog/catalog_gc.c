/* catalog_gc: what garbage collection needs from the catalogue: the documents whose artifact
 * references keep blobs alive, and a record of each collection. */
#include <stdio.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"

/* A run holds its artifacts while it runs and, once finished, until expire_before_us. */
#define RUN_KEPT "(r.state = 'running' OR coalesce(r.finished_us, r.created_us) >= ?1)"

static const char *const root_sql[] = {
    "SELECT r.artifacts FROM runs r WHERE " RUN_KEPT,
    "SELECT t.inputs, t.outputs FROM tasks t JOIN runs r ON r.id = t.run_id WHERE " RUN_KEPT,
    "SELECT a.checkpoint FROM attempts a JOIN runs r ON r.id = a.run_id WHERE " RUN_KEPT,
    "SELECT inputs, outputs FROM cache",
    "SELECT artifacts FROM schedules WHERE removed_us IS NULL",
};

static int64_t count_of(catalog *c, const char *sql, int64_t arg, weft_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (cat_settle(c) == 0 && sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, arg);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    if (n < 0)
        err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    return n;
}

/* Calls fn with every non-NULL column of every row of sql (?1 = arg). */
static int each_text(catalog *c, const char *sql, int64_t arg, catalog_root_fn fn, void *ud,
                     weft_err *err)
{
    sqlite3_stmt *st;
    if (cat_settle(c) < 0 || sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
    if (sqlite3_bind_parameter_count(st) > 0)
        sqlite3_bind_int64(st, 1, arg);
    int rc = 0, step;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
        for (int i = 0; !rc && i < sqlite3_column_count(st); i++)
            if (sqlite3_column_type(st, i) != SQLITE_NULL)
                rc = fn(ud, (const char *)sqlite3_column_text(st, i));
    if (!rc && step != SQLITE_DONE)
        rc = err_set(err, WEFT_EDB, "catalogue query failed: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    return rc;
}

int catalog_each_root(catalog *c, int64_t expire_before_us, catalog_root_fn fn, void *ud,
                      catalog_roots *n, weft_err *err)
{
    n->runs_kept = count_of(c, "SELECT count(*) FROM runs r WHERE " RUN_KEPT,
                            expire_before_us, err);
    n->runs_expired = count_of(c, "SELECT count(*) FROM runs r WHERE NOT " RUN_KEPT,
                               expire_before_us, err);
    n->cache_entries = count_of(c, "SELECT count(*) FROM cache", 0, err);
    if (n->runs_kept < 0 || n->runs_expired < 0 || n->cache_entries < 0)
        return WEFT_EDB;
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof root_sql / sizeof *root_sql; i++)
        rc = each_text(c, root_sql[i], expire_before_us, fn, ud, err);
    return rc;
}
