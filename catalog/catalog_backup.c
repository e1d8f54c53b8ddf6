/* catalog_backup: consistent copies of the catalogue (SQLite's online backup API) and
 * putting one back. A copy made while a scheduler writes is a snapshot of one committed
 * state: a WAL reader sees whole transactions and does not block the writer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/xmem.h"

/* Opens the database file path read-only and checks it is a sound catalogue of a schema
 * this weft can open; fills its highest run and attempt ids. */
static int open_checked(const char *path, sqlite3 **db, int64_t *runs, int64_t *attempts,
                        weft_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return err_set(err, WEFT_ENOTFOUND, "%s: %s", path, strerror(errno));
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return err_set(err, WEFT_EIO, "cannot open %s: %s", path, sqlite3_errmsg(*db));
    sqlite3_busy_timeout(*db, 5000);
    if (cat_check_db(*db, path, 0, err) < 0)
        return err->code;
    sqlite3_stmt *st2;
    int version = -1;
    if (sqlite3_prepare_v2(*db, "SELECT (SELECT coalesce(max(id), 0) FROM runs), "
                           "(SELECT coalesce(max(id), 0) FROM attempts), "
                           "(SELECT user_version FROM pragma_user_version)", -1, &st2,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st2) == SQLITE_ROW) {
        *runs = sqlite3_column_int64(st2, 0);
        *attempts = sqlite3_column_int64(st2, 1);
        version = sqlite3_column_int(st2, 2);
    }
    sqlite3_finalize(st2);
    if (version < 1 || version > CATALOG_SCHEMA_VERSION)
        return err_set(err, WEFT_EINVAL, "%s is not a weft catalogue this weft can open "
                       "(schema version %d; this weft knows 1 to %d)", path, version,
                       CATALOG_SCHEMA_VERSION);
    return 0;
}

/* Copies database src into the new file dest, all pages in one step: one read
 * transaction, hence one consistent snapshot. */
static int copy_db(sqlite3 *src, const char *dest, const char *what, weft_err *err)
{
    struct stat st;
    if (lstat(dest, &st) == 0)
        return err_set(err, WEFT_EINVAL, "%s already exists; give a new file", dest);
    sqlite3 *out = NULL;
    int rc = sqlite3_open_v2(dest, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    sqlite3_backup *b = rc == SQLITE_OK ? sqlite3_backup_init(out, "main", src, "main") : NULL;
    if (b) {
        rc = sqlite3_backup_step(b, -1);
        sqlite3_backup_finish(b);
        rc = rc == SQLITE_DONE ? sqlite3_errcode(out) : rc;
    } else if (rc == SQLITE_OK) {
        rc = sqlite3_errcode(out);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(out, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        err_set(err, WEFT_EIO, "cannot copy %s to %s: %s", what, dest,
                out ? sqlite3_errmsg(out) : sqlite3_errstr(rc));
        sqlite3_close(out);
        unlink(dest);
        return err->code;
    }
    sqlite3_close(out);
    return 0;
}

int catalog_backup(const char *dir, const char *dest, weft_err *err)
{
    char *path = xasprintf("%s/catalog.db", dir);
    sqlite3 *db = NULL;
    int64_t runs, attempts;
    int rc = open_checked(path, &db, &runs, &attempts, err);
    if (rc == 0)
        rc = copy_db(db, dest, path, err);
    sqlite3_close(db);
    free(path);
    return rc;
}

int catalog_restore(const char *dir, const char *src, char **kept, weft_err *err)
{
    *kept = NULL;
    char *db = xasprintf("%s/catalog.db", dir), *tmp = xasprintf("%s.restoring", db);
    sqlite3 *in = NULL;
    int64_t runs = 0, attempts = 0;
    catalog_marks old;
    int found, rc = marks_read(dir, &old, &found, err);
    if (rc == 0)
        rc = open_checked(src, &in, &runs, &attempts, err);
    if (rc == 0) {
        unlink(tmp);
        rc = copy_db(in, tmp, src, err);
    }
    struct stat st;
    if (rc == 0 && stat(db, &st) == 0) {
        *kept = xasprintf("%s.replaced-%lld", db, (long long)time(NULL));
        if (rename(db, *kept) < 0)
            rc = err_set(err, WEFT_EIO, "cannot move %s aside: %s", db, strerror(errno));
    }
    if (rc == 0) {
        /* The old write-ahead log belongs to the old file: replayed into the restored
         * one, it would corrupt it. */
        char *wal = xasprintf("%s-wal", db), *shm = xasprintf("%s-shm", db);
        unlink(wal);
        unlink(shm);
        free(wal);
        free(shm);
        if (rename(tmp, db) < 0)
            rc = err_set(err, WEFT_EIO, "cannot put %s in place: %s", db, strerror(errno));
    }
    if (rc == 0) {
        /* Ids issued before stay issued: the old marks become floors. */
        catalog_marks m = {.run = runs, .attempt = attempts,
                           .run_floor = marks_run_max(&old),
                           .attempt_floor = marks_attempt_max(&old)};
        if (cat_logs_high(dir) > m.run_floor)
            m.run_floor = cat_logs_high(dir);
        int wrc = marks_write(dir, &m);
        if (wrc < 0)
            rc = err_set(err, WEFT_EIO, "cannot write %s/catalog.marks: %s", dir,
                         strerror(-wrc));
    }
    if (rc < 0)
        unlink(tmp);
    sqlite3_close(in);
    free(tmp);
    free(db);
    return rc;
}
