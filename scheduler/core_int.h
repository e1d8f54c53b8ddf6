/* core_int: the run state machine's internal state, shared by core.c (events) and
 * core_restore.c (rebuilding runs after a restart). Private to the core. */
#ifndef WEFT_CORE_INT_H
#define WEFT_CORE_INT_H

#include "common/strmap.h"
#include "common/u64map.h"
#include "scheduler/core.h"

/* A mapped task's fan-out, from the moment it became ready (it is then running). Its
 * elements are slots first .. first + n - 1 of the run. */
typedef struct cmap {
    json_t *items;          /* the list fanned out over */
    size_t first, n;
    size_t next;            /* the next element to consider starting */
    size_t active;          /* elements started and not ended */
    size_t nended, nok;     /* elements ended, and of those succeeded */
    int err_class;          /* the first element that failed: its class and message */
    char *err;
} cmap;

/* A unit of execution: a task of the dag (slot = its index), or an element of a mapped
 * task (slots from ntasks up, appended when the map expands). Everything that runs, waits,
 * retries or is looked up in the cache is a slot. */
typedef struct ctask {
    uint8_t state;
    uint8_t looking : 1;    /* ready, waiting for the answer to its lookup */
    uint8_t by_when : 1;    /* skipped by its when (or with a task so skipped whose output it
                               reads), not by an upstream failure: not a failure */
    uint16_t attempts;      /* attempts started so far */
    uint32_t waiting;       /* parents that have not yet let it run (see core_fate) */
    int32_t task;           /* its dag task */
    int32_t elem;           /* its element of a mapped task, or -1 */
    uint64_t attempt_id;    /* the attempt we wait for while running */
    char *key;              /* memoized: its cache key, from ready until it ends */
    cmap *map;              /* a mapped task, once expanded */
} ctask;

/* A project: its limits (0: none) and what its active runs use. */
typedef struct cproject {
    char *name;
    int priority;           /* of its tasks that have none of their own (or workflow's) */
    size_t max_inflight;    /* attempts in flight over its runs */
    size_t max_units;       /* tasks and map elements of one run */
    size_t runs;            /* active runs */
    size_t inflight;        /* attempts in flight over them */
} cproject;

/* A limit runs share: a workflow's concurrency, or a named pool, in a project. */
typedef struct cpool {
    size_t inflight;        /* attempts of its tasks in flight */
} cpool;

typedef struct crun {
    uint64_t id;
    dag *g;
    cproject *proj;         /* its project (owned by the core) */
    cpool *wf_pool;         /* its workflow's attempts in flight (for g->concurrency) */
    cpool **pool;           /* per dag task, the pool it counts in (NULL: none); NULL when
                               no task has one (pools owned by the core) */
    strmap *queues;         /* type name -> tqueue* of its ready slots */
    size_t nready;          /* entries in its queues */
    size_t inflight;        /* attempts dispatched (or restored) and not ended */
    ctask *t;               /* per slot (see ctask) */
    json_t **outputs;       /* per slot, set on success */
    size_t nslots, capslots;
    size_t nleft;           /* dag tasks not yet ended */
    int failed;
    size_t unheld[TS__COUNT]; /* by state, the elements of mapped tasks that had ended when
                               the run was restored (a restart, a retry): they hold no
                               slot, and count apart */
    int stop_class;         /* ERRC_CANCELLED or ERRC_TIMEOUT once stopped: nothing new
                               starts, and open tasks end cancelled with this class */
    char *stop_reason;
} crun;

typedef struct cworker {
    char *name;
    strmap *types;          /* type name -> (void *)1 */
    uint32_t slots, credits;
    uint32_t prefetch;      /* attempts it queues beyond its slots (credits count them) */
    int64_t last_seen_us, heartbeat_us;
    int64_t grace_until_us; /* not lost before this: a tick came that the scheduler had not
                               heard in time (0: none since it was last heard) */
    u64map *running;        /* attempt id -> cattempt* */
    u64map *untracked;      /* attempts it reported running that the core no longer waits
                               for: they hold a slot until their result comes, and what
                               they hold of its capacity (uint64_t * per cap entry, or
                               core_unknown_claim for one the core never placed) */
    res_amount *cap;        /* what its attempts may hold at once */
    size_t ncap;
    uint64_t *used;         /* per cap entry: what its attempts hold now */
    char **labels;          /* "key=value" */
    size_t nlabels;
    uint32_t ngpu;          /* its GPUs (its gpu capacity in whole devices) ... */
    uint16_t gpu_used[RES_GPU_MAX]; /* ... and the share of each its attempts hold, in
                               thousandths: a whole device's attempt holds all of it */
} cworker;

/* A claim (what an attempt holds of a worker) is an amount per entry of its capacity, then
 * the attempt's GPUs and its share of each. */
#define CLAIM_GPU_SLOTS 2

/* The claim of an untracked attempt the core knows nothing of: it holds a slot only. */
extern uint64_t core_unknown_claim[1];

typedef struct cattempt {
    uint64_t id;
    crun *run;
    int task;
    int no;
    cworker *w;             /* NULL: restored after a restart, not yet claimed by a worker */
    int64_t dispatched_us;  /* 0: restored */
    char *orphan_of;        /* restored: the worker it was dispatched to (owned) */
    uint64_t gpu_mask;      /* the GPUs of its worker it holds (bits of their indices) ... */
    uint32_t gpu_milli;     /* ... and its share of each, in thousandths */
    int64_t orphan_deadline;/* restored: when it fails as lost unless claimed */
    int orphan_graced;      /* restored: its deadline was moved once for a tick not heard
                               in time */
} cattempt;

typedef struct qentry {
    uint64_t seq;           /* when it became ready, in the order of the whole core */
    int64_t ready_us;       /* and by the clock of the event that made it ready */
    int task;               /* its slot */
} qentry;

/* A FIFO of one run's ready tasks of one place (dag_task.place: type, resources, labels,
 * own priority, pool). Which queue's head goes next: core_dispatch.c. */
typedef struct tqueue {
    qentry *v;
    size_t head, tail, cap;
    int prio;               /* its tasks' own priority (or their workflow's) ... */
    int own;                /* ... when they have one; else their project's, as it is now */
    cpool *pool;            /* its tasks' pool, and its limit in their run, or NULL */
    uint64_t limit;
    int said;               /* FX_WAITING was emitted for it (until a worker joins) */
} tqueue;

/* A task by run id and index: runs come and go, so references between runs go by id. */
typedef struct taskref {
    uint64_t run;
    int task;
} taskref;

/* The task computing a cache key, and the identical tasks waiting for its outputs. */
typedef struct inflight {
    taskref owner;
    taskref *waiters;
    size_t n, cap;
} inflight;

/* A memoized task that ended during this step; its waiters are settled at the step's end. */
typedef struct settle {
    taskref t;
    char *key;
} settle;

typedef struct timer {
    int64_t due_us;
    uint64_t run;
    int task;               /* RUN_DEADLINE: the run's own timeout; ATTEMPT_DEADLINE: an
                               attempt's timeout plus the grace (attempt); a task: its retry
                               (attempt 0), or its schedule timeout (attempt: 1 + its attempts
                               when it was armed) */
    uint64_t attempt;
} timer;

/* A queue head some worker can take now (core_dispatch.c). */
typedef struct candidate {
    crun *r;
    tqueue *q;
    cworker *w;
    int level;              /* its priority, raised by aging */
} candidate;

/* timer.attempt of an approval's deadline (timer.task: its slot). */
#define APPROVAL_TIMER UINT64_MAX
#define RUN_DEADLINE (-1)
#define ATTEMPT_DEADLINE (-2)

struct core {
    u64map *runs;           /* run id -> crun* */
    u64map *attempts;       /* attempt id -> cattempt* */
    cworker **workers;
    size_t nworkers, capworkers;
    timer *heap;            /* retry timers, min-heap on due_us */
    size_t nheap, capheap;
    uint64_t next_attempt;
    uint64_t rng;
    size_t nready;
    crun **ended;           /* runs that ended during the last step */
    size_t nended, capended;
    uint64_t ready_seq;     /* the order in which tasks became ready */
    int64_t now_us;         /* the time of the event being stepped */
    int64_t clock_wall_us, clock_mono_us; /* the last event's wall_us and mono_us (0: none) */
    int64_t stepped_us;     /* how far the wall clock was stepped since the last EV_TICK */
    uint64_t *orphans;      /* restored attempts no worker has claimed yet */
    size_t norphans, caporphans;
    int64_t orphan_grace_us, orphan_claim_us;
    int64_t attempt_grace_us; /* see CORE_ATTEMPT_GRACE_US */
    strmap *inflight;       /* cache key -> inflight* */
    strmap *projects;       /* project name -> cproject* */
    strmap *pools;          /* project, kind and name -> cpool* (core_dispatch.c) */
    candidate *cands;       /* core_dispatch's scratch */
    size_t ncands, capcands;
    timer *deadlines;       /* schedule timeouts due in this step (core_defer_deadline) */
    size_t ndeadlines, capdeadlines;
    int64_t aging_us;       /* a waiting task's priority rises by one each this long */
    settle *settles;
    size_t nsettles, capsettles;
    json_t *no_outputs;     /* {}: what every unit that made no outputs holds (shared) */
};

/* Shared between core.c and core_restore.c. Functions taking a task take a slot. */
/* What a unit that succeeded holds as its outputs (a new reference): outputs, or for none
 * (NULL or {}) one empty object all such units share; none mutates what it holds. */
json_t *core_kept_outputs(core *c, json_t *outputs);
core_effect *core_emit(core_effects *fx, enum core_fx_kind kind);
/* An effect naming slot's run, task and element. */
core_effect *core_emit_unit(core_effects *fx, enum core_fx_kind kind, const crun *r, int slot);
/* A task state effect for task of r; the caller adds message, class, outputs. */
core_effect *core_emit_task(core_effects *fx, const crun *r, int task, int state);
/* Appends n zeroed slots to r (its arrays may move); returns the first. */
size_t core_add_slots(crun *r, size_t n);
/* The slot of task's element elem (-1: the task itself), or -1 when there is none. */
int core_slot(const crun *r, int task, int elem);
/* "name" or "name[elem]". */
void core_unit_name(const crun *r, int slot, char *buf, size_t n);
/* A slot's inputs, resolved (new reference), or NULL with why. */
json_t *core_unit_inputs(const crun *r, int slot, char *why, size_t n);
/* Fails task with class cls (see core.c): retried when retryable and its policy allows,
 * caught when its catch handles cls (its handler gets msg, cls and log, the end of the
 * attempt's log, or NULL), failed (or cancelled, in a stopped run) otherwise. */
void core_task_failed(core *c, crun *r, int task, int cls, const char *msg, const char *log,
                      int retryable, int64_t now, core_effects *fx);
void core_make_ready(core *c, crun *r, int task, core_effects *fx);
/* core_when.c: decides, as task (not an element) becomes ready, whether its when: or an
 * output it reads of a task skipped so skips it; then ends it skipped (or failed, when its
 * when cannot be computed) and returns 1. */
int core_when_skips(core *c, crun *r, int task, core_effects *fx);
/* core_approve.c: an approval that became ready waits for its signal (or fails when its
 * message cannot be read); restored: it waits again, until due_us (0: no deadline);
 * expired: its deadline came (nothing when it was decided); EV_SIGNAL. */
void core_approval_wait(core *c, crun *r, int task, core_effects *fx);
/* core_approve.c: a subworkflow's entry or exit (DK_ENTRY, DK_EXIT) that became ready succeeds with
 * its inputs as its outputs (or fails when they cannot be read). */
void core_pass(core *c, crun *r, int task, core_effects *fx);
void core_approval_restore(core *c, crun *r, int task, int64_t due_us);
void core_approval_expired(core *c, crun *r, int task, core_effects *fx);
void core_on_signal(core *c, const core_event *ev, core_effects *fx);
/* The same for a task the catalogue already holds as ready (restored): no new event. */
void core_requeue_ready(core *c, crun *r, int task, core_effects *fx);
void core_heap_push(core *c, timer t);
/* Arms the scheduler's own deadline of attempt a of task slot task, dispatched at since:
 * its task's timeout plus CORE_ATTEMPT_GRACE_US (none without a timeout). */
void core_arm_attempt_deadline(core *c, crun *r, int task, uint64_t attempt, int64_t since);
/* An attempt past its timeout and the grace fails as timeout now (core_stop.c). Its worker
 * (which should have stopped it) is asked to stop it, and its slot stays taken until it
 * reports. */
void core_attempt_deadline(core *c, uint64_t id, int64_t now, core_effects *fx);
void core_end_task(core *c, crun *r, int task, int state);
/* What parent p's end means for its waiting child ch: 0 (one fewer to wait for),
 * TS_SKIPPED (ch cannot run: an upstream failure) or TS_NOT_RUN (ch is not needed). */
int core_fate(const crun *r, int p, int ch);
/* Applies task's end to its pending children (ready, skipped or not_run), recursively. */
void core_settle_children(core *c, crun *r, int task, core_effects *fx);
void core_maybe_finish_run(core *c, crun *r, core_effects *fx);
/* A new run of project (NULL: "default"). */
crun *core_new_run(core *c, uint64_t id, dag *g, const char *project);
/* The project called name (NULL: "default"), made without limits when new. */
cproject *core_project(core *c, const char *name);
/* core_dispatch.c. An attempt of slot of r starts (delta 1) or ends (-1) being in flight:
 * counted in r, its project, its workflow's concurrency and its pool. */
void core_inflight_add(crun *r, int slot, int delta);
/* Gives a new run its workflow's concurrency pool and its tasks' pools. */
void core_run_pools(core *c, crun *r);
/* Whether a limit holds back the head of r's (non-empty) queue q: its pool's, its
 * workflow's concurrency or its project's max-inflight; which, into why (n bytes, may be 0). */
int core_held_back(const crun *r, const tqueue *q, char *why, size_t n);
/* Starts ready tasks while workers have credits (see core_dispatch.c). */
void core_dispatch(core *c, int64_t now, core_effects *fx);
/* A task's schedule timeout that came due (t.attempt: 1 + its attempts when it was armed),
 * kept for core_fire_deadlines, which runs after the step's dispatch: it fails the task
 * unschedulable if it still waits with no attempt made since. Returns how many failed. */
void core_defer_deadline(core *c, timer t);
int core_fire_deadlines(core *c, int64_t now, core_effects *fx);
void core_attempt_ended(core *c, cattempt *a, int ok, int cls, const char *msg,
                        const core_event *ev, int64_t now, core_effects *fx);
/* Appends task to its run's ready queue of its type. */
void core_enqueue(core *c, crun *r, int task);
/* Ends task as succeeded with outputs. source (enum core_source) says where they came
 * from: computed by its attempt (a memoized task then hands the shell its key to record
 * them), or copied from the execution source_run / source_task. */
void core_task_succeeded(core *c, crun *r, int task, json_t *outputs, int source,
                         uint64_t source_run, const char *source_task, core_effects *fx);
/* A run by id, live or ended during the current step (its effects still name it). */
crun *core_find_run(const core *c, uint64_t run_id);
/* core_memo.c: asks for a memoized task's outputs (0 when its inputs cannot be resolved:
 * it is queued, and dispatch fails it with the reason); answers; settles identical tasks
 * in flight once the one computing ends. */
int core_lookup(crun *r, int task, core_effects *fx);
void core_on_lookup(core *c, const core_event *ev, core_effects *fx);
void core_settle_all(core *c, core_effects *fx);
/* core_map.c: a mapped task that became ready expands into its elements (slots); as
 * they end, more start (max_parallel) and the last one ends the task, succeeded when
 * enough did (min_success) with a list per output. core_map_advance is that step, safe to
 * call at any time; core_map_restore rebuilds the elements from a snapshot. */
void core_map_expand(core *c, crun *r, int task, core_effects *fx);
void core_map_advance(core *c, crun *r, int task, core_effects *fx);
void core_map_restore(core *c, crun *r, int task, const core_task_snapshot *snap,
                      int64_t now, core_effects *fx);
void core_map_free(cmap *m);
/* Restores an attempt that was running: an orphan until a worker claims it. */
void core_add_orphan(core *c, crun *r, int slot, const core_task_snapshot *snap, int64_t now);
/* Worker w registered (ev): it claims its orphans among those it runs; its orphans it
 * neither runs nor has a result for (dispatched to it, never received) fail as lost now. */
void core_claim_orphans(core *c, cworker *w, const core_event *ev, core_effects *fx);
/* Whether registration ev (may be NULL) reports attempt id running or finished. */
int core_reported(const core_event *ev, uint64_t id);
/* core_worker.c: EV_WORKER_JOINED; a worker lost (index in c->workers), failing what it
 * ran; lookup by name (index may be NULL); credits = slots minus attempts occupying them. */
void core_on_worker_joined(core *c, const core_event *ev, core_effects *fx);
void core_worker_lost(core *c, size_t index, const char *why, int64_t now, core_effects *fx);
cworker *core_find_worker(const core *c, const char *name, size_t *index);
/* Its slots not occupied: an attempt given now starts at once (credits beyond these are
 * its queue). */
uint32_t core_free_slots(const cworker *w);
/* Whether w runs t's type and carries t's labels (capacity aside). */
int core_may_run(const cworker *w, const dag_task *t);
/* Whether an attempt of t fits w: core_may_run, and w's capacity, less what its attempts
 * hold (only its total capacity when !now), covers t's resources. */
int core_fits(const cworker *w, const dag_task *t, int now);
/* core_place.c: why no connected worker could ever run t (its type, labels, or total
 * capacity), in why; 0 when some could (it may be busy). */
int core_unplaceable(const core *c, const dag_task *t, char *why, size_t n);
/* core_place.c: FX_WAITING for each ready queue whose head has waited 5 s, no worker could
 * run, and was not said; core_waiting_rearm: say them again (a worker joined). */
void core_say_waiting(core *c, int64_t now, core_effects *fx);
void core_waiting_rearm(core *c);
/* The GPUs a worker reports a restored attempt a holds on it (mask, its share milli), kept
 * when they are what a's task asks for on w's devices, else dropped (placed anew). */
void core_adopt_gpus(const cworker *w, cattempt *a, uint64_t mask, uint32_t milli);
/* Puts attempt a on w (running, holding its task's resources), or takes it off. */
void core_worker_take(cworker *w, cattempt *a);
void core_worker_give_back(cworker *w, cattempt *a);
/* Attempt a, on w, is stopped and no longer waited for: it holds its slot and resources as
 * an untracked attempt until its result comes (core_untracked_ended: 1 when it was one). */
void core_untrack(cworker *w, const cattempt *a);
int core_untracked_ended(cworker *w, uint64_t id);
void core_refresh_credits(cworker *w);
/* Whether w may be given an attempt now: it has credits, and a free slot when need_slot
 * (an attempt with a timeout is never queued behind others: its clock runs from its
 * dispatch). */
int core_may_take(const cworker *w, int need_slot);
/* Puts attempt a on w (its credits follow) and emits kind, FX_DISPATCH or FX_REDISPATCH,
 * with inputs (owned by the effect); due_us: when the task became ready. */
void core_send_attempt(core_effects *fx, enum core_fx_kind kind, cattempt *a, cworker *w,
                       json_t *inputs, int64_t now, int64_t due_us);
void core_free_worker(cworker *w);
/* EV_RUN_RESTORED (core_restore.c). */
void core_on_restore(core *c, const core_event *ev, core_effects *fx);
/* Fails the restored attempts no worker claimed within the grace period. */
void core_expire_orphans(core *c, int64_t now, core_effects *fx);
/* After a tick the scheduler could not hear in time: each restored attempt not yet claimed
 * has at least the claim period from now, once. */
void core_orphans_unheard(core *c, int64_t now);
/* core_stop.c: EV_CANCEL, and run deadlines. */
void core_on_cancel(core *c, const core_event *ev, core_effects *fx);
/* Arms r's run-level timeout, counted from started_us. */
void core_arm_deadline(core *c, crun *r, int64_t started_us);
void core_run_deadline(core *c, crun *r, int64_t now, core_effects *fx);

#endif
