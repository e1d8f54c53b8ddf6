/* Unit tests for catalog/catvfs.c: a database in WAL mode written through it (commits of a
 * few rows, a transaction larger than its buffer whose pages spill from a small cache and
 * are written again in place, a WAL started over after a checkpoint) reads back the same
 * from another connection on the default VFS after every commit (synced or not), and
 * passes SQLite's integrity check (one that does not overwrite safely too); a
 * transaction that wrote pages again, and the commit after it, are recovered from a copy
 * when commits do not sync; a WAL grown in steps of zeros past its last frame is
 * recovered from a copy with every committed row; a transaction that spilled and rolled
 * back leaves nothing to overwrite a second writer's frames with; a write the file system
 * refuses fails its commit with the write's error and loses nothing committed before it,
 * and the WAL is then known not to grow. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "catalog/catvfs.h"
#include "common/fsutil.h"
#include "common/xmem.h"
#include "tests/unit/dbtest.h"
#include "tests/unit/selftest.h"

static int ok(sqlite3 *db)
{
    sqlite3_stmt *st;
    int good = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        good = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    return good;
}

/* Rows 1..n of 3000-byte blobs, whose bytes are derived from their id and round. */
static int fill(sqlite3 *db, int from, int n, int round)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO t(id, v) VALUES (?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    char blob[3000];
    int rc = 0;
    for (int i = from; i < from + n && rc == 0; i++) {
        memset(blob, (i * 7 + round) & 0xff, sizeof blob);
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_blob(st, 2, blob, sizeof blob, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

/* How many rows hold what fill wrote in the round the table round names. */
static sqlite3_int64 checksum(sqlite3 *db)
{
    return dbtest_one(db, "SELECT count(*) FROM t, round WHERE length(v) = 3000 AND "
                   "hex(substr(v, 3000, 1)) = printf('%02X', (t.id * 7 + round.n) & 255)");
}

static long long file_size(const char *path, const char *suffix)
{
    char *name = xasprintf("%s%s", path, suffix);
    struct stat st;
    long long size = stat(name, &st) == 0 ? (long long)st.st_size : -1;
    free(name);
    return size;
}

/* The rows of a copy of the database and its WAL, opened on the default VFS (which
 * recovers the WAL's index from the file), or -1. */
static sqlite3_int64 recovered_rows(const char *path, const char *dir)
{
    sqlite3_int64 rows = -1;
    char *data = NULL, *copy = xasprintf("%s/copy", dir);
    size_t len;
    weft_err err = {0};
    const char *suffixes[] = {"", "-wal"};
    for (int i = 0; i < 2; i++) {
        char *from = xasprintf("%s%s", path, suffixes[i]);
        char *to = xasprintf("%s%s", copy, suffixes[i]);
        int copied = fs_read_file(from, 64 << 20, &data, &len, &err) == 0 &&
                     fs_write_file(to, data, len) == 0;
        free(data);
        free(from);
        free(to);
        if (!copied)
            goto out;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(copy, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK && ok(db))
        rows = dbtest_one(db, "SELECT count(*) FROM t");
    sqlite3_close(db);
out:
    free(copy);
    return rows;
}

int test_catvfs(void)
{
    int fails = 0;
    const char *name = catvfs_register();
    CHECK_STR(name, "weft-wal");
    CHECK_STR(catvfs_register(), "weft-wal");
    char dir[] = "/tmp/weft-catvfs-test.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *path = xasprintf("%s/db", dir);
    sqlite3 *w = NULL, *r = NULL;
    CHECK(sqlite3_open_v2(path, &w, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, name) ==
          SQLITE_OK);
    CHECK(sqlite3_exec(w, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                          "PRAGMA cache_size = 20; PRAGMA wal_autocheckpoint = 0;"
                          "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);"
                          "CREATE TABLE round(n INTEGER); INSERT INTO round VALUES (0);",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);

    /* Small commits, each seen whole by the other connection. */
    int rows = 0;
    for (int i = 0; i < 40; i++) {
        CHECK(fill(w, rows + 1, 3, 0) == 0);
        rows += 3;
        CHECK(dbtest_one(r, "SELECT count(*) FROM t") == rows);
    }
    CHECK(checksum(r) == rows);

    /* Commits that do not sync (synchronous = NORMAL) are in the file as they end: the other
     * connection sees each whole, and a checkpoint by a third copies what they wrote. */
    CHECK(sqlite3_exec(w, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) == SQLITE_OK);
    for (int i = 0; i < 40; i++) {
        CHECK(fill(w, rows + 1, 3, 0) == 0);
        rows += 3;
        CHECK(dbtest_one(r, "SELECT count(*) FROM t") == rows);
    }
    sqlite3 *ck = NULL;
    CHECK(sqlite3_open_v2(path, &ck, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(ck, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(ck);
    CHECK(checksum(r) == rows);
    CHECK(ok(r));
    /* A transaction that spilled pages and wrote some again, whose frames' checksums are
     * then written again after its last frame, and a commit after it: a copy of the files
     * (a crash) is recovered with both. */
    CHECK(sqlite3_exec(w, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(fill(w, 1, 1000, 0) == 0);
    CHECK(sqlite3_exec(w, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    rows = rows > 1000 ? rows : 1000;
    CHECK(sqlite3_exec(w, "UPDATE round SET n = 0", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(recovered_rows(path, dir) == rows);
    CHECK(sqlite3_exec(w, "PRAGMA synchronous = FULL", NULL, NULL, NULL) == SQLITE_OK);

    /* The WAL grew in steps of 256 KiB of zeros, past its last frame: a copy of the files
     * as they are now (a crash) is recovered with every committed row and nothing else. */
    CHECK(file_size(path, "-wal") % (256 * 1024) == 0);
    CHECK(recovered_rows(path, dir) == rows);

    /* One transaction of 1,000 rows (3 MB, past the buffer and the 20-page cache, so
     * pages spill and are written again), then every row rewritten in another. */
    for (int round = 0; round < 2; round++) {
        CHECK(sqlite3_exec(w, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
        CHECK(fill(w, 1, 1000, round) == 0);
        char upd[64];
        snprintf(upd, sizeof upd, "UPDATE round SET n = %d", round);
        CHECK(sqlite3_exec(w, upd, NULL, NULL, NULL) == SQLITE_OK);
        CHECK(sqlite3_exec(w, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
        CHECK(dbtest_one(r, "SELECT count(*) FROM t") == 1000);
        CHECK(checksum(r) == 1000);
    }
    rows = 1000;

    /* A checkpoint that starts the WAL over: its header is written at offset 0 again. */
    CHECK(sqlite3_exec(w, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(fill(w, rows + 1, 5, 1) == 0);
    rows += 5;
    CHECK(dbtest_one(r, "SELECT count(*) FROM t") == rows);
    CHECK(checksum(r) == rows);
    CHECK(ok(r));

    /* A transaction that spilled and rolled back leaves nothing to reach the file later:
     * a second writer's commit to the same place in the WAL stays as it wrote it. */
    sqlite3 *w2 = NULL;
    CHECK(sqlite3_open_v2(path, &w2, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    sqlite3_busy_timeout(w2, 5000);
    CHECK(sqlite3_exec(w, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(fill(w, 1, 600, 7) == 0);
    CHECK(sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(w2, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(fill(w2, 1, 600, 1) == 0);
    CHECK(sqlite3_exec(w2, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(w2);
    CHECK(fill(w, rows + 1, 5, 1) == 0);
    rows += 5;
    CHECK(dbtest_one(r, "SELECT count(*) FROM t") == rows);
    CHECK(checksum(r) == rows);
    CHECK(ok(r));

    /* A write refused (the file size limit: EFBIG) fails its commit, which is rolled
     * back; what was committed before is all there, and the next commit succeeds. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit was, low = {.rlim_cur = 64 * 1024, .rlim_max = RLIM_INFINITY};
    CHECK(getrlimit(RLIMIT_FSIZE, &was) == 0);
    low.rlim_max = was.rlim_max;
    CHECK(setrlimit(RLIMIT_FSIZE, &low) == 0);
    /* The WAL cannot grow now, though a small commit may still fit in its zeros. */
    CHECK(sqlite3_exec(w, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(catvfs_can_grow(w) == 0);
    CHECK(sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(w, "BEGIN", NULL, NULL, NULL) == SQLITE_OK);
    int filled = fill(w, rows + 1, 200, 1);
    int committed = filled == 0 ? sqlite3_exec(w, "COMMIT", NULL, NULL, NULL) : SQLITE_ERROR;
    CHECK(committed != SQLITE_OK);
    CHECK(!strcmp(sqlite3_errmsg(w), "disk I/O error") ||
          !strcmp(sqlite3_errmsg(w), "database or disk is full"));
    sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL);
    CHECK(setrlimit(RLIMIT_FSIZE, &was) == 0);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(sqlite3_exec(w, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(catvfs_can_grow(w) == 1);
    CHECK(sqlite3_exec(w, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(catvfs_can_grow(r) == 1); /* the default VFS's: nothing to tell */
    CHECK(dbtest_one(r, "SELECT count(*) FROM t") == rows);
    CHECK(fill(w, rows + 1, 5, 1) == 0);
    rows += 5;
    CHECK(dbtest_one(r, "SELECT count(*) FROM t") == rows);
    CHECK(checksum(r) == rows);

    /* A database that does not overwrite safely (psow=0): SQLite pads each commit to a
     * sector and writes its last frame around a sync, so nothing is gathered; another
     * connection reads every commit intact. */
    char *padded = xasprintf("file:%s/padded?psow=0", dir);
    sqlite3 *pw = NULL, *pr = NULL;
    CHECK(sqlite3_open_v2(padded, &pw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_URI, name) == SQLITE_OK);
    CHECK(sqlite3_exec(pw, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                           "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);"
                           "CREATE TABLE round(n INTEGER); INSERT INTO round VALUES (0);",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_open_v2(padded, &pr, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) ==
          SQLITE_OK);
    for (int i = 0; i < 50; i++)
        CHECK(fill(pw, i + 1, 1, 0) == 0);
    CHECK(dbtest_one(pr, "SELECT count(*) FROM t") == 50);
    CHECK(checksum(pr) == 50);
    CHECK(ok(pr));
    sqlite3_close(pr);
    sqlite3_close(pw);
    free(padded);

    /* Closed and opened again on the default VFS: the same rows, intact. */
    sqlite3_close(w);
    sqlite3_close(r);
    CHECK(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(dbtest_one(r, "SELECT count(*) FROM t") == rows);
    CHECK(checksum(r) == rows);
    CHECK(ok(r));
    sqlite3_close(r);
    fs_remove_tree(dir);
    free(path);
    return fails;
}
