/* core: the run state machine, a pure function of (state, event) -> (state, effects).
 *
 * The core knows runs (each a compiled dag plus per-task state), workers (name, task types,
 * credits, running attempts) and retry timers. It does no I/O and reads no clock: time comes
 * in with each event, randomness from a seeded generator it owns. The scheduler's shell turns
 * socket messages into events and effects into catalogue writes and messages; a simulation
 * test can drive the same core with random events.
 *
 * Task life: pending -> ready -> running -> succeeded | failed, with
 * running -> retry_wait -> ready for retried failures, and pending -> skipped when an
 * upstream task failed, or when its when: is false or it reads an output of a task skipped
 * so (core_when.c). A run ends once every task has ended: succeeded when none failed,
 * failed otherwise. Independent branches keep running after a failure.
 *
 * A task with `catch` that fails (after its retries) with a caught class ends caught
 * instead: its handler becomes ready, with ${task.error.message} and ${task.error.class},
 * and the tasks that needed its outputs end not_run; neither fails the run. A handler whose
 * catcher succeeds ends not_run.
 *
 * A memoized task (cache:) that becomes ready is looked up first (FX_LOOKUP, answered by
 * EV_LOOKUP): a hit succeeds with the recorded outputs without dispatch. On a miss it runs,
 * unless an identical task (same key) is already in flight: then it waits, and takes that
 * task's outputs when it succeeds (or runs itself when that one fails).
 *
 * A mapped task (map:) that becomes ready expands into one element per item of its list;
 * each element is a unit of its own (attempts, retries, cache, effects with elem >= 0),
 * at most max_parallel run at once, and the task ends when its last element does:
 * succeeded, with a list per output, when at least min_success elements succeeded.
 *
 * An approval (type: approve) that becomes ready waits instead (pending -> waiting) and
 * never dispatches: EV_SIGNAL ends it succeeded with the signal's values, or failed (fatal)
 * with the reason; its timeout ends it failed as timeout.
 *
 * Cancelling a run ends its waiting tasks as cancelled at once and asks workers to stop its
 * running attempts; the run ends, cancelled, when the last of those reports back. */
#ifndef WEFT_CORE_H
#define WEFT_CORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "compiler/dag.h"

enum task_state {
    TS_PENDING, TS_READY, TS_RUNNING, TS_RETRY_WAIT, /* open */
    TS_WAITING, /* an approval waiting for its signal (core_approve.c), holding no worker */
    TS_SUCCEEDED, TS_FAILED, TS_SKIPPED, TS_CANCELLED, /* ended */
    TS_CAUGHT,  /* failed, and its catch routed the run to its handler: not a run failure */
    TS_NOT_RUN, /* not needed: an unused catch handler, or below a caught task */
    TS__COUNT
};
enum run_state { RS_RUNNING, RS_SUCCEEDED, RS_FAILED, RS_CANCELLED };

const char *core_task_state_name(int s);
const char *core_run_state_name(int s);

enum core_ev_kind {
    EV_RUN_SUBMITTED, /* run_id, dag */
    EV_WORKER_JOINED, /* worker, slots, types, running (attempt ids it still runs) */
    EV_HEARTBEAT,     /* worker */
    EV_WORKER_LOST,   /* worker */
    EV_RESULT,        /* attempt_id, ok, errclass, message, outputs */
    EV_TICK,          /* time passes: retry timers, heartbeat deadlines (workers are
                         declared lost only on a tick: the shell first reads every message
                         that has arrived); late_us */
    EV_RUN_RESTORED,  /* run_id, dag, snapshot: a run rebuilt after a scheduler restart */
    EV_CANCEL,        /* run_id: stop the run */
    EV_LOOKUP,        /* run_id, task; ok = 1: a cache hit, with outputs, source_run and
                         source_task (the execution that computed them); ok = 0: a miss */
    EV_SIGNAL         /* run_id, task (an approval, waiting); ok = 1: approved, with
                         outputs; ok = 0: rejected, with message (the reason); worker: who */
};

/* One task of a run as the catalogue last committed it (EV_RUN_RESTORED). */
typedef struct core_task_snapshot {
    int state;           /* enum task_state */
    int attempts;        /* attempts started */
    uint64_t attempt_id; /* TS_RUNNING: the attempt in flight */
    const char *worker;  /* TS_RUNNING: the worker it was dispatched to (borrowed) */
    int64_t dispatched_us; /* TS_RUNNING: when it was dispatched */
    json_t *outputs;     /* TS_SUCCEEDED: borrowed; NULL: none, as {} */
    int64_t due_us;      /* TS_RETRY_WAIT: when to retry; TS_WAITING: its deadline (0) */
    const struct core_task_snapshot *elems; /* a mapped task that expanded: its elements */
    size_t nelems;
} core_task_snapshot;

typedef struct core_event {
    enum core_ev_kind kind;
    int64_t now_us;
    uint64_t run_id;          /* EV_RUN_SUBMITTED */
    dag *dag;                 /* EV_RUN_SUBMITTED: ownership passes to the core */
    const char *project;      /* EV_RUN_SUBMITTED, EV_RUN_RESTORED: the run's project (NULL:
                                 "default") */
    const char *worker;       /* EV_WORKER_*, EV_HEARTBEAT; EV_RESULT: the sender, if known */
    uint32_t slots;           /* EV_WORKER_JOINED */
    uint32_t prefetch;        /* EV_WORKER_JOINED: attempts it queues beyond its slots */
    const char *const *types; /* EV_WORKER_JOINED: task type names it runs */
    size_t ntypes;
    const uint64_t *running;  /* EV_WORKER_JOINED: attempts it is running now */
    size_t nrunning;
    const uint64_t *running_gpus;      /* EV_WORKER_JOINED: per running attempt, the GPUs it
                                          holds (bits of the worker's devices) and its */
    const uint32_t *running_gpu_milli; /* share of each (both NULL: none hold any) */
    const uint64_t *finished; /* EV_WORKER_JOINED: attempts whose results it sends again
                                 right after registering */
    size_t nfinished;
    int again;                /* EV_WORKER_JOINED: the same worker process registered before
                                 (not a new one); what it does not report never reached it */
    int64_t heartbeat_us;     /* EV_WORKER_JOINED: its heartbeat interval */
    int64_t late_us;          /* EV_TICK: how long after its time the tick came: the shell
                                 heard nothing meanwhile (a stopped process, a blocked disk) */
    int64_t wall_us, mono_us; /* any event: the wall clock (which now_us and every time the
                                 core keeps are told in) and a monotonic one, read together
                                 as it is stepped (0: not known): how far the wall clock was
                                 stepped since the last event */
    const res_amount *capacity; /* EV_WORKER_JOINED: what its attempts may hold at once */
    size_t ncapacity;
    char *const *labels;      /* EV_WORKER_JOINED: its labels, "key=value" */
    size_t nlabels;
    uint64_t attempt_id;      /* EV_RESULT */
    int ok;                   /* EV_RESULT */
    int errclass;             /* EV_RESULT on failure (enum errclass) */
    const char *message;      /* EV_RESULT on failure */
    const char *log_tail;     /* EV_RESULT on failure: the end of the attempt's log (a catch
                                 handler's ${task.error.log}) */
    json_t *outputs;          /* EV_RESULT on success (borrowed) */
    int64_t started_us;       /* EV_RESULT: when its executor started and ended the attempt;
                                 EV_RUN_RESTORED: when the run was created */
    int64_t finished_us;
    uint64_t peak_mem_bytes, cpu_us; /* EV_RESULT: what the attempt used (0: not measured) */
    const core_task_snapshot *snapshot; /* EV_RUN_RESTORED: one per task of dag */
    int task;                 /* EV_LOOKUP */
    int elem;                 /* EV_LOOKUP: the element of a mapped task, or -1 */
    uint64_t source_run;      /* EV_LOOKUP hit */
    const char *source_task;
} core_event;

/* Where a succeeded task's outputs came from. */
enum core_source {
    SRC_COMPUTED, /* its own attempt */
    SRC_CACHE,    /* a cache entry (EV_LOOKUP hit) */
    SRC_INFLIGHT, /* an identical task in flight that computed them */
    SRC__COUNT
};
const char *core_source_name(int src);

enum core_fx_kind {
    FX_TASK_STATE,  /* run_id, task, state; errclass+message on failure; json = outputs on
                       success; due_us for retry_wait, and for waiting (its deadline, 0:
                       none; message: what it asks) */
    FX_DISPATCH,    /* run_id, task, attempt_id, attempt_no, worker, json = inputs;
                       due_us: when the task became ready (its wait in the queue) */
    FX_REDISPATCH,  /* as FX_DISPATCH, of an attempt already recorded that never reached
                       its worker (the scheduler restarted between committing and sending
                       it): sent again, same id */
    FX_ATTEMPT_END, /* attempt_id, run_id, task, attempt_no, ok, errclass, message;
                       started_us and finished_us from the worker (0 when it never said),
                       peak_mem_bytes and cpu_us what it used;
                       due_us: when it was dispatched (0: restored after a restart) */
    FX_STALE,       /* attempt_id: a result nobody waits for; recorded, ignored */
    FX_RUN_STATE,   /* run_id, state, message */
    FX_WORKER_STATE,/* worker, message = "up" | "lost" */
    FX_STOP_ATTEMPT,/* attempt_id, worker: ask the worker to stop a running attempt */
    FX_LOOKUP,      /* run_id, task, key, json = inputs: a memoized task became ready; the
                       shell answers with EV_LOOKUP */
    FX_MAP,         /* run_id, task, json = the list: a mapped task expanded into one
                       element per item (and is running) */
    FX_WAITING      /* run_id, task, message: a task ready for 5 s that no connected worker
                       could run (type, labels or capacity), and why; said once per ready
                       queue, and again after a worker joins */
};

/* Effects and events about a task name it by dag index and, for an element of a mapped
 * task, by element (elem >= 0; -1 otherwise). */
typedef struct core_effect {
    enum core_fx_kind kind;
    uint64_t run_id;
    int task;
    int elem;
    int state;
    uint64_t attempt_id;
    int attempt_no;
    int ok;
    int errclass;
    char *message;  /* owned by the effect list */
    char *worker;   /* owned by the effect list */
    json_t *json;   /* owned reference */
    json_t *inputs; /* FX_TASK_STATE of a task no worker runs (an approval waiting, a
                       subworkflow's entry or exit succeeding): its resolved inputs, recorded
                       as a dispatch's are (a retry compares them). Owned reference */
    char *key;      /* FX_LOOKUP; FX_TASK_STATE succeeded: the cache key of a memoized task
                       that computed its outputs (record them). Owned. */
    int source;     /* FX_TASK_STATE succeeded: enum core_source; for outputs copied from
                       elsewhere, the run and task that computed them (owned) */
    uint64_t source_run;
    char *source_task;
    int64_t due_us;
    int64_t started_us, finished_us;
    uint64_t peak_mem_bytes, cpu_us;
    uint64_t gpu_mask;  /* FX_DISPATCH, FX_REDISPATCH: the worker's GPUs the attempt holds */
    uint32_t gpu_milli; /* (bits of its devices) and its share of each, in thousandths */
    uint32_t more;      /* FX_TASK_STATE ready: as many units after this one became ready
                           with it, the next tasks of its run (elem -1) or the next elements
                           of its task: one effect, not 100,000, for a run's roots */
} core_effect;

typedef struct core_effects {
    core_effect *v;
    size_t n, cap;
} core_effects;

/* Unit k (0 to e->more) of an effect about units, as an effect of its own (a shallow copy:
 * it owns nothing). */
core_effect core_effect_unit(const core_effect *e, uint32_t k);

/* Frees the effects' contents and empties the list (and its memory, when it grew large). */
void core_effects_clear(core_effects *fx);
void core_effects_free(core_effects *fx);

typedef struct core core;

/* next_attempt_id: the first attempt id to issue (ids never repeat across restarts).
 * seed: for jitter. */
core *core_new(uint64_t next_attempt_id, uint64_t seed);
void core_destroy(core **cp);

/* Applies one event, appending the resulting effects to fx. Never fails: an event that does
 * not apply (an unknown attempt, a worker nobody knows) yields effects that record it. */
void core_step(core *c, const core_event *ev, core_effects *fx);

/* The earliest time at which an EV_TICK has something to do, or -1. */
int64_t core_next_deadline(const core *c);

/* Read access for the shell. The dag of a run, including one that ended in the last step
 * (its effects still name it). */
const dag *core_run_dag(const core *c, uint64_t run_id);
/* For each task of run_id ready and waiting for a worker no connected one could be (type,
 * labels, capacity), or held back by a limit (its pool, its workflow's concurrency, its
 * project's max-inflight): {task name: why}. New reference. */
json_t *core_run_waiting(const core *c, uint64_t run_id);
/* The registered workers as a JSON array: name, slots, prefetch, free_slots, attempts (the
 * core waits for), untracked (stopped, still running), capacity and used ({name: amount},
 * cpu in cores, gpu in devices: 1.5 held of 2 with shares), labels, types, last_seen_us.
 * New reference. */
json_t *core_workers_json(const core *c);
/* For each task of active run run_id that no worker registered now could ever run (type,
 * labels, total capacity): {task name: why}; empty while no worker is registered. New
 * reference. */
json_t *core_run_unplaceable(const core *c, uint64_t run_id);
/* 1 (why says which) when a worker's attempts hold more of a resource than it offers. */
int core_over_capacity(const core *c, char *why, size_t n);
/* The state (enum task_state) of task (a dag index) of an active run, or -1. */
int core_task_state(const core *c, uint64_t run_id, int task);
/* Whether the run is still going. */
int core_run_active(const core *c, uint64_t run_id);
/* The run's tasks and map elements counted by state (enum task_state) into
 * counts[TS__COUNT]; 0 when the core does not hold the run (a run that ended is held until
 * the next step: its counts are then final). */
int core_run_counts(const core *c, uint64_t run_id, size_t *counts);
/* {state name: n} of counts[TS__COUNT], the states with none left out (a new object). */
json_t *core_counts_json(const size_t *counts);
/* The outputs of task (a dag index) of run, while the core holds the run (up to the step
 * after it ended), or NULL. */
const json_t *core_task_outputs(const core *c, uint64_t run_id, int task);
/* The run, task and element of an attempt the core waits for; 0 when unknown. */
int core_attempt_info(const core *c, uint64_t attempt_id, uint64_t *run_id, int *task,
                      int *elem, int *attempt_no);
/* A mapped task fans out to at most this many elements, and a run holds at most this many
 * tasks and elements together; a map past either fails its task with the reason. */
#define CORE_MAP_MAX 1000000
#define CORE_RUN_UNITS_MAX (1 << 20)
/* An attempt of a task with a timeout that has not ended this long after its timeout (the
 * worker should have stopped it) fails as timeout by the scheduler's own clock, and its
 * worker is asked to stop it; its slot stays taken until the worker reports it. The
 * default; core_set_attempt_grace changes it. */
#define CORE_ATTEMPT_GRACE_US (30 * 1000000LL)
/* A ready task's priority rises by one for each this long it waits (up to the highest
 * priority waiting); core_set_aging changes it. */
#define CORE_AGING_US (60 * 1000000LL)

void core_set_attempt_grace(core *c, int64_t us);
void core_set_aging(core *c, int64_t us);
/* A project's limits (0: none), from the next dispatch on: attempts in flight over all its
 * runs (ready tasks of a project at its limit wait, and other projects' go first), and
 * tasks and map elements of one run (a map past it fails its task with the reason); and the
 * priority of its tasks that have none of their own or their workflow's (their queues made
 * from then on). */
void core_set_project(core *c, const char *project, size_t max_inflight, size_t max_units,
                      int priority);
/* What project uses now: its active runs and attempts in flight. */
void core_project_usage(const core *c, const char *project, size_t *runs, size_t *attempts);
/* The worker an attempt the core waits for was dispatched to (a restored one: before the
 * restart), or NULL. */
const char *core_attempt_owner(const core *c, uint64_t attempt_id);
size_t core_nruns(const core *c);
/* The next attempt id the core would issue (a core rebuilt after a failed commit starts
 * there: ids of the rolled-back turn are never issued again). */
uint64_t core_next_attempt_id(const core *c);
size_t core_nworkers(const core *c);
int core_worker_known(const core *c, const char *name);
/* Tasks waiting for a worker (ready), across runs. */
size_t core_nready(const core *c);
/* The same by task type: a new object {type: count} (types with none left out). */
json_t *core_ready_by_type(const core *c);
/* The slots of the connected workers, and how many are free. */
void core_slots(const core *c, size_t *total, size_t *free_slots);

/* Backoff: the delay before attempt n+1 after n failed attempts (n >= 1), before jitter:
 * min(interval * rate^(n-1), max_delay). With jitter_full, u in [0,1) scales it. */
int64_t core_backoff_ms(const dag_retry *r, int n, double u);

#endif
