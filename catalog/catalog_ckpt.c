/* catalog_ckpt: the WAL's checkpoints on a thread of their own (see catalog.h).
 *
 * SQLite checkpoints a WAL of 1,000 frames in the commit that fills it: it copies the
 * frames' pages into the database and syncs both files, 2-12 ms on the scheduler's loop
 * every few hundred tasks, while no message is read or sent. Here the writer's commits
 * only count the frames (a WAL hook instead of SQLite's automatic checkpoint); past
 * CKPT_FRAMES a thread with a connection of its own runs a passive checkpoint, which takes
 * no lock a writer or a reader waits for. The writer keeps committing meanwhile, so that
 * checkpoint leaves the last few frames, and SQLite starts a WAL over only once every frame
 * is in the database: the writer's next commit checkpoints that rest itself (at most
 * CKPT_REST frames, a fraction of the whole), and the WAL starts over at the next. A WAL
 * that reaches CKPT_MAX frames all the same (a thread that cannot keep up) is checkpointed
 * by the writer whatever it holds. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xmem.h"

#define CKPT_FRAMES 1000 /* SQLite's own threshold for its automatic checkpoint */
#define CKPT_REST 256
#define CKPT_MAX 8000
#define CKPT_WARN_EVERY_US 60000000

struct cat_ckpt {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    sqlite3 *db;     /* the thread's connection */
    int asked, busy, stop;
    /* What the thread's last checkpoint left in the database: frames of the WAL as it was
     * in generation gen (the count of times it was seen to start over). */
    int done, done_gen;
    int gen, frames; /* the WAL's generation and frames at the writer's last commit */
    uint64_t passes, rests; /* checkpoints by the thread, and by the writer */
    int64_t warned_us;      /* monotonic, when a failed checkpoint was last logged */
};

/* Logs a failed checkpoint, at most once a minute (k->mu held). */
static void warn(cat_ckpt *k, const char *who, sqlite3 *db, int rc)
{
    int64_t now = clock_mono_us();
    if (k->warned_us && now - k->warned_us < CKPT_WARN_EVERY_US)
        return;
    k->warned_us = now;
    log_warn("catalogue: a checkpoint of the WAL %s failed: %s", who,
             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static void *run(void *arg)
{
    cat_ckpt *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->asked && !k->stop)
            pthread_cond_wait(&k->wake, &k->mu);
        if (k->stop)
            break;
        k->asked = 0;
        k->busy = 1;
        int gen = k->gen;
        pthread_mutex_unlock(&k->mu);
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        pthread_mutex_lock(&k->mu);
        k->busy = 0;
        if (rc != SQLITE_OK) {
            warn(k, "in the background", k->db, rc);
        } else {
            k->passes++;
            k->done = done > 0 ? done : 0;
            k->done_gen = gen;
            if (done == log && log == k->frames && gen == k->gen)
                k->gen++; /* all of it, none since: the next commit starts the WAL over */
        }
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

/* After each of the writer's commits, with the frames its WAL now holds. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    cat_ckpt *k = arg;
    int rest = 0;
    pthread_mutex_lock(&k->mu);
    if (frames < k->frames)
        k->gen++; /* the WAL started over */
    k->frames = frames;
    if (frames >= CKPT_FRAMES && !k->busy && !k->asked) {
        int done = k->done_gen == k->gen ? k->done : 0;
        if (frames - done <= CKPT_REST || frames >= CKPT_MAX) {
            rest = 1;
        } else {
            k->asked = 1;
            pthread_cond_signal(&k->wake);
        }
    }
    pthread_mutex_unlock(&k->mu);
    if (rest) {
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        pthread_mutex_lock(&k->mu);
        if (rc != SQLITE_OK) {
            warn(k, "after a commit", db, rc);
        } else {
            k->rests++;
            if (done == log)
                k->gen++; /* the next commit starts the WAL over */
        }
        pthread_mutex_unlock(&k->mu);
    }
    return SQLITE_OK;
}

int catalog_checkpoint_in_background(catalog *c, weft_err *err)
{
    if (c->ckpt)
        return 0;
    cat_ckpt *k = xcalloc(1, sizeof *k);
    char *path = xasprintf("%s/catalog.db", c->dir);
    int rc = sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    free(path);
    /* Its checkpoints sync the database; reading the schema opens the WAL, which a
     * checkpoint of a connection that has read nothing would not find. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(k->db, "PRAGMA synchronous = FULL; SELECT 1 FROM sqlite_schema",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = err_set(err, WEFT_EDB, "cannot open %s/catalog.db for its checkpoints: %s",
                     c->dir, k->db ? sqlite3_errmsg(k->db) : sqlite3_errstr(rc));
        sqlite3_close(k->db);
        free(k);
        return rc;
    }
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->wake, NULL);
    if ((rc = pthread_create(&k->thread, NULL, run, k)) != 0) {
        rc = err_set(err, WEFT_EIO, "cannot start the catalogue's checkpoint thread: %s",
                     strerror(rc));
        pthread_mutex_destroy(&k->mu);
        pthread_cond_destroy(&k->wake);
        sqlite3_close(k->db);
        free(k);
        return rc;
    }
    c->ckpt = k;
    sqlite3_wal_hook(c->db, on_commit, k); /* in place of SQLite's automatic checkpoint */
    return 0;
}

void catalog_checkpoints(catalog *c, uint64_t *background, uint64_t *after_commit)
{
    cat_ckpt *k = c->ckpt;
    *background = *after_commit = 0;
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    *background = k->passes;
    *after_commit = k->rests;
    pthread_mutex_unlock(&k->mu);
}

void cat_ckpt_stop(catalog *c)
{
    cat_ckpt *k = c->ckpt;
    if (!k)
        return;
    sqlite3_wal_autocheckpoint(c->db, CKPT_FRAMES); /* SQLite's own again, for the close */
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->wake);
    sqlite3_close(k->db);
    free(k);
    c->ckpt = NULL;
}
