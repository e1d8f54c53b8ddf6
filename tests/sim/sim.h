/* sim: the model and helpers weft-sim's two files share (see sim.c). */
#ifndef WEFT_SIM_H
#define WEFT_SIM_H

#include <stdint.h>

#include <jansson.h>

#include "common/strmap.h"
#include "common/u64map.h"
#include "scheduler/core.h"
#include "compiler/typereg.h"

#define MAX_RUNS    4096
#define MAX_WORKERS 3
#define MAX_MSGS    4096
#define MAX_HELD    8
#define RECENT      16
/* Odd runs belong to project "capped", which has at most this many attempts in flight. */
#define CAPPED_INFLIGHT 2
#define SIM_PROJECT(run_id) ((run_id) % 2 ? "capped" : NULL)

typedef struct mtask {
    int state, attempts, succeeded;
    int by_when;      /* skipped by a when (or reading a task so skipped), not a failure */
    uint64_t running; /* attempt in flight, 0 when none */
    int worker;       /* running: the worker it was dispatched to */
    int64_t dispatched;
    json_t *outputs;
    int64_t due;         /* retry_wait: when to retry; waiting: its deadline (0: none) */
    struct mtask *elems; /* a mapped task that expanded */
    size_t nelems;
} mtask;

/* A run as the catalogue would hold it, with its own compiled dag for the checks. */
typedef struct mrun {
    uint64_t id;
    char *yaml;
    dag *g;
    mtask *t;
    int ended;
    int cancelled;
} mrun;

typedef struct msg {
    int to_worker; /* 1: a dispatch (or a stop) to worker w; 0: a result from worker w */
    int stop;      /* with to_worker: stop the attempt */
    int w;
    uint64_t attempt;
    int ok, cls;
    json_t *json; /* dispatch: inputs; result: outputs */
    uint64_t gpu_mask;  /* dispatch: the worker's GPUs it holds, and its share of each */
    uint32_t gpu_milli;
} msg;

typedef struct sworker {
    char name[16];
    int alive, registered, slots;
    int again; /* this process registered before (Register.again) */
    int prefetch; /* attempts it queues beyond its slots */
    res_amount cap[3]; /* cpu, mem, gpu it offers (names static) */
    const char *label; /* its one label, or NULL */
    uint64_t held[MAX_HELD];
    json_t *held_inputs[MAX_HELD];
    uint64_t held_gpus[MAX_HELD];      /* the GPUs each was given, and its share of each */
    uint32_t held_gpu_milli[MAX_HELD];
    int nheld;
    msg recent[RECENT]; /* results sent, resent after re-registering */
    int nrecent;
} sworker;

typedef struct sim {
    uint64_t rng, seed;
    long step;
    int64_t now;
    int64_t skew;            /* how far the wall clock (now) was stepped ahead of a monotonic one */
    core *c;
    core_effects fx;
    typereg *types;
    mrun runs[MAX_RUNS];
    int nruns;
    uint64_t next_run;
    sworker w[MAX_WORKERS];
    msg net[MAX_MSGS];
    int nnet;
    uint64_t max_attempt;
    /* Per worker, the attempts the core should count against its slots: those it dispatched
     * and has not ended, plus those the worker reported running at registration. */
    uint64_t busy[MAX_WORKERS][64];
    int nbusy[MAX_WORKERS];
    /* What each of those holds of the worker's cap (0 for those the worker reported: the
     * core placed them before it restarted, or no longer waits for them). */
    uint64_t held_res[MAX_WORKERS][64][3];
    /* ... and of its GPUs: which (bits) and the share of each (reported ones too). */
    uint64_t held_gpu[MAX_WORKERS][64][2];
    long dispatches, results, restarts, losses, stale, hits, elements, commit_failures;
    long resent;
    long signals;        /* approvals decided */
    int commit_fail_pct10; /* per mille of steps whose commit fails (--commit-failures) */
    int restarting;
    /* The request being stepped: a failed commit refuses it (the run is not created, the
     * cancel is not recorded). */
    mrun *pending_submit, *pending_cancel;
    u64map *discarded;     /* attempt ids dispatched only by turns that failed to commit */
    strmap *cache;        /* cache key -> outputs recorded by memoized tasks */
    core_event *lookups;  /* answers to give the core after the current step */
    size_t nlookups, caplookups;
} sim;

uint64_t rnd(sim *s);
int chance(sim *s, int percent);
int pick(sim *s, int n);
/* sim_gen.c: a random workflow's YAML (caller frees). */
char *random_workflow(sim *s);
void die(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
mrun *find_run(sim *s, uint64_t id);
int worker_index(sim *s, const char *name);
void busy_del(sim *s, int w, uint64_t id);
void send_msg(sim *s, msg m);
/* Applies the core's pending effects to the model, checking the invariants (sim_model.c). */
void commit(sim *s);

#endif
