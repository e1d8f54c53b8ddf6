/* catalog_journal: the blob journal, small blobs kept in the catalogue until the store's
 * file system has synced their files (see catalog.h). */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"

int64_t catalog_journal_add(catalog *c, const char *hex, const void *data, size_t len)
{
    sqlite3_stmt *s = cat_prepared(c, ST_JOURNAL_ADD,
                                   "INSERT INTO blob_journal(hash, data) VALUES (?1, ?2)");
    if (!s)
        return WEFT_EDB;
    cat_bind_text(s, 1, hex);
    sqlite3_bind_blob64(s, 2, len ? data : "", len, SQLITE_STATIC);
    int rc = cat_done(c, s, "journal a blob");
    return rc ? rc : sqlite3_last_insert_rowid(c->db);
}

int catalog_journal_drop(catalog *c, int64_t upto)
{
    sqlite3_stmt *s = cat_prepared(c, ST_JOURNAL_DROP, "DELETE FROM blob_journal WHERE id <= ?1");
    if (!s)
        return WEFT_EDB;
    sqlite3_bind_int64(s, 1, upto);
    return cat_done(c, s, "drop synced blobs from the journal");
}

int catalog_journal_each(catalog *c, catalog_journal_fn fn, void *ud, weft_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "SELECT id, hash, data FROM blob_journal ORDER BY id", -1,
                           &st, NULL) != SQLITE_OK)
        return err_set(err, WEFT_EDB, "catalogue %s: cannot read the blob journal: %s", c->dir,
                       sqlite3_errmsg(c->db));
    int rc = 0, step;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *hex = (const char *)sqlite3_column_text(st, 1);
        const void *data = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        rc = fn(ud, sqlite3_column_int64(st, 0), hex ? hex : "", data ? data : "", len);
    }
    if (!rc && step != SQLITE_DONE)
        rc = err_set(err, WEFT_EDB, "catalogue %s: cannot read the blob journal: %s", c->dir,
                     sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    return rc;
}
