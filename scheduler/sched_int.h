/* sched_int: the scheduler shell's state, shared by sched.c (loop, sockets, messages) and
 * sched_fx.c (applying the core's effects). Private to the scheduler. */
#ifndef WEFT_SCHED_INT_H
#define WEFT_SCHED_INT_H

#include <uv.h>

#include "catalog/catalog.h"
#include "catalog/store.h"
#include "common/strmap.h"
#include "scheduler/core.h"
#include "scheduler/sched.h"
#include "scheduler/typereg.h"
#include "weft.pb-c.h"
#include "common/zsock.h"

/* A message waiting for the turn's commit. */
typedef struct outmsg {
    uint8_t *id;
    size_t idlen;
    uint8_t *data;
    size_t len;
    char *worker; /* for dispatches: the worker to declare lost if unroutable */
} outmsg;

struct sched {
    uv_loop_t loop;
    void *zctx;
    zsock *router;
    catalog *cat;
    core *core;
    typereg *types;
    store *store;
    core_effects fx;
    uv_prepare_t prepare;
    uv_timer_t timer;
    uv_signal_t sigint, sigterm;
    outmsg *out;
    size_t nout, capout;
    core_event *lookups; /* EV_LOOKUP answers waiting to be stepped */
    size_t nlookups, caplookups;
    int lock_fd;
    int stopping;
    char *state_dir;
    /* Unknown workers asked to register again -> when (ms, as a pointer): one request per
     * REREGISTER_WAIT_MS, so heartbeats queued during our restart do not bring back
     * duplicate registrations, the late one of which would fail attempts dispatched after
     * the first. */
    strmap *reregister_asked;
};

/* Queues a reply to client id (error: lines of messages; json: the answer). */
void sched_reply(sched *s, const zmq_msg_t *id, int code, const char *error, const char *json,
                 uint64_t run_id);
/* Replies with j (consumed), or with err when j is NULL. */
void sched_reply_json(sched *s, const zmq_msg_t *id, json_t *j, const weft_err *err);
/* Steps the core with ev and applies the effects (answering lookups). */
void sched_step(sched *s, core_event *ev);
/* sched_client.c: client requests. */
void sched_on_submit(sched *s, const zmq_msg_t *id, const Weft__SubmitRequest *rq);
void sched_on_cancel(sched *s, const zmq_msg_t *id, const Weft__CancelRequest *rq);
void sched_on_query(sched *s, const zmq_msg_t *id, const Weft__QueryRequest *q);
void sched_on_retry(sched *s, const zmq_msg_t *id, const Weft__RetryRequest *rq);
/* Queues env for worker, sent after the turn's commit. */
void sched_queue_to_worker(sched *s, const char *worker, const Weft__Envelope *env);
/* Turns the core's pending effects into catalogue writes and queued messages, and clears
 * them. Lookups are answered into s->lookups, for the caller to step. */
void sched_apply_effects(sched *s, int64_t now);

#endif
