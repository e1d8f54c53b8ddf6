/* sched_int: the scheduler shell's state, shared by sched.c (loop, sockets, messages) and
 * sched_fx.c (applying the core's effects). Private to the scheduler. */
#ifndef WEFT_SCHED_INT_H
#define WEFT_SCHED_INT_H

#include <uv.h>

#include "catalog/catalog.h"
#include "catalog/store.h"
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
};

/* Queues env for worker, sent after the turn's commit. */
void sched_queue_to_worker(sched *s, const char *worker, const Weft__Envelope *env);
/* Turns the core's pending effects into catalogue writes and queued messages, and clears
 * them. Lookups are answered into s->lookups, for the caller to step. */
void sched_apply_effects(sched *s, int64_t now);

#endif
