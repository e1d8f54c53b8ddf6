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

/* What a queued message is, for a turn that cannot commit: replies to clients are replaced
 * by a refusal, messages to workers (dispatches, stops) are dropped, control messages
 * (asking a worker to register) go out anyway. */
enum out_kind { OUT_REPLY, OUT_WORKER, OUT_CONTROL };

/* A message waiting for the turn's commit. */
typedef struct outmsg {
    uint8_t *id;
    size_t idlen;
    uint8_t *data;
    size_t len;
    int kind;     /* enum out_kind */
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
    /* Degraded: the catalogue cannot be written (disk full, I/O error, damaged, locked by
     * another process). The turn that failed was rolled back and the core set aside; until
     * a probe write succeeds, write requests are refused with the reason, reads are served,
     * and worker messages wait (workers resend their results when asked to register). */
    int degraded;
    weft_err degraded_why;
    int64_t degraded_since_us;
    uint64_t commit_failures;
    uv_timer_t probe;
    uint64_t probe_ms;
};

/* Packs a Reply envelope; caller frees. */
uint8_t *sched_pack_reply(int code, const char *error, const char *json, uint64_t run_id,
                          size_t *len);
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
/* When key (may be NULL or "") was answered before, queues that first answer to id and
 * returns 1; a key that is too long, or was used for a request of another kind ("submit",
 * "retry", "cancel"), is refused (also 1). Else 0. */
int sched_answered_before(sched *s, const zmq_msg_t *id, const char *kind, const char *key);
/* Queues env for worker, sent after the turn's commit. */
void sched_queue_to_worker(sched *s, const char *worker, const Weft__Envelope *env);
/* Turns the core's pending effects into catalogue writes and queued messages, and clears
 * them. Lookups are answered into s->lookups, for the caller to step. */
void sched_apply_effects(sched *s, int64_t now);

/* sched_commit.c: commits the turn's writes. On failure the turn is rolled back (its
 * replies become refusals, its worker messages are dropped) and the scheduler degrades;
 * returns -1 then, else 0. */
int sched_commit(sched *s);
/* Rebuilds every run a previous scheduler (or the core set aside) left running; a run that
 * cannot be rebuilt is marked failed with the reason. Commits. */
void sched_recover_runs(sched *s);
/* Refuses a write request from client id while degraded, with the reason. */
void sched_refuse_degraded(sched *s, const zmq_msg_t *id);
/* The scheduler's own state for weft status: "ok" or "degraded" with the reason (new
 * reference). */
json_t *sched_health(sched *s);

#endif
