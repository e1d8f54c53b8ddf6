/* dbtest: see dbtest.h. */
#include "tests/unit/dbtest.h"

#include <stdlib.h>

#include "common/fsutil.h"

catalog *dbtest_catalog(char *dir)
{
    catalog *c = NULL;
    weft_err err = {0};
    if (!mkdtemp(dir))
        return NULL;
    if (catalog_open(dir, 0, &c, &err) < 0) {
        fs_remove_tree(dir);
        return NULL;
    }
    return c;
}

sqlite3_int64 dbtest_one(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    sqlite3_int64 v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}
