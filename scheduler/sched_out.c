/* sched_out: the scheduler's outgoing messages. A turn's messages are queued and sent after
 * its commit (sched_commit.c); messages to a worker whose connection's queue is full wait in
 * a backlog, in order, until it reads. See sched_int.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

#define BACKLOG_RETRY_MS 10

/* A peer's routing id for the log: printable ids as they are, others in hex. */
const char *sched_peer_name(zmq_msg_t *id, char *buf, size_t n)
{
    const unsigned char *p = zmq_msg_data(id);
    size_t len = zmq_msg_size(id), i;
    for (i = 0; i < len && p[i] >= 0x20 && p[i] < 0x7f; i++) {
    }
    if (i == len && len && len < n) {
        memcpy(buf, p, len);
        buf[len] = '\0';
        return buf;
    }
    size_t off = 0;
    for (i = 0; i < len && off + 3 < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%02x", p[i]);
    buf[off] = '\0';
    return buf;
}

/* Queues packed bytes (takes ownership) for peer id of listener via. */
static void queue_via(sched *s, listener *via, const zmq_msg_t *id, uint8_t *data, size_t len,
                      int kind, const char *worker)
{
    xgrow(&s->out, &s->capout, s->nout + 1, sizeof *s->out);
    outmsg *m = &s->out[s->nout++];
    m->via = via;
    m->idlen = zmq_msg_size((zmq_msg_t *)id);
    m->id = xmalloc(m->idlen);
    memcpy(m->id, zmq_msg_data((zmq_msg_t *)id), m->idlen);
    m->data = data;
    m->len = len;
    m->kind = kind;
    m->worker = worker ? xstrdup(worker) : NULL;
}

void sched_queue_packed(sched *s, const zmq_msg_t *id, uint8_t *data, size_t len, int kind,
                        const char *worker)
{
    queue_via(s, s->cur, id, data, len, kind, worker);
}

void sched_queue_env(sched *s, const zmq_msg_t *id, const Weft__Envelope *env, int kind)
{
    size_t len;
    uint8_t *data = wire_pack(env, &len);
    sched_queue_packed(s, id, data, len, kind, NULL);
}

/* A message for a worker goes to the connection it registered from; a worker with none
 * (it cannot happen: the core knows only registered workers) is unreachable, hence lost. */
void sched_queue_to_worker(sched *s, const char *worker, const Weft__Envelope *env)
{
    wconn *c = sched_worker_conn(s, worker);
    size_t len;
    uint8_t *data = wire_pack(env, &len);
    zmq_msg_t id;
    if (c)
        zmq_msg_init_data(&id, c->rid, c->ridlen, NULL, NULL);
    else
        zmq_msg_init(&id);
    queue_via(s, c ? c->via : NULL, &id, data, len, OUT_WORKER, worker);
    zmq_msg_close(&id);
}

uint8_t *sched_pack_reply(int code, const char *error, const char *json, uint64_t run_id,
                          size_t *len)
{
    Weft__Reply r = WEFT__REPLY__INIT;
    r.code = code;
    r.error = (char *)(error ? error : "");
    r.json = (char *)(json ? json : "");
    r.run_id = run_id;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REPLY;
    env.reply = &r;
    return wire_pack(&env, len);
}

void sched_reply_data(sched *s, const zmq_msg_t *id, const char *json, const void *bytes,
                      size_t n)
{
    Weft__Reply r = WEFT__REPLY__INIT;
    r.error = "";
    r.json = (char *)json;
    r.data.data = (uint8_t *)bytes;
    r.data.len = n;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REPLY;
    env.reply = &r;
    size_t len;
    uint8_t *data = wire_pack(&env, &len);
    sched_queue_packed(s, id, data, len, OUT_REPLY, NULL);
}

void sched_reply(sched *s, const zmq_msg_t *id, int code, const char *error, const char *json,
                 uint64_t run_id)
{
    size_t len;
    uint8_t *data = sched_pack_reply(code, error, json, run_id, &len);
    sched_queue_packed(s, id, data, len, OUT_REPLY, NULL);
}

void sched_reply_text(sched *s, const zmq_msg_t *id, char *text, const weft_err *err)
{
    if (!text)
        sched_reply(s, id, err->code ? err->code : WEFT_EDB, err->msg, NULL, 0);
    else
        sched_reply(s, id, 0, NULL, text, 0);
    free(text);
}

void sched_reply_json(sched *s, const zmq_msg_t *id, json_t *j, const weft_err *err)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    sched_reply_text(s, id, text, err);
}


static void free_msg(outmsg *m)
{
    free(m->id);
    free(m->data);
    free(m->worker);
}

static void to_backlog(sched *s, outmsg *m)
{
    xgrow(&s->backlog, &s->capbacklog, s->nbacklog + 1, sizeof *s->backlog);
    s->backlog[s->nbacklog++] = *m;
}

/* Whether m, a message to a worker, is still for the worker's current connection (a worker
 * lost, or registered again on another connection, or a core set aside, is not its peer). */
static int still_current(sched *s, const outmsg *m)
{
    wconn *c = m->worker ? sched_worker_conn(s, m->worker) : NULL;
    return c && c->via == m->via && c->ridlen == m->idlen && !memcmp(c->rid, m->id, m->idlen) &&
           core_worker_known(s->core, m->worker);
}

/* What a pass of sending has found: workers whose queue is full (their later messages wait
 * behind), and workers that cannot be reached (lost, after the pass). */
typedef struct pass {
    strmap *blocked;
    char **lost;
    size_t nlost, caplost;
} pass;

/* Sends m, or keeps it for later; consumes m either way. */
static void send_one(sched *s, outmsg *m, pass *p)
{
    if (m->kind == OUT_WORKER && m->worker && strmap_get(p->blocked, m->worker)) {
        to_backlog(s, m);
        return;
    }
    if (m->kind == OUT_WORKER && m->worker && !still_current(s, m)) {
        /* The worker registered again on another connection (or was lost) since: what was
         * meant for the old one is not sent, and does not make the worker lost. */
        free_msg(m);
        return;
    }
    const void *frames[] = {m->id, m->data};
    size_t lens[] = {m->idlen, m->len};
    int rc = m->via ? zsock_send(m->via->z, frames, lens, 2) : -EHOSTUNREACH;
    if (rc == -EAGAIN && m->kind == OUT_WORKER && m->worker) {
        /* Committed, so it must go: later, in order, when the worker has read. Bounded by
         * the worker's credits (dispatches) and attempts (stops). */
        strmap_put(p->blocked, m->worker, (void *)1);
        to_backlog(s, m);
        return;
    }
    if (rc < 0) {
        zmq_msg_t id;
        char peer[80];
        zmq_msg_init_data(&id, m->id, m->idlen, NULL, NULL);
        /* A client that went away or does not read its replies loses them (never the
         * scheduler's memory); a worker that cannot be reached is news. */
        log_msg(m->kind == OUT_WORKER ? LOG_WARN : LOG_DEBUG, "cannot send to %s: %s",
                sched_peer_name(&id, peer, sizeof peer), zmq_strerror(-rc));
        zmq_msg_close(&id);
        if (m->worker && m->kind == OUT_WORKER) {
            xgrow(&p->lost, &p->caplost, p->nlost + 1, sizeof *p->lost);
            p->lost[p->nlost++] = m->worker;
            m->worker = NULL;
        }
    }
    free_msg(m);
}

/* Messages to one worker, gathered into one Batch: at out[at], the first of them. */
typedef struct gather {
    size_t at;
    const uint8_t **items;
    size_t *lens, n, capitems, caplens, bytes;
} gather;

/* Whether m may go inside a Batch: to a worker on the connection it registered from, which
 * takes them, and small enough to share a message. */
static int batchable(sched *s, const outmsg *m)
{
    wconn *c = m->kind == OUT_WORKER && m->worker ? sched_worker_conn(s, m->worker) : NULL;
    return c && c->batches && c->via == m->via && c->ridlen == m->idlen &&
           !memcmp(c->rid, m->id, m->idlen) && wire_batch_fits(0, 0, m->len);
}

/* The turn's messages to each worker that takes batches go to it in Batches (of at most
 * WIRE_BATCH_MAX messages and about WIRE_BATCH_BYTES), each where its first message was:
 * a worker's messages keep their order, and the loop sends, and the worker receives, one
 * message for many. */
static void gather_out(sched *s)
{
    strmap *open = strmap_new(); /* worker -> 1 + index in gs of its open gather */
    gather *gs = NULL;
    size_t ngs = 0, capgs = 0, k = 0;
    for (size_t i = 0; i < s->nout; i++) {
        outmsg m = s->out[i];
        if (!batchable(s, &m)) {
            /* A worker's later messages go after this one, not into a Batch before it. */
            if (m.worker)
                strmap_del(open, m.worker);
            s->out[k++] = m;
            continue;
        }
        size_t g = (size_t)(uintptr_t)strmap_get(open, m.worker);
        gather *gt = g ? &gs[g - 1] : NULL;
        if (!gt || !wire_batch_fits(gt->n, gt->bytes, m.len)) {
            xgrow(&gs, &capgs, ngs + 1, sizeof *gs);
            gt = &gs[ngs++];
            memset(gt, 0, sizeof *gt);
            gt->at = k;
            s->out[k++] = m;
            strmap_put(open, m.worker, (void *)(uintptr_t)ngs);
        } else {
            free(m.id);
            free(m.worker);
        }
        xgrow(&gt->items, &gt->capitems, gt->n + 1, sizeof *gt->items);
        xgrow(&gt->lens, &gt->caplens, gt->n + 1, sizeof *gt->lens);
        gt->items[gt->n] = m.data;
        gt->lens[gt->n++] = m.len;
        gt->bytes += m.len;
    }
    s->nout = k;
    for (size_t g = 0; g < ngs; g++) {
        gather *gt = &gs[g];
        if (gt->n > 1) {
            outmsg *m = &s->out[gt->at];
            m->data = wire_batch(gt->items, gt->lens, gt->n, &m->len);
            for (size_t i = 0; i < gt->n; i++)
                free((void *)gt->items[i]);
        }
        free(gt->items);
        free(gt->lens);
    }
    free(gs);
    strmap_destroy(&open);
}

void sched_flush(sched *s)
{
    gather_out(s);
    pass p = {.blocked = strmap_new()};
    outmsg *old = s->backlog;
    size_t nold = s->nbacklog;
    s->backlog = NULL;
    s->nbacklog = s->capbacklog = 0;
    for (size_t i = 0; i < nold; i++) {
        if (still_current(s, &old[i]))
            send_one(s, &old[i], &p);
        else
            free_msg(&old[i]);
    }
    free(old);
    for (size_t i = 0; i < s->nout; i++)
        send_one(s, &s->out[i], &p);
    s->nout = 0;
    strmap_destroy(&p.blocked);
    for (size_t i = 0; i < p.nlost; i++) {
        core_event ev = {.kind = EV_WORKER_LOST, .now_us = clock_wall_us(), .worker = p.lost[i]};
        sched_step(s, &ev);
        free(p.lost[i]);
    }
    free(p.lost);
    /* The loop wakes up to try again (the prepare handle flushes). */
    if (s->nbacklog)
        uv_timer_start(&s->backlog_timer, sched_on_backlog_timer, BACKLOG_RETRY_MS, 0);
}

void sched_on_backlog_timer(uv_timer_t *t)
{
    (void)t;
}

void sched_backlog_clear(sched *s)
{
    for (size_t i = 0; i < s->nbacklog; i++)
        free_msg(&s->backlog[i]);
    free(s->backlog);
    s->backlog = NULL;
    s->nbacklog = s->capbacklog = 0;
}

void sched_out_free(sched *s)
{
    for (size_t i = 0; i < s->nout; i++)
        free_msg(&s->out[i]);
    free(s->out);
    s->out = NULL;
    s->nout = 0;
    sched_backlog_clear(s);
}
