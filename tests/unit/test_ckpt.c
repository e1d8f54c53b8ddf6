/* Unit tests for catalog/catalog_ckpt.c: a catalogue whose WAL is checkpointed by its
 * thread takes 3,000 commits (about 18,000 WAL frames) with its WAL kept below 3,000 frames
 * (it starts over after each checkpoint, long before the 8,000 a commit would force), its
 * thread and its commits each having checkpointed several times; every row committed is
 * there after the catalogue is closed and opened again, and the database passes SQLite's
 * integrity check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/fsutil.h"
#include "common/xmem.h"
#include "tests/unit/dbtest.h"
#include "tests/unit/selftest.h"

#define COMMITS 3000
#define FRAME_BYTES (24 + 4096)

static long long wal_size(const char *dir)
{
    char *name = xasprintf("%s/catalog.db-wal", dir);
    struct stat st;
    long long size = stat(name, &st) == 0 ? (long long)st.st_size : -1;
    free(name);
    return size;
}

int test_ckpt(void)
{
    int fails = 0;
    char dir[] = "/tmp/weft-ckpt-test.XXXXXX";
    catalog *c = dbtest_catalog(dir);
    weft_err err = {0};
    CHECK(c != NULL);
    if (!c)
        return fails;
    CHECK(catalog_checkpoint_in_background(c, &err) == 0);
    CHECK(catalog_checkpoint_in_background(c, &err) == 0); /* a second call: the same thread */
    CHECK(sqlite3_exec(c->db, "CREATE TABLE scratch(id INTEGER PRIMARY KEY, v BLOB)", NULL,
                       NULL, NULL) == SQLITE_OK);
    /* Each commit four rows of 3,000 bytes: about six frames. */
    long long largest = 0;
    int committed = 0;
    for (int i = 0; i < COMMITS; i++) {
        if (sqlite3_exec(c->db, "BEGIN; INSERT INTO scratch(v) VALUES (zeroblob(3000)), "
                                "(zeroblob(3000)), (zeroblob(3000)), (zeroblob(3000)); COMMIT",
                         NULL, NULL, NULL) == SQLITE_OK)
            committed++;
        long long size = wal_size(dir);
        if (size > largest)
            largest = size;
    }
    CHECK(committed == COMMITS);
    /* The WAL file never shrinks: its size is the most it ever held (in steps of 256 KiB). */
    CHECK(largest > 0);
    /* Most of the time about 1,150 frames: the thread's checkpoint and the commit that
     * finishes it keep starting the WAL over, well before the 8,000 a commit would force. */
    CHECK(largest <= 3000LL * FRAME_BYTES);
    uint64_t background = 0, after_commit = 0;
    catalog_checkpoints(c, &background, &after_commit);
    CHECK(background >= 3);
    CHECK(after_commit >= 3);
    catalog_close(&c);
    CHECK(c == NULL);

    CHECK(catalog_open(dir, 0, &c, &err) == 0);
    if (c) {
        CHECK(dbtest_one(c->db, "SELECT count(*) FROM scratch") == 4LL * COMMITS);
        CHECK(catalog_check(c, 1, &err) == 0);
        catalog_checkpoints(c, &background, &after_commit);
        CHECK(background == 0 && after_commit == 0); /* none asked for on this open */
        catalog_close(&c);
    }
    fs_remove_tree(dir);
    return fails;
}
