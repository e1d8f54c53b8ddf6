/* sched_journal: small blobs made durable by the turn's commit (see sched_int.h and the
 * blob journal in catalog.h).
 *
 * The invariant: a store file written unsynced has its entry committed in the journal
 * before it is written, and the entry is dropped only after a sync of the file system that
 * began once the file was written. So every blob the catalogue references is either synced
 * in the store or journalled, and a power cut that loses a file loses nothing: the next
 * start writes it again from its entry. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

#define SYNC_EVERY_US 1000000 /* at most one sync of the store's file system a second */
/* Synced entries are dropped by the next turn that commits anyway; by a commit of their
 * own only when none came for this long (a commit is an fsync on the loop). */
#define DROP_ALONE_US 1000000

typedef struct pending_blob {
    char hex[HASH_HEX_LEN + 1];
    uint8_t *data;
    size_t len;
    int64_t id; /* its journal entry */
} pending_blob;

typedef struct journal {
    pending_blob *pending; /* journalled in the turn, files not written yet */
    size_t npending, cappending;
    int64_t written;      /* every entry up to this id has its file written */
    int64_t dropped;      /* entries up to this id are dropped (or being dropped) */
    int64_t synced;       /* entries up to this id are covered by a finished sync */
    int64_t synced_us;    /* monotonic, when that sync finished */
    int syncing;          /* a sync is under way in libuv's thread pool */
    int64_t sync_upto;    /* what the sync under way covers */
    int sync_errno;
    int64_t last_sync_us; /* monotonic, when the last sync began */
    uv_work_t work;
    char *root;           /* the store's directory */
    sched *s;
} journal;

/* ---- replay ---- */

typedef struct replay {
    sched *s;
    int64_t last;
    size_t kept, rewritten;
    weft_err *err;
} replay;

/* One entry at start: its file is verified, written again when lost or damaged (a damaged
 * one is quarantined by the check), and synced. */
static int replay_one(void *ud, int64_t id, const char *hex, const void *data, size_t len)
{
    replay *r = ud;
    r->last = id;
    char got[HASH_HEX_LEN + 1];
    hash_hex(data, len, got);
    if (strcmp(got, hex) != 0) {
        log_warn("blob journal: entry %lld does not hash to %.16s...; skipped", (long long)id,
                 hex);
        return 0;
    }
    json_t *ref = json_pack("{s:s, s:s}", "artifact", hex, "kind", "file");
    weft_err verr = {0};
    int rc = store_verify(r->s->store, ref, &verr);
    json_decref(ref);
    if (rc == 0) { /* whole: made durable where it is */
        if (store_sync_blob(r->s->store, hex, r->err) < 0)
            return r->err->code;
        r->kept++;
        return 0;
    }
    if (store_put_data(r->s->store, data, len, got, r->err) < 0)
        return r->err->code;
    r->rewritten++;
    return 0;
}

static int replay_all(sched *s, weft_err *err)
{
    replay r = {.s = s, .err = err};
    if (catalog_journal_each(s->cat, replay_one, &r, err) < 0)
        return err->code;
    if (!r.last)
        return 0;
    weft_err cerr = {0};
    if (catalog_journal_drop(s->cat, r.last) < 0 || catalog_commit(s->cat, &cerr) < 0)
        return err_set(err, WEFT_EDB, "cannot empty the blob journal: %s", cerr.msg);
    log_info("blob journal: %zu blobs synced, %zu written again", r.kept, r.rewritten);
    return 0;
}

int sched_journal_open(sched *s, weft_err *err)
{
    if (replay_all(s, err) < 0)
        return err->code;
    if (strcmp(s->store->ops->name, "local") != 0 || !s->store->root)
        return 0;
    journal *j = xcalloc(1, sizeof *j);
    j->root = xstrdup(s->store->root);
    j->s = s;
    j->work.data = j;
    s->journal = j;
    return 0;
}

uint32_t sched_journal_inline_max(const sched *s)
{
    return s->journal ? SCHED_JOURNAL_BLOB_MAX : 0;
}

/* ---- the turn ---- */

/* Journals data, hashing to hex, unless the store or the turn has it. */
static int journal_add(sched *s, const char *hex, const void *data, size_t len, weft_err *err)
{
    journal *j = s->journal;
    if (store_has(s->store, hex)) /* in the store, or journalled in this turn */
        return 0;
    int64_t id = catalog_journal_add(s->cat, hex, data, len);
    if (id < 0)
        return err_set(err, WEFT_EDB, "cannot journal blob %.16s... in the catalogue", hex);
    xgrow(&j->pending, &j->cappending, j->npending + 1, sizeof *j->pending);
    pending_blob *p = &j->pending[j->npending++];
    snprintf(p->hex, sizeof p->hex, "%s", hex);
    p->data = len ? memcpy(xmalloc(len), data, len) : NULL;
    p->len = len;
    p->id = id;
    store_hold(s->store, hex, len);
    return 0;
}

int sched_journal_put(sched *s, const void *data, size_t len, char hex[HASH_HEX_LEN + 1],
                      weft_err *err)
{
    if (!s->journal || len > SCHED_JOURNAL_BLOB_MAX)
        return store_put_data(s->store, data, len, hex, err);
    hash_hex(data, len, hex);
    return journal_add(s, hex, data, len, err);
}

int sched_journal_take(sched *s, const char *hash, const void *data, size_t len, weft_err *err)
{
    if (!s->journal)
        return err_set(err, WEFT_EINVAL, "blobs inside a result were not asked for");
    if (len > SCHED_JOURNAL_BLOB_MAX)
        return err_set(err, WEFT_EINVAL, "a blob inside a result has %zu bytes; the limit is "
                       "%u", len, SCHED_JOURNAL_BLOB_MAX);
    char hex[HASH_HEX_LEN + 1];
    hash_hex(data, len, hex);
    if (strcmp(hex, hash) != 0)
        return err_set(err, WEFT_EINVAL, "a blob inside a result does not hash to %.16s...",
                       hash);
    return journal_add(s, hex, data, len, err);
}

static void forget_pending(sched *s, journal *j)
{
    for (size_t i = 0; i < j->npending; i++)
        free(j->pending[i].data);
    j->npending = 0;
    store_release_held(s->store);
}

void sched_journal_committed(sched *s, int ok)
{
    journal *j = s->journal;
    if (!j || !j->npending)
        return;
    for (size_t i = 0; ok && i < j->npending; i++) {
        pending_blob *p = &j->pending[i];
        weft_err err = {0};
        /* Its entry holds it: a file that cannot be written now is written at the next
         * start, and readers meanwhile are told it is missing. */
        if (store_put_data_unsynced(s->store, p->data, p->len, p->hex, &err) < 0)
            log_error("blob journal: %s", err.msg);
        if (p->id > j->written)
            j->written = p->id;
    }
    forget_pending(s, j);
}

/* ---- syncs ---- */

static void sync_work(uv_work_t *w)
{
    journal *j = w->data;
    int fd = open(j->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    j->sync_errno = fd < 0 || syncfs(fd) < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
}

static void sync_done(uv_work_t *w, int status)
{
    journal *j = w->data;
    j->syncing = 0;
    if (status == 0 && j->sync_errno == 0) {
        j->synced = j->sync_upto;
        j->synced_us = clock_mono_us();
    } else if (status == 0)
        log_warn("blob journal: cannot sync the store's file system (%s): %s", j->root,
                 strerror(j->sync_errno));
    sched_journal_tick(j->s);
}

void sched_journal_tick(sched *s)
{
    journal *j = s->journal;
    if (!j)
        return;
    int64_t now = clock_mono_us();
    if (j->synced > j->dropped && !s->degraded &&
        (catalog_in_turn(s->cat) || now - j->synced_us >= DROP_ALONE_US)) {
        /* Joins the turn; should it roll back, the entries stay, which costs a replay. */
        if (catalog_journal_drop(s->cat, j->synced) == 0)
            j->dropped = j->synced;
    }
    if (j->syncing || s->stopping || j->written <= j->synced ||
        now - j->last_sync_us < SYNC_EVERY_US)
        return;
    j->syncing = 1;
    j->sync_upto = j->written;
    j->last_sync_us = now;
    if (uv_queue_work(&s->loop, &j->work, sync_work, sync_done) != 0)
        j->syncing = 0;
}

void sched_journal_free(sched *s)
{
    journal *j = s->journal;
    if (!j)
        return;
    forget_pending(s, j);
    free(j->pending);
    free(j->root);
    free(j);
    s->journal = NULL;
}
