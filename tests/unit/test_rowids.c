/* Unit tests for catalog/catalog_rowids.c: the rows a catalogue writes are found by the
 * rowids it learnt (a run's tasks at one base, a mapped task's elements at another), and a
 * hint that has gone wrong (rows moved behind the catalogue's back by another connection)
 * never writes another unit's row: dispatch, end and update still reach their own row and
 * leave every other as it was. A finished run's hints go. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/fsutil.h"
#include "common/xmem.h"
#include "tests/unit/dbtest.h"
#include "tests/unit/selftest.h"

static int64_t rowid_of(sqlite3 *db, int idx, int elem)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, "SELECT rowid FROM tasks WHERE run_id = 1 AND idx = ?1 AND "
                           "elem = ?2", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, idx);
    sqlite3_bind_int(st, 2, elem);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The state and attempt id of a unit's row, as "state/attempt". */
static char *row_of(sqlite3 *db, int idx, int elem)
{
    sqlite3_stmt *st;
    char *v = NULL;
    if (sqlite3_prepare_v2(db, "SELECT state || '/' || coalesce(attempt_id, '-') FROM tasks "
                           "WHERE run_id = 1 AND idx = ?1 AND elem = ?2", -1, &st,
                           NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int(st, 1, idx);
    sqlite3_bind_int(st, 2, elem);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = xstrdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

/* Swaps the rowids of two units' rows, as another connection may (VACUUM may renumber). */
static int swap_rows(sqlite3 *db, int idx_a, int elem_a, int idx_b, int elem_b)
{
    int64_t a = rowid_of(db, idx_a, elem_a), b = rowid_of(db, idx_b, elem_b);
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE tasks SET rowid = 1000000 WHERE rowid = %lld;"
             "UPDATE tasks SET rowid = %lld WHERE rowid = %lld;"
             "UPDATE tasks SET rowid = %lld WHERE rowid = 1000000;",
             (long long)a, (long long)a, (long long)b, (long long)b);
    return a > 0 && b > 0 ? sqlite3_exec(db, sql, NULL, NULL, NULL) : -1;
}

static int check_unit(sqlite3 *db, int idx, int elem, const char *want)
{
    int fails = 0;
    char *got = row_of(db, idx, elem);
    CHECK_STR(got, want);
    free(got);
    return fails;
}

int test_rowids(void)
{
    int fails = 0;
    char dir[] = "/tmp/weft-rowids-test.XXXXXX";
    catalog *c = dbtest_catalog(dir);
    weft_err err = {0};
    CHECK(c != NULL);
    if (!c)
        return fails;
    int64_t wf = catalog_put_workflow(c, "w", 1, "h", "w.yaml", "{}");
    catalog_run r = {.workflow_id = wf, .params = "{}", .types = "{}", .artifacts = "{}",
                     .ntasks = 5};
    CHECK(catalog_create_run(c, &r, 1) == 1);
    for (int i = 0; i < 4; i++) {
        char name[8];
        snprintf(name, sizeof name, "t%d", i);
        CHECK(catalog_add_task(c, 1, i, -1, name, "noop", "1", "ready") == 0);
    }
    for (int e = 0; e < 3; e++)
        CHECK(catalog_add_task(c, 1, 3, e, "t3", "noop", "1", "ready") == 0);
    CHECK(catalog_commit(c, &err) == 0);
    /* a map of 40 elements: written 16 rows a statement */
    for (int e = 0; e < 40; e++)
        CHECK(catalog_add_task(c, 1, 4, e, "t4", "noop", "1", "ready") == 0);
    CHECK(catalog_commit(c, &err) == 0);

    char *path = xasprintf("%s/catalog.db", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    /* the hints are where the rows are */
    CHECK(cat_rowid(c, 1, 2, -1) == rowid_of(db, 2, -1));
    CHECK(cat_rowid(c, 1, 3, 2) == rowid_of(db, 3, 2));
    for (int e = 0; e < 40; e++)
        CHECK(cat_rowid(c, 1, 4, e) == rowid_of(db, 4, e));
    CHECK(cat_rowid(c, 1, 9, 5) == 0);

    /* t1 and t2 trade places: t1's hint now names t2's row */
    CHECK(swap_rows(db, 1, -1, 2, -1) == SQLITE_OK);
    catalog_attempt a = {.id = 7, .run = 1, .idx = 1, .elem = -1, .task_name = "t1",
                         .number = 1, .worker = "w1", .inputs = "{}"};
    CHECK(catalog_start_attempt(c, &a, 2) == 0);
    CHECK(catalog_commit(c, &err) == 0);
    fails += check_unit(db, 1, -1, "running/7");
    fails += check_unit(db, 2, -1, "ready/-");
    catalog_attempt_end end = {.id = 7, .run = 1, .idx = 1, .elem = -1, .state = "failed",
                               .error_class = "user", .error = "boom", .finished_us = 3};
    catalog_task_update u = {.run = 1, .idx = 1, .elem = -1, .state = "failed",
                             .task_name = "t1", .error_class = "user", .error = "boom",
                             .finished_us = 3, .end = &end};
    CHECK(catalog_update_task(c, &u, 3) == 0);
    catalog_task_update v = {.run = 1, .idx = 2, .elem = -1, .state = "skipped",
                             .task_name = "t2", .finished_us = 3};
    CHECK(catalog_update_task(c, &v, 3) == 0);
    CHECK(catalog_commit(c, &err) == 0);
    fails += check_unit(db, 1, -1, "failed/7");
    fails += check_unit(db, 2, -1, "skipped/-");

    /* elements 0 and 2 of t3 trade places */
    CHECK(swap_rows(db, 3, 0, 3, 2) == SQLITE_OK);
    catalog_attempt b = {.id = 8, .run = 1, .idx = 3, .elem = 2, .task_name = "t3[2]",
                         .number = 1, .worker = "w1", .inputs = "{}"};
    CHECK(catalog_start_attempt(c, &b, 4) == 0);
    CHECK(catalog_commit(c, &err) == 0);
    fails += check_unit(db, 3, 2, "running/8");
    fails += check_unit(db, 3, 0, "ready/-");
    fails += check_unit(db, 3, 1, "ready/-");
    /* its end lands on its row, not on the row its hint names */
    catalog_attempt_end bend = {.id = 8, .run = 1, .idx = 3, .elem = 2, .state = "succeeded",
                                .finished_us = 5};
    catalog_task_update w = {.run = 1, .idx = 3, .elem = 2, .state = "succeeded",
                             .task_name = "t3[2]", .outputs = "{}", .finished_us = 5,
                             .end = &bend};
    CHECK(catalog_update_task(c, &w, 5) == 0);
    CHECK(catalog_commit(c, &err) == 0);
    fails += check_unit(db, 3, 2, "succeeded/8");
    fails += check_unit(db, 3, 0, "ready/-");
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);

    /* a finished run's hints go */
    CHECK(catalog_finish_run(c, 1, "failed", "t1 failed", NULL, 6) == 0);
    CHECK(catalog_commit(c, &err) == 0);
    CHECK(cat_rowid(c, 1, 0, -1) == 0);

    sqlite3_close(db);
    catalog_close(&c);
    free(path);
    fs_remove_tree(dir);
    return fails;
}
