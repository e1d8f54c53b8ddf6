/* sched_blob: blobs for workers that do not have the store on their disk.
 *
 * A worker fetches the blobs an attempt dispatched to it needs (the artifacts of its inputs
 * and checkpoint, and the files of such directories) a piece at a time, with a few requests
 * in flight: each BlobFetch is answered by one BlobReply, read from the store as it is asked
 * for, so a transfer of any size holds no more than its pieces in flight in anyone's memory
 * and dispatch goes on between them. The worker verifies the whole blob against its hash.
 * What an attempt may fetch is worked out on its first fetch (from the catalogue, so it
 * holds after a restart too) and forgotten when the attempt ends.
 *
 * It pushes the blobs an attempt made (outputs, checkpoints) the same way before the
 * attempt's Result: sched_receive (sched_upload.c) writes them into the store, resuming
 * where a sender stopped. Both need the attempt's nonce and come only from the worker the
 * attempt was dispatched to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/u64map.h"
#include "common/xmem.h"
#include "compiler/dag.h"
#include "scheduler/sched_int.h"

#define PUSHES_PER_WORKER 64

/* Answers worker sender on its connection: in order with what else goes to it, waiting
 * (not dropped) while its queue is full. */
static void reply(sched *s, const char *sender, Weft__BlobReply *r)
{
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_BLOB_REPLY;
    env.blob_reply = r;
    sched_queue_to_worker(s, sender, &env);
}

static void reply_error(sched *s, const char *sender, uint64_t attempt, const char *hash,
                        int push, int code, const char *why)
{
    Weft__BlobReply r = WEFT__BLOB_REPLY__INIT;
    r.attempt_id = attempt;
    r.hash = (char *)hash;
    r.push = push;
    r.code = code;
    r.error = (char *)why;
    reply(s, sender, &r);
}

/* ---- what an attempt may fetch ---- */

typedef struct grant_walk {
    sched *s;
    strmap *hashes;
} grant_walk;

static int grant_file(void *ud, const char *hex)
{
    strmap_put(((grant_walk *)ud)->hashes, hex, (void *)1);
    return 0;
}

static void grant_ref(void *ud, const json_t *ref)
{
    grant_walk *g = ud;
    const char *hex = artref_hash(ref);
    weft_err err = {0};
    if (!hex)
        return;
    strmap_put(g->hashes, hex, (void *)1);
    if (artref_is_dir(ref) && store_dir_blobs(g->s->store, ref, grant_file, g, &err) < 0)
        log_warn("the files of directory %.16s... cannot be granted: %s", hex, err.msg);
}

static void grant_json(grant_walk *g, const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (j)
        artref_each(j, grant_ref, g);
    json_decref(j);
}

/* The blobs attempt may fetch: those of the inputs and checkpoint it was dispatched with. */
static strmap *grant_of(sched *s, uint64_t attempt)
{
    strmap *m = s->grants ? u64map_get(s->grants, attempt) : NULL;
    uint64_t run;
    int task, elem, no;
    if (m || !core_attempt_info(s->core, attempt, &run, &task, &elem, &no))
        return m;
    grant_walk g = {s, strmap_new()};
    char name[300];
    dag_unit_name(core_run_dag(s->core, run), task, elem, name, sizeof name);
    char *inputs = catalog_task_inputs(s->cat, (int64_t)run, task, elem);
    catalog_attempt a = {.id = attempt, .run = (int64_t)run, .idx = task, .elem = elem,
                         .task_name = name, .number = no, .inputs = inputs};
    char *checkpoint = catalog_resume_checkpoint(s->cat, &a);
    grant_json(&g, inputs);
    grant_json(&g, checkpoint);
    free(inputs);
    free(checkpoint);
    if (!s->grants)
        s->grants = u64map_new();
    u64map_put(s->grants, attempt, g.hashes);
    return g.hashes;
}

void sched_blob_forget(sched *s, uint64_t attempt_id)
{
    strmap *m = s->grants ? u64map_del(s->grants, attempt_id) : NULL;
    strmap_destroy(&m);
}

void sched_blobs_free(sched *s)
{
    size_t pos = 0;
    uint64_t k;
    void *v;
    while (s->grants && u64map_next(s->grants, &pos, &k, &v)) {
        strmap *m = v;
        strmap_destroy(&m);
    }
    u64map_destroy(&s->grants);
}

/* ---- fetch ---- */

void sched_on_blob_fetch(sched *s, const zmq_msg_t *id, const char *sender,
                         const Weft__BlobFetch *rq)
{
    if (!sched_attempt_authentic(s, id, sender, rq->attempt_id, rq->nonce,
                                 WEFT__ENVELOPE__BODY_BLOB_FETCH))
        return;
    strmap *granted = grant_of(s, rq->attempt_id);
    char why[300];
    if (!granted || !hash_hex_valid(rq->hash) || !strmap_get(granted, rq->hash)) {
        snprintf(why, sizeof why, "attempt %llu %s blob %.16s...",
                 (unsigned long long)rq->attempt_id,
                 granted ? "has no input or checkpoint that is" : "is not running: no",
                 rq->hash);
        reply_error(s, sender, rq->attempt_id, rq->hash, 0, WEFT_ENOTFOUND, why);
        return;
    }
    weft_err err = {0};
    int fd;
    uint64_t size;
    if (store_open_blob(s->store, rq->hash, &fd, &size, &err) < 0) {
        reply_error(s, sender, rq->attempt_id, rq->hash, 0, err.code, err.msg);
        return;
    }
    size_t n = rq->offset < size ? (size_t)(size - rq->offset) : 0;
    if (n > rq->length)
        n = rq->length;
    if (n > BLOB_PIECE_MAX)
        n = BLOB_PIECE_MAX;
    uint8_t *buf = xmalloc(n + 1);
    ssize_t got = n ? pread(fd, buf, n, (off_t)rq->offset) : 0;
    close(fd);
    if (got < 0 || (size_t)got != n) {
        reply_error(s, sender, rq->attempt_id, rq->hash, 0, WEFT_EIO,
                    "the scheduler cannot read the blob (see its log)");
        log_error("fetch of %s by %s: short read at %llu", rq->hash, sender,
                  (unsigned long long)rq->offset);
    } else {
        Weft__BlobReply r = WEFT__BLOB_REPLY__INIT;
        r.attempt_id = rq->attempt_id;
        r.hash = rq->hash;
        r.offset = rq->offset;
        r.data.data = buf;
        r.data.len = n;
        r.size = size;
        reply(s, sender, &r);
    }
    free(buf);
}

/* ---- push ---- */

void sched_on_blob_push(sched *s, const zmq_msg_t *id, const char *sender,
                        const Weft__BlobPush *rq)
{
    if (!sched_attempt_authentic(s, id, sender, rq->attempt_id, rq->nonce,
                                 WEFT__ENVELOPE__BODY_BLOB_PUSH))
        return;
    if (!core_attempt_owner(s->core, rq->attempt_id)) {
        reply_error(s, sender, rq->attempt_id, rq->hash, 1, WEFT_ENOTFOUND,
                    "the attempt is not running: the scheduler takes no blob for it");
        return;
    }
    blob_piece p = {rq->hash, rq->size, rq->offset, rq->data.data, rq->data.len};
    Weft__BlobReply r = WEFT__BLOB_REPLY__INIT;
    r.attempt_id = rq->attempt_id;
    r.hash = rq->hash;
    r.push = 1;
    weft_err err = {0};
    int stored = 0;
    if (sched_receive(s, sender, &p, 1, PUSHES_PER_WORKER, &r.have, &stored, &err) < 0) {
        r.code = err.code;
        r.error = err.msg;
    }
    r.stored = stored;
    reply(s, sender, &r);
}

/* ---- a result's blobs ---- */

typedef struct presence {
    sched *s;
    const char *missing; /* the first blob not in the store */
    char hex[HASH_HEX_LEN + 1];
} presence;

static int file_present(void *ud, const char *hex)
{
    presence *p = ud;
    if (store_has(p->s->store, hex))
        return 0;
    snprintf(p->hex, sizeof p->hex, "%s", hex);
    p->missing = p->hex;
    return 1;
}

static void ref_present(void *ud, const json_t *ref)
{
    presence *p = ud;
    const char *hex = artref_hash(ref);
    weft_err err = {0};
    if (p->missing || !hex || file_present(p, hex))
        return;
    if (artref_is_dir(ref) && store_dir_blobs(p->s->store, ref, file_present, p, &err) < 0 &&
        !p->missing) {
        snprintf(p->hex, sizeof p->hex, "%s", hex);
        p->missing = p->hex;
    }
}

int sched_blobs_present(sched *s, const json_t *v, char *why, size_t n)
{
    presence p = {.s = s};
    artref_each(v, ref_present, &p);
    if (p.missing)
        snprintf(why, n, "blob %.16s... of the attempt's outputs is not in the scheduler's "
                 "store: the worker did not send it", p.missing);
    return !p.missing;
}
