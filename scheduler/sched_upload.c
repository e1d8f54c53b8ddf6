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

#define UPLOAD_CHUNK_MAX (1u << 20)
#define UPLOADS_PER_PRINCIPAL 8
#define REHASH_BUF (1u << 16)
#define UPLOAD_IDLE_US (3600 * 1000000LL)

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

static void reply_have(sched *s, const zmq_msg_t *id, uint64_t have, int stored)
{
    json_t *j = json_pack("{s:I, s:b}", "have", (json_int_t)have, "stored", stored);
    sched_reply_json(s, id, j, NULL);
}

/* Appends the request's data at its offset when that is what the scheduler holds; else
 * the reply tells the client where to go on. Returns 1 when the blob is now whole. */
static int append(sched *s, const zmq_msg_t *id, upload *u, int fd,
                  const Weft__UploadRequest *rq)
{
    if (rq->offset != u->have || (!rq->data.len && u->have < rq->size)) {
        if (u->have && !rq->data.len)
            log_info("upload of %s: the client resumes at %llu bytes", rq->hash,
                     (unsigned long long)u->have);
        reply_have(s, id, u->have, 0);
        return 0;
    }
    if (rq->data.len &&
        pwrite(fd, rq->data.data, rq->data.len, (off_t)rq->offset) != (ssize_t)rq->data.len) {
        log_error("upload of %s: %s", rq->hash, strerror(errno));
        if (ftruncate(fd, (off_t)u->have) < 0) /* what was written of the chunk goes */
            log_error("upload of %s: %s", rq->hash, strerror(errno));
        sched_reply(s, id, WEFT_EIO, "the scheduler cannot write the upload (see its log)",
                    NULL, 0);
        return 0;
    }
    hash_update(&u->h, rq->data.data, rq->data.len);
    u->have += rq->data.len;
    u->touched_us = clock_wall_us();
    if (u->have < rq->size) {
        reply_have(s, id, u->have, 0);
        return 0;
    }
    if (fsync(fd) < 0) { /* "stored" is a promise: the bytes are on disk first */
        log_error("upload of %s: %s", rq->hash, strerror(errno));
        sched_reply(s, id, WEFT_EIO, "the scheduler cannot write the upload (see its log)",
                    NULL, 0);
        return 0;
    }
    return 1;
}

/* The blob is whole: it joins the store if its hash is the one announced. */
static void finish(sched *s, const zmq_msg_t *id, const char *key, const char *path,
                   upload *u, const char *project, const Weft__UploadRequest *rq)
{
    char hex[HASH_HEX_LEN + 1];
    hash_final_hex(&u->h, hex);
    weft_err err = {0};
    if (strcmp(hex, rq->hash) != 0) {
        forget_upload(s, key, path);
        char *msg = xasprintf("upload of %s: the content's hash is %s; send it again",
                              rq->hash, hex);
        sched_reply(s, id, WEFT_ECORRUPT, msg, NULL, 0);
        free(msg);
        return;
    }
    free(strmap_del(s->uploads, key));
    if (store_adopt(s->store, path, hex, &err) < 0 ||
        catalog_put_upload(s->cat, project, hex, rq->size, clock_wall_us()) < 0) {
        unlink(path);
        sched_reply(s, id, err.code ? err.code : WEFT_EDB,
                    err.code ? err.msg : "cannot record the upload", NULL, 0);
        return;
    }
    log_info("upload of %s (%llu bytes) stored for project %s", hex,
             (unsigned long long)rq->size, project);
    reply_have(s, id, rq->size, 1);
}

/* Why the request is refused, or NULL. */
static const char *check(sched *s, const Weft__UploadRequest *rq)
{
    if (!hash_hex_valid(rq->hash))
        return "an upload names its blob by its BLAKE2b-256 hash (64 hex digits)";
    if (rq->data.len > UPLOAD_CHUNK_MAX)
        return "an upload's chunk is at most 1 MiB";
    if (rq->size > s->max_upload)
        return "the blob is larger than the scheduler's --max-upload";
    if (rq->offset > rq->size || rq->data.len > rq->size - rq->offset)
        return "the chunk lies outside the blob";
    return NULL;
}

void sched_on_upload(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                     const Weft__UploadRequest *rq)
{
    const char *project = *rq->project ? rq->project : CATALOG_DEFAULT_PROJECT;
    if (!sched_may_use(s, id, peer, project, "an upload"))
        return;
    const char *why = check(s, rq);
    if (why) {
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
        return;
    }
    if (catalog_has_upload(s->cat, project, rq->hash) > 0 && store_has(s->store, rq->hash)) {
        reply_have(s, id, rq->size, 1);
        return;
    }
    char *key = xasprintf("%s-%s", peer->name, rq->hash);
    if (!strmap_get(s->uploads, key) && uploads_of(s, peer->name) >= UPLOADS_PER_PRINCIPAL) {
        sched_reply(s, id, WEFT_ELIMIT, "at most 8 uploads under way per principal; finish "
                    "one first", NULL, 0);
        free(key);
        return;
    }
    char *path = store_partial_path(s->store, key);
    int fd = -1;
    upload *u = open_upload(s, key, path, &fd, &why);
    if (u && u->have > rq->size) { /* an earlier upload claimed another size: start over */
        if (ftruncate(fd, 0) == 0) {
            u->have = 0;
            hash_init(&u->h);
        } else {
            u = NULL;
            why = "the scheduler cannot restart the upload (see its log)";
        }
    }
    if (!u)
        sched_reply(s, id, WEFT_EIO, why, NULL, 0);
    else if (append(s, id, u, fd, rq))
        finish(s, id, key, path, u, project, rq);
    if (fd >= 0)
        close(fd);
    free(path);
    free(key);
}

void sched_uploads_free(sched *s)
{
    if (!s->uploads)
        return;
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next(s->uploads, &pos, &k, &v))
        free(v);
    strmap_destroy(&s->uploads);
}
