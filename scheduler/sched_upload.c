/* sched_upload: blobs a remote client uploads for its submits and retries.
 *
 * The scheduler never reads its own disk for a client that is not local: a file or dir
 * parameter of a remote submit names what the client uploaded (see ingest.h). An upload is
 * the blob's hash and size, sent in chunks of at most UPLOAD_CHUNK_MAX; each reply says how
 * much the scheduler holds, so a client resumes where it stopped (after a lost reply, a
 * reconnect or a scheduler restart). The partial blob is a file in the store's tmp/ whose
 * name holds the principal and the hash (so two clients never write into one), hashed as
 * it grows; when it is whole and its hash matches it joins the store, and the catalogue
 * records that the project holds it. A blob the project already holds is not sent again.
 * Abandoned partial blobs are removed by weft gc like any leftover of the store. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

#define UPLOADS_PER_PRINCIPAL 8
#define REHASH_BUF (1u << 16)
#define UPLOAD_IDLE_US (3600 * 1000000LL)
#define WRITEBACK_STEP (8u << 20)

/* A blob being received: its hash so far, over the first `have` bytes of its file. */
typedef struct upload {
    hash_ctx h;
    uint64_t have;
    int64_t touched_us;
} upload;

/* How many uploads the principal has under way. An upload nobody touched for
 * UPLOAD_IDLE_US is forgotten first (its partial file stays, for a late resume, until weft
 * gc removes it). */
static size_t uploads_of(sched *s, const char *principal)
{
    size_t pos = 0, n = 0, len = strlen(principal), nidle = 0, cap = 0;
    const char *k;
    void *v;
    int64_t old = clock_wall_us() - UPLOAD_IDLE_US;
    char **idle = NULL; /* forgotten after the walk: the map may not change during it */
    while (strmap_next(s->uploads, &pos, &k, &v)) {
        if (((upload *)v)->touched_us < old) {
            xgrow(&idle, &cap, nidle + 1, sizeof *idle);
            idle[nidle++] = xstrdup(k);
        } else {
            n += !strncmp(k, principal, len) && k[len] == '-';
        }
    }
    for (size_t i = 0; i < nidle; i++) {
        free(strmap_del(s->uploads, idle[i]));
        free(idle[i]);
    }
    free(idle);
    return n;
}

/* Hashes the first `have` bytes of fd into u (after a restart: the hash so far was lost
 * with the process). */
static int rehash(int fd, upload *u)
{
    hash_init(&u->h);
    char *buf = xmalloc(REHASH_BUF);
    uint64_t done = 0;
    while (done < u->have) {
        size_t want = u->have - done < REHASH_BUF ? (size_t)(u->have - done) : REHASH_BUF;
        ssize_t r = pread(fd, buf, want, (off_t)done);
        if (r <= 0)
            break;
        hash_update(&u->h, buf, (size_t)r);
        done += (uint64_t)r;
    }
    free(buf);
    return done == u->have ? 0 : -1;
}

/* The upload of key, its partial file open in *fd; made (or found after a restart) when
 * new. NULL with why. */
static upload *open_upload(sched *s, const char *key, const char *path, int *fd,
                           const char **why)
{
    *fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        *why = "the scheduler cannot write the upload into its store (see its log)";
        log_error("upload %s: %s", path, strerror(errno));
        return NULL;
    }
    upload *u = strmap_get(s->uploads, key);
    if (u && u->have == (uint64_t)st.st_size)
        return u;
    if (!u) {
        u = xcalloc(1, sizeof *u);
        strmap_put(s->uploads, key, u);
    }
    u->touched_us = clock_wall_us();
    u->have = (uint64_t)st.st_size;
    if (rehash(*fd, u) < 0) {
        *why = "the scheduler cannot read back the partial upload (see its log)";
        return NULL;
    }
    return u;
}

static void forget_upload(sched *s, const char *key, const char *path)
{
    free(strmap_del(s->uploads, key));
    unlink(path);
}

/* Appends p's data when it starts where the partial blob ends; else *have tells the
 * sender where to go on. Returns 1 when the blob is now whole (and on disk), 0 when not,
 * or an error (err set). */
static int append(upload *u, int fd, const blob_piece *p, uint64_t *have, weft_err *err)
{
    *have = u->have;
    if (p->offset != u->have || (!p->len && u->have < p->size)) {
        if (u->have && !p->len)
            log_info("blob %s: the sender resumes at %llu bytes", p->hash,
                     (unsigned long long)u->have);
        return 0;
    }
    if (p->len && pwrite(fd, p->data, p->len, (off_t)p->offset) != (ssize_t)p->len) {
        log_error("receiving blob %s: %s", p->hash, strerror(errno));
        if (ftruncate(fd, (off_t)u->have) < 0) /* what was written of the chunk goes */
            log_error("receiving blob %s: %s", p->hash, strerror(errno));
        return err_set(err, WEFT_EIO, "the scheduler cannot write the blob (see its log)");
    }
    hash_update(&u->h, p->data, p->len);
    /* Writeback starts as the blob grows (without waiting for it), so the fsync that makes
     * it whole has little left to wait for. */
    if ((u->have + p->len) / WRITEBACK_STEP != u->have / WRITEBACK_STEP)
        sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    u->have += p->len;
    u->touched_us = clock_wall_us();
    *have = u->have;
    if (u->have < p->size)
        return 0;
    if (fsync(fd) < 0) { /* "stored" is a promise: the bytes are on disk first */
        log_error("receiving blob %s: %s", p->hash, strerror(errno));
        return err_set(err, WEFT_EIO, "the scheduler cannot write the blob (see its log)");
    }
    return 1;
}

/* The blob is whole: it joins the store if its hash is the one announced. */
static int finish(sched *s, const char *key, const char *path, upload *u, const blob_piece *p,
                  weft_err *err)
{
    char hex[HASH_HEX_LEN + 1];
    hash_final_hex(&u->h, hex);
    if (strcmp(hex, p->hash) != 0) {
        forget_upload(s, key, path);
        return err_set(err, WEFT_ECORRUPT, "blob %s: the content's hash is %s; send it again",
                       p->hash, hex);
    }
    free(strmap_del(s->uploads, key));
    if (store_adopt(s->store, path, hex, err) < 0) {
        unlink(path);
        return err->code;
    }
    return 0;
}

/* Why a piece is refused, or NULL. */
static const char *check_piece(const blob_piece *p)
{
    if (!hash_hex_valid(p->hash))
        return "a blob is named by its BLAKE2b-256 hash (64 hex digits)";
    if (p->len > BLOB_PIECE_MAX)
        return "a piece of a blob is at most 1 MiB";
    if (p->offset > p->size || p->len > p->size - p->offset)
        return "the piece lies outside the blob";
    return NULL;
}

int sched_receive(sched *s, const char *sender, const blob_piece *p, int dedup,
                  size_t max_partial, uint64_t *have, int *stored, weft_err *err)
{
    *have = 0;
    *stored = 0;
    const char *why = check_piece(p);
    if (why)
        return err_set(err, WEFT_EINVAL, "%s", why);
    if (dedup && store_has(s->store, p->hash)) {
        *have = p->size;
        *stored = 1;
        return 0;
    }
    char *key = xasprintf("%s-%s", sender, p->hash);
    if (!strmap_get(s->uploads, key) && uploads_of(s, sender) >= max_partial) {
        free(key);
        return err_set(err, WEFT_ELIMIT, "at most %zu blobs under way per sender; finish one "
                       "first", max_partial);
    }
    char *path = store_partial_path(s->store, key);
    int fd = -1, rc = 0;
    upload *u = open_upload(s, key, path, &fd, &why);
    if (u && u->have > p->size) { /* an earlier sender claimed another size: start over */
        if (ftruncate(fd, 0) == 0) {
            u->have = 0;
            hash_init(&u->h);
        } else {
            u = NULL;
            why = "the scheduler cannot restart the blob (see its log)";
        }
    }
    if (!u)
        rc = err_set(err, WEFT_EIO, "%s", why);
    else if ((rc = append(u, fd, p, have, err)) == 1 &&
             (rc = finish(s, key, path, u, p, err)) == 0)
        *stored = 1;
    if (fd >= 0)
        close(fd);
    free(path);
    free(key);
    return rc < 0 ? rc : 0;
}

void sched_on_upload(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                     const Weft__UploadRequest *rq)
{
    const char *project = *rq->project ? rq->project : CATALOG_DEFAULT_PROJECT;
    if (!sched_may_use(s, id, peer, project, "an upload"))
        return;
    if (rq->size > s->max_upload) {
        sched_reply(s, id, WEFT_EINVAL, "the blob is larger than the scheduler's --max-upload",
                    NULL, 0);
        return;
    }
    blob_piece p = {rq->hash, rq->size, rq->offset, rq->data.data, rq->data.len};
    uint64_t have;
    int stored;
    weft_err err = {0};
    int known = hash_hex_valid(rq->hash) && catalog_has_upload(s->cat, project, rq->hash) > 0;
    /* A blob counts as sent only when this project sent it: holding its hash is no proof of
     * holding its content. */
    if (sched_receive(s, peer->name, &p, known, UPLOADS_PER_PRINCIPAL, &have, &stored,
                      &err) < 0) {
        sched_reply(s, id, err.code, err.msg, NULL, 0);
        return;
    }
    if (stored && !known &&
        catalog_put_upload(s->cat, project, rq->hash, rq->size, clock_wall_us()) < 0) {
        sched_reply(s, id, WEFT_EDB, "cannot record the upload", NULL, 0);
        return;
    }
    if (stored && !known)
        log_info("upload of %s (%llu bytes) stored for project %s", rq->hash,
                 (unsigned long long)rq->size, project);
    json_t *j = json_pack("{s:I, s:b}", "have", (json_int_t)have, "stored", stored);
    sched_reply_json(s, id, j, NULL);
}

void sched_uploads_free(sched *s)
{
    strmap_destroy_free(&s->uploads);
}
