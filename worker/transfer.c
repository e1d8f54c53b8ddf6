/* transfer: blobs between a worker's cache and the scheduler's store. See transfer.h.
 *
 * A fetch keeps up to XFER_CREDIT BlobFetch requests in flight, each for the piece at its
 * offset; answers come back in order, and one that is not for the next offset (from before
 * a stall) is dropped. A push sends pieces from where the scheduler said it holds; the
 * scheduler takes a piece only when it starts where its partial blob ends, so after a piece
 * is refused the rest in flight are too, and once they are all answered the push goes on
 * from what the scheduler holds. */
#include "worker/transfer.h"

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

#define SIZE_UNKNOWN UINT64_MAX
#define REHASH_BUF (1u << 20)

typedef struct blob_item {
    char hex[HASH_HEX_LEN + 1];
    int manifest; /* a directory's manifest: its files follow once it is here */
} blob_item;

struct xfer {
    xfer_ctx *x;
    xfer *lprev, *lnext; /* in the context's list */
    uint64_t attempt;
    char *nonce;
    int push;
    blob_item *items;
    size_t n, cap, cur; /* cur: the blob under way */
    int fd;             /* fetch: its partial file; push: the blob; -1: none open */
    char *partial;      /* fetch: the partial file's path */
    hash_ctx h;         /* fetch: over the first `have` bytes */
    uint64_t size;      /* the blob's size (fetch: SIZE_UNKNOWN until the first answer) */
    uint64_t have;      /* fetch: bytes written in order; push: what the scheduler holds */
    uint64_t next;      /* the next offset to ask for, or to send */
    uint64_t acked;     /* push: where the pieces answered so far end */
    int inflight;
    int probing;        /* push: the question in flight asks how much the scheduler holds */
    int rewinding;      /* push: a piece was refused; go on from `have` once all answered */
    int waiting;        /* another transfer moves the same blob the same way: after it */
    int64_t progress_us, asked_us, began_us; /* began: the blob under way */
    char why[400];
    xfer_done_fn done;
    void *ud;
};

struct xfer_ctx {
    bcache *cache;
    xfer_send_fn send;
    void *send_ud;
    xfer *head;
};

xfer_ctx *xfer_ctx_new(bcache *cache, xfer_send_fn send, void *send_ud)
{
    xfer_ctx *x = xcalloc(1, sizeof *x);
    x->cache = cache;
    x->send = send;
    x->send_ud = send_ud;
    return x;
}

void xfer_ctx_free(xfer_ctx **xp)
{
    if (!xp || !*xp)
        return;
    while ((*xp)->head)
        xfer_cancel((*xp)->head);
    free(*xp);
    *xp = NULL;
}

static void close_blob(xfer *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    free(t->partial);
    t->partial = NULL;
}

void xfer_cancel(xfer *t)
{
    if (!t)
        return;
    close_blob(t);
    if (t->lprev)
        t->lprev->lnext = t->lnext;
    else
        t->x->head = t->lnext;
    if (t->lnext)
        t->lnext->lprev = t->lprev;
    free(t->items);
    free(t->nonce);
    free(t);
}

/* Ends t: done is told (rc 0, or -1 with t->why), then t is freed. */
static void conclude(xfer *t, int rc)
{
    xfer_done_fn done = t->done;
    void *ud = t->ud;
    char why[sizeof t->why];
    snprintf(why, sizeof why, "%s", t->why);
    xfer_cancel(t);
    done(ud, rc, rc ? why : NULL);
}

static int fail(xfer *t, const char *fmt, const char *detail)
{
    snprintf(t->why, sizeof t->why, fmt, detail);
    return -1;
}

static void add_item(xfer *t, const char *hex, int manifest)
{
    xgrow(&t->items, &t->cap, t->n + 1, sizeof *t->items);
    snprintf(t->items[t->n].hex, sizeof t->items[t->n].hex, "%s", hex);
    t->items[t->n++].manifest = manifest;
}

static void add_ref(void *ud, const json_t *ref)
{
    const char *hex = artref_hash(ref);
    if (hex)
        add_item(ud, hex, artref_is_dir(ref));
}

static int add_file(void *ud, const char *hex)
{
    add_item(ud, hex, 0);
    return 0;
}

/* The files of the directory whose manifest is blob hex, in the cache, join the list. */
static int expand(xfer *t, const char *hex)
{
    json_t *ref = json_pack("{s:s, s:s}", "artifact", hex, "kind", "dir");
    weft_err err = {0};
    int rc = store_dir_blobs(bcache_store(t->x->cache), ref, add_file, t, &err);
    json_decref(ref);
    return rc < 0 ? fail(t, "%s", err.msg) : 0;
}

/* Logs a blob's transfer: its size and rate. */
static void log_moved(const xfer *t, const char *what, uint64_t bytes)
{
    double s = (double)(clock_wall_us() - t->began_us) / 1e6;
    log_info("%s blob %.16s... (%llu bytes in %.2f s, %.0f MB/s) for attempt %llu", what,
             t->items[t->cur].hex, (unsigned long long)bytes, s,
             s > 0 ? (double)bytes / s / 1e6 : 0.0, (unsigned long long)t->attempt);
}

/* ---- fetch ---- */

static void send_fetch(xfer *t, uint64_t offset)
{
    Weft__BlobFetch f = WEFT__BLOB_FETCH__INIT;
    f.attempt_id = t->attempt;
    f.nonce = t->nonce;
    f.hash = t->items[t->cur].hex;
    f.offset = offset;
    f.length = XFER_PIECE;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_BLOB_FETCH;
    env.blob_fetch = &f;
    t->x->send(t->x->send_ud, &env);
    t->asked_us = clock_wall_us();
}

/* Keeps the fetch's requests in flight: one until the blob's size is known. */
static void ask(xfer *t)
{
    int credit = t->size == SIZE_UNKNOWN ? 1 : XFER_CREDIT;
    while (t->inflight < credit && (t->size == SIZE_UNKNOWN || t->next < t->size)) {
        send_fetch(t, t->next);
        t->next += XFER_PIECE;
        t->inflight++;
    }
    if (t->size != SIZE_UNKNOWN && t->next >= t->size && !t->inflight && t->have < t->size) {
        t->next = t->have; /* answers were dropped: ask again from what is here */
        ask(t);
    }
}

/* Hashes what an earlier fetch left in the partial file. */
static int rehash(xfer *t)
{
    hash_init(&t->h);
    char *buf = xmalloc(REHASH_BUF);
    uint64_t done = 0;
    while (done < t->have) {
        size_t want = t->have - done < REHASH_BUF ? (size_t)(t->have - done) : REHASH_BUF;
        ssize_t r = pread(t->fd, buf, want, (off_t)done);
        if (r <= 0)
            break;
        hash_update(&t->h, buf, (size_t)r);
        done += (uint64_t)r;
    }
    free(buf);
    return done == t->have ? 0 : -1;
}

static int start_fetch(xfer *t)
{
    char name[HASH_HEX_LEN + 8];
    snprintf(name, sizeof name, "fetch-%s", t->items[t->cur].hex);
    t->partial = store_partial_path(bcache_store(t->x->cache), name);
    t->fd = open(t->partial, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (t->fd < 0 || fstat(t->fd, &st) < 0)
        return fail(t, "cannot write into the blob cache: %s", strerror(errno));
    t->have = t->next = (uint64_t)st.st_size;
    if (t->have)
        log_info("fetch of %.16s... resumes at %llu bytes", t->items[t->cur].hex,
                 (unsigned long long)t->have);
    if (rehash(t) < 0)
        return fail(t, "cannot read the partial blob %s", t->partial);
    t->size = SIZE_UNKNOWN;
    t->inflight = 0;
    t->progress_us = t->began_us = clock_wall_us();
    ask(t);
    return 0;
}

/* The blob under way is whole: it joins the cache if it matches its hash. */
static int finish_fetch(xfer *t)
{
    const blob_item *it = &t->items[t->cur];
    char hex[HASH_HEX_LEN + 1];
    hash_final_hex(&t->h, hex);
    weft_err err = {0};
    if (strcmp(hex, it->hex) != 0) {
        unlink(t->partial);
        return fail(t, "blob %.16s... received from the scheduler does not match its hash "
                    "(the scheduler's copy may be damaged)", it->hex);
    }
    if (store_adopt(bcache_store(t->x->cache), t->partial, hex, &err) < 0)
        return fail(t, "%s", err.msg);
    bcache_add(t->x->cache, hex, t->size);
    log_moved(t, "fetched", t->size);
    close_blob(t);
    return 0;
}

/* ---- push ---- */

static void send_piece(xfer *t, uint64_t offset, const void *data, size_t len)
{
    Weft__BlobPush p = WEFT__BLOB_PUSH__INIT;
    p.attempt_id = t->attempt;
    p.nonce = t->nonce;
    p.hash = t->items[t->cur].hex;
    p.size = t->size;
    p.offset = offset;
    p.data.data = (uint8_t *)data;
    p.data.len = len;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_BLOB_PUSH;
    env.blob_push = &p;
    t->x->send(t->x->send_ud, &env);
    t->inflight++;
    t->asked_us = clock_wall_us();
}

static void probe(xfer *t)
{
    t->probing = 1;
    t->rewinding = 0;
    send_piece(t, 0, NULL, 0);
}

/* Keeps the push's pieces in flight. */
static int send_more(xfer *t)
{
    uint8_t *buf = NULL;
    while (t->inflight < XFER_CREDIT && t->next < t->size) {
        size_t len = t->size - t->next < XFER_PIECE ? (size_t)(t->size - t->next) : XFER_PIECE;
        if (!buf)
            buf = xmalloc(XFER_PIECE);
        ssize_t r = pread(t->fd, buf, len, (off_t)t->next);
        if (r != (ssize_t)len) {
            free(buf);
            return fail(t, "cannot read blob %.16s... from the blob cache", t->items[t->cur].hex);
        }
        send_piece(t, t->next, buf, len);
        t->next += len;
    }
    free(buf);
    return 0;
}

static int start_push(xfer *t)
{
    weft_err err = {0};
    if (store_open_blob(bcache_store(t->x->cache), t->items[t->cur].hex, &t->fd, &t->size,
                        &err) < 0)
        return fail(t, "an output of the attempt cannot be sent: %s", err.msg);
    bcache_add(t->x->cache, t->items[t->cur].hex, t->size);
    t->have = t->next = t->acked = 0;
    t->inflight = 0;
    t->progress_us = t->began_us = clock_wall_us();
    probe(t);
    return 0;
}

/* ---- both ---- */

/* Whether another transfer is moving t's current blob the same way (two attempts reading
 * one input, say): t waits for it rather than moving the blob twice. */
static int busy(const xfer *t)
{
    const char *hex = t->items[t->cur].hex;
    for (const xfer *o = t->x->head; o; o = o->lnext)
        if (o != t && o->push == t->push && o->fd >= 0 && o->cur < o->n &&
            !strcmp(o->items[o->cur].hex, hex))
            return 1;
    return 0;
}

/* Moves on to the next blob to transfer. 1: every blob is done; 0: one is under way (or
 * waits for another transfer of it); -1: failed (t->why). */
static int advance(xfer *t)
{
    bcache *c = t->x->cache;
    while (t->cur < t->n) {
        blob_item *it = &t->items[t->cur];
        if (t->push && it->manifest) { /* its files follow it */
            it->manifest = 0;
            if (expand(t, it->hex) < 0)
                return -1;
            it = &t->items[t->cur];
        }
        int there = !t->push && bcache_has(c, it->hex);
        if (!there && busy(t)) {
            t->waiting = 1;
            return 0;
        }
        if (t->push)
            return start_push(t);
        if (!there)
            return start_fetch(t);
        bcache_hold(c, t->attempt, it->hex);
        if (it->manifest && expand(t, it->hex) < 0)
            return -1;
        t->cur++;
    }
    return 1;
}

static int begin(xfer_ctx *x, int push, uint64_t attempt, const char *nonce, const json_t *refs,
                 xfer_done_fn done, void *ud, xfer **out, weft_err *err)
{
    xfer *t = xcalloc(1, sizeof *t);
    t->x = x;
    t->push = push;
    t->attempt = attempt;
    t->nonce = xstrdup(nonce ? nonce : "");
    t->fd = -1;
    t->done = done;
    t->ud = ud;
    t->lnext = x->head; /* linked first, so cancel can unlink it */
    if (x->head)
        x->head->lprev = t;
    x->head = t;
    artref_each(refs, add_ref, t);
    int rc = advance(t);
    *out = NULL;
    if (rc == 0) {
        *out = t;
        return 0;
    }
    rc = rc < 0 ? err_set(err, WEFT_EIO, "%s", t->why) : 0;
    xfer_cancel(t);
    return rc;
}

int xfer_fetch(xfer_ctx *x, uint64_t attempt, const char *nonce, const json_t *refs,
               xfer_done_fn done, void *ud, xfer **out, weft_err *err)
{
    return begin(x, 0, attempt, nonce, refs, done, ud, out, err);
}

int xfer_push(xfer_ctx *x, uint64_t attempt, const char *nonce, const json_t *refs,
              xfer_done_fn done, void *ud, xfer **out, weft_err *err)
{
    return begin(x, 1, attempt, nonce, refs, done, ud, out, err);
}

/* ---- answers ---- */

/* The next step after a blob is done: the following one, or the end. */
static void step(xfer *t)
{
    t->cur++;
    int rc = advance(t);
    if (rc != 0)
        conclude(t, rc < 0 ? -1 : 0);
}

static void on_piece(xfer *t, const Weft__BlobReply *r)
{
    if (r->offset != t->have) { /* from before a stall, or after a dropped one */
        if (!t->inflight) {
            t->next = t->have;
            ask(t);
        }
        return;
    }
    if (t->size == SIZE_UNKNOWN) {
        t->size = r->size;
        bcache_trim(t->x->cache, t->size > t->have ? t->size - t->have : 0);
        if (t->have > t->size) { /* a partial file longer than the blob: start over */
            if (ftruncate(t->fd, 0) < 0) {
                conclude(t, fail(t, "cannot write into the blob cache: %s", strerror(errno)));
                return;
            }
            hash_init(&t->h);
            t->have = t->next = 0;
            t->inflight = 0;
            ask(t);
            return;
        }
    }
    if (r->data.len > t->size - t->have ||
        (r->data.len &&
         pwrite(t->fd, r->data.data, r->data.len, (off_t)t->have) != (ssize_t)r->data.len)) {
        conclude(t, fail(t, "cannot write into the blob cache: %s",
                         r->data.len > t->size - t->have ? "a piece past the blob's end"
                                                         : strerror(errno)));
        return;
    }
    hash_update(&t->h, r->data.data, r->data.len);
    t->have += r->data.len;
    t->progress_us = clock_wall_us();
    if (t->have < t->size) {
        ask(t);
        return;
    }
    const blob_item *it = &t->items[t->cur];
    if (finish_fetch(t) < 0) {
        conclude(t, -1);
        return;
    }
    bcache_hold(t->x->cache, t->attempt, it->hex);
    if (it->manifest && expand(t, it->hex) < 0)
        conclude(t, -1);
    else
        step(t);
}

static void on_ack(xfer *t, const Weft__BlobReply *r)
{
    t->progress_us = clock_wall_us();
    if (r->stored) {
        log_moved(t, t->next ? "pushed" : "the scheduler already held", t->next);
        close_blob(t);
        step(t);
        return;
    }
    uint64_t expect = t->acked + XFER_PIECE < t->size ? t->acked + XFER_PIECE : t->size;
    if (t->probing) {
        t->probing = 0;
        t->have = t->acked = t->next = r->have;
    } else if (r->have == expect && !t->rewinding) {
        t->have = t->acked = expect;
    } else {
        t->rewinding = 1; /* what is in flight is refused too: wait for it */
        t->have = r->have;
    }
    if (t->rewinding && !t->inflight) {
        t->rewinding = 0;
        t->acked = t->next = t->have;
    }
    if (!t->rewinding && send_more(t) < 0)
        conclude(t, -1);
}

/* Transfers that waited for a blob nobody moves any more go on (with the blob in the cache
 * when it was fetched; else they move it themselves). */
static void wake_waiters(xfer_ctx *x)
{
again:
    for (xfer *t = x->head; t; t = t->lnext) {
        if (!t->waiting || busy(t))
            continue;
        t->waiting = 0;
        int rc = advance(t);
        if (rc != 0) {
            conclude(t, rc < 0 ? -1 : 0);
            goto again; /* done may have changed the list */
        }
    }
}

void xfer_on_reply(xfer_ctx *x, const Weft__BlobReply *r)
{
    xfer *t = x->head;
    while (t && !(t->attempt == r->attempt_id && t->push == r->push && t->cur < t->n &&
                  t->fd >= 0 && !strcmp(t->items[t->cur].hex, r->hash)))
        t = t->lnext;
    if (!t)
        return; /* for a transfer that ended (a late answer) */
    if (t->inflight)
        t->inflight--;
    if (r->code) {
        char why[sizeof t->why];
        snprintf(why, sizeof why, "the scheduler refused %s blob %.16s...: %s",
                 t->push ? "to take" : "to send", r->hash, r->error);
        conclude(t, fail(t, "%s", why));
    } else if (t->push) {
        on_ack(t, r);
    } else {
        on_piece(t, r);
    }
    wake_waiters(x);
}

void xfer_tick(xfer_ctx *x, int64_t now_us)
{
    wake_waiters(x); /* a transfer they waited for was cancelled */
again:
    for (xfer *t = x->head; t; t = t->lnext) {
        if (t->fd < 0)
            continue;
        if (now_us - t->progress_us > (int64_t)XFER_GIVE_UP_MS * 1000) {
            conclude(t, fail(t, "%s", t->push ? "the scheduler took no piece of an output "
                                                "for 2 minutes"
                                              : "the scheduler sent no piece of an input for "
                                                "2 minutes"));
            goto again; /* done may have changed the list */
        }
        if (now_us - t->asked_us < (int64_t)XFER_STALL_MS * 1000)
            continue;
        log_info("%s of blob %.16s... for attempt %llu: no answer for %d s; asking again",
                 t->push ? "push" : "fetch", t->items[t->cur].hex,
                 (unsigned long long)t->attempt, XFER_STALL_MS / 1000);
        t->inflight = 0;
        if (t->push) {
            probe(t);
        } else {
            t->next = t->have;
            ask(t);
        }
    }
}
