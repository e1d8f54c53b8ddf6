/* worker_int: what the worker daemon's modules share: the daemon (worker.c) and its slots
 * (slot.c), each running one attempt at a time in its executor process. */
#ifndef WEFT_WORKER_INT_H
#define WEFT_WORKER_INT_H

#define WORKER_GPUS_MAX 64 /* bits of running.gpu_mask */

#include <stdint.h>

#include <uv.h>

#include "common/frame.h"
#include "common/secrets.h"
#include "common/strmap.h"
#include "common/wire.h"
#include "common/zsock.h"
#include "weft.pb-c.h"
#include "worker/blobcache.h"
#include "worker/cgroup.h"
#include "worker/logstream.h"
#include "worker/stageword.h"
#include "worker/transfer.h"
#include "worker/worker.h"

typedef struct slot slot;

/* One executor process and its pipes. Freed when all three handles have closed. */
typedef struct execproc {
    uv_process_t proc;
    uv_pipe_t in, out;
    framebuf fb;
    slot *slot;       /* NULL once detached from its slot */
    int open_handles;
    int exited;
    int log_held;     /* its last result said the slot's log file needs no emptying */
    stageword *staged; /* shared with it (staging.c), or NULL: it takes no staged attempt */
    uint64_t tokens;   /* staging tokens handed out so far */
    struct running *claimed; /* once it died: the staged attempt it had claimed, until
                              * its result (read after its death) or its death ends it */
} execproc;

/* Where a slot's attempt is: fetching its inputs, running in the executor, sending its
 * outputs before its result. */
enum job_phase { JOB_FETCHING, JOB_RUNNING, JOB_PUSHING };

/* The attempt a slot is running. */
typedef struct running {
    uint64_t attempt_id;
    uint64_t run_id;
    uint32_t attempt;
    char *task, *type;
    const char *plugin; /* the .so providing type (the worker's) */
    char *inputs, *checkpoint_in; /* as dispatched (JSON) */
    char *store;      /* the store the executor uses: the scheduler's, or the blob cache */
    int remote;       /* the store is not on this machine: blobs travel (transfer.h) */
    uint32_t inline_max; /* file outputs up to this size come back inside the result */
    /* While its result is sent: the file outputs its executor kept out of the store
     * (borrowed from the executor's result). */
    Weft__Blob **blobs;
    size_t nblobs;
    xfer *transfer;   /* the fetch or push under way, or NULL */
    uint64_t mem_bytes, timeout_ms;
    uint64_t heartbeat_ms; /* the longest its log may stay unchanged (Dispatch), 0 = none */
    uint64_t alive_ms;     /* when its log last changed (or it started), by the loop's clock */
    int64_t log_size;      /* ... and what the log was then: size and modification time */
    int64_t log_mtime_ns;
    int hung;              /* killed because its log stayed unchanged too long */
    uint32_t cpu_milli; /* its cpu budget (Dispatch.cpu_milli), 0 = none */
    cg_attempt *cg;   /* its cgroup while it runs with a budget, or NULL */
    uint64_t peak_mem_bytes, cpu_us; /* what it used, for its result */
    enum job_phase phase;
    const char *log_path; /* its slot's log file (the slot's), once it has one */
    char *workdir;
    int removed;      /* its executor removed workdir (and the log went whole) */
    uint64_t gpu_mask; /* the GPUs the scheduler gave it (bits of worker.gpu_ids) ... */
    uint32_t gpu_milli; /* ... and its share of each, in thousandths */
    uint32_t gpus;     /* how many the mask must hold (Dispatch.gpus) */
    char *checkpoint; /* the last checkpoint the attempt saved (a reference), or NULL */
    char *nonce;      /* from its Dispatch; its Result carries it back */
    secret_set secrets; /* the values of the secrets it names, masked in what is sent */
    logstream stream;   /* how much of its log was streamed */
    int64_t started_us, finished_us; /* by its executor's account, once it has one */
    uint64_t begun_ms; /* when its executor was given it, by the loop's clock */
    int timed_out;  /* stopped because it passed its timeout */
    int cancelled;  /* stopped because its run was cancelled */
    int stopping;   /* escalation: 0 none yet, 1 SIGTERM sent, 2 SIGKILL sent */
    int nostage;    /* an attempt staged behind it was taken back: no other until it ends */
    /* JOB_PUSHING: the result, sent once the outputs are in the scheduler's store */
    int ok, errclass;
    char *message, *outputs;
    uint8_t *log;
    size_t loglen;
} running;

struct slot {
    struct worker *w;
    int index;
    char *log_path;   /* the log file each of its attempts writes in turn */
    execproc *ep;
    running *job;     /* NULL when free */
    uv_timer_t timer; /* timeout, then kill grace */
    uv_timer_t beat;  /* checks its attempt's heartbeat */
};

/* A result as sent (packed), kept to be sent again. */
typedef struct sent_result {
    uint8_t *data;
    size_t len;
    uint64_t attempt_id; /* reported as finished when registering */
} sent_result;

/* A dispatched attempt waiting for a slot, in arrival order. */
typedef struct queued {
    running *job;        /* as a slot will run it */
    slot *on;            /* the slot it is staged on (staging.c), or NULL */
    uint32_t word;       /* ... through which of its executor's staging words, and the */
    uint64_t token;      /* token that claims it there */
    int unstageable;     /* it cannot be staged: it waits for a slot */
} queued;

struct worker {
    uv_loop_t loop;
    wire_inbox inbox; /* the messages being handled, decoded (worker.c on_message) */
    void *zctx;
    zsock *dealer;
    zsock *monitor;        /* handshake failures with the scheduler, logged */
    const char *last_refusal;
    int64_t last_refusal_us;
    char *name;
    uint32_t nslots;
    slot *slots;
    uint32_t prefetch;   /* dispatches queued at most while every slot is busy */
    queued *queue;       /* w->prefetch places, the first nqueued in use */
    uint32_t nqueued;
    char *types_json;    /* plugin description sent with Register */
    res_amount *capacity; /* what it offers (Register.capacity) */
    size_t ncapacity;
    char **labels;       /* "key=value" (owned) */
    size_t nlabels;
    char **gpu_ids;      /* its GPUs as CUDA names them (CUDA_VISIBLE_DEVICES, or 0..n-1) */
    size_t ngpus, capgpus;
    cg_host *cgroups;    /* where attempts with a budget get their cgroup; NULL: rlimits */
    strmap *type_plugin; /* type name -> .so path (owned strings) */
    char *executor;
    char *work_dir;
    char *store;         /* --store, absolute; NULL: the one each dispatch names */
    char *cache_dir;      /* --cache-dir, or work_dir/cache */
    uint64_t cache_bytes; /* --cache-size, 0: the default */
    bcache *cache;       /* blobs fetched and made when the scheduler's store is elsewhere */
    xfer_ctx *xfers;
    char *seen_store, *seen_store_id; /* the last store a dispatch named and its identity */
    int seen_local;      /* whether that store is on this machine */
    char *secrets_dir;   /* --secrets-dir, or NULL */
    const secret_set *env_secrets; /* --secret-env (borrowed), or NULL */
    uint32_t heartbeat_ms;
    uv_timer_t heartbeat;
    uv_prepare_t prepare;
    uv_idle_t spin;      /* keeps the loop from blocking while messages wait */
    uv_signal_t sigint, sigterm;
    int stopping;
    /* The last results sent, packed, oldest first: a scheduler that restarted (or rolled
     * back a turn it could not commit) gets them again after we register (attempt ids make
     * it idempotent). A scheduler that cannot commit dispatches nothing, so twice the slots
     * covers every result of such a spell. */
    sent_result *recent;
    size_t nrecent, caprecent;
    char *refused; /* the scheduler refused our registration: why (we exit) */
    int registered; /* Register was sent before: a later one answers Reregister */
    /* The scheduler sent a Batch since we last registered: what we send in one loop turn
     * waits in outbox (packed, in order) and goes in Batches before the loop blocks. */
    int batches;
    uint8_t **outbox;
    size_t *outlens, nout, capout, capoutlens;
    size_t nout_results; /* how many of them are results */
    uv_timer_t hold;     /* active while results wait in it: sends them after HOLD_MS */
};

/* ---- worker.c ---- */

/* Sends env to the scheduler. */
void worker_send_env(void *w, const Weft__Envelope *env);
/* Sends what waits in the outbox. */
void worker_flush(worker *w);
/* Sends a packed result and keeps it (takes ownership) among the most recent ones. */
void worker_send_result_packed(worker *w, uint64_t attempt_id, uint8_t *data, size_t len);

/* ---- slot.c ---- */

/* Runs a dispatched attempt in a free slot, fetching its inputs first when the store is
 * elsewhere. */
void slot_dispatch(worker *w, const Weft__Dispatch *d);
/* The scheduler cancelled the run of an attempt. */
void slot_stop(worker *w, const Weft__Stop *st);
/* The slot's attempt ended: its result goes to the scheduler, after the blobs it made when
 * the store is elsewhere; then the slot takes the next queued dispatch. */
void slot_conclude(slot *sl, int ok, int cls, const char *msg, const char *outputs,
                   const uint8_t *log, size_t loglen);
/* Starts queued attempts, first come first, while slots are free; stages what is left. */
void slot_take_queued(worker *w);
/* The queued attempt at i, taken out of the queue. */
running *slot_dequeue(worker *w, uint32_t i);
/* Frees an attempt's record and what it held (GPUs, cache pins, its cgroup, its files). */
void slot_free_job(worker *w, running *job);

/* ---- execproc.c ---- */

/* Starts every slot's executor. */
void slots_start(worker *w);
/* Starts (again) a slot's executor. */
void exec_spawn(slot *sl);
/* Hands the slot's attempt to its executor. */
void exec_start(slot *sl);
/* The names of the GPUs the scheduler gave job (it places each on devices with room, by
 * its share), comma-separated, into buf (EXEC_GPU_NAMES_MAX bytes will do). 0, or -1 when
 * one is not this worker's, or they are not as many as it says (a scheduler that predates
 * placing devices). */
#define EXEC_GPU_NAMES_MAX 4096
int exec_gpu_names(const worker *w, const running *job, char *buf, size_t n);
/* Writes job's ExecRequest, given its GPUs' names, to the slot's executor; staged (when not
 * NULL): behind its running attempt, claimed through its word and token. -1 when that
 * failed. */
int exec_write(slot *sl, running *job, const char *gpus, const queued *staged);
/* Starts the timers of the slot's attempt, which its executor runs now: its timeout and
 * its heartbeat check. */
void exec_watch(slot *sl);

/* Stops the slot's running attempt because its run was cancelled: SIGUSR1 (the plugin's
 * cancel), then SIGTERM and SIGKILL after grace periods. */
void exec_cancel(slot *sl);
/* Ends every executor (closing stdin lets an idle one exit; a busy one is killed), waiting
 * up to the kill grace, then kills the rest; frees the jobs. */
void slots_stop(worker *w);
/* Closes an executor's handle (loop teardown). */
void slot_close_handle(uv_handle_t *h);

/* ---- staging.c ---- */

/* Stages queued dispatches on slots whose running attempt may have one behind it. */
void stage_queued(worker *w);
/* Takes the staged q back from its slot's executor: 1, or 0 when the executor claimed it
 * (the slot's running attempt has ended; its result is on the way). */
int stage_retract(worker *w, queued *q);
/* Takes back what is staged on sl before its running attempt is stopped or its log read:
 * 0, or -1 when the executor claimed it (the running attempt has ended). */
int stage_clear(slot *sl);
/* The slot's attempt ended: what is staged on it becomes its attempt when the executor
 * claims it, else goes back to the queue. */
void stage_promote(slot *sl);
/* The slot's executor ep died: what was staged on it goes back to the queue, or, when ep
 * had claimed it, is returned (out of the queue) to fail with it. */
running *stage_executor_died(slot *sl, execproc *ep);

#endif
