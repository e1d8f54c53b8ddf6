/* staging: a slot's next attempt, written to its executor while the running one goes on,
 * so that the executor starts it the moment the running one ends, without waiting for the
 * worker to read the result and answer. See worker_int.h.
 *
 * A staged attempt stays in the worker's queue, marked with its slot, until the slot's
 * running attempt ends. Its ExecRequest waits in the executor's pipe, naming one of the
 * words the two share (worker/stageword.h), which holds its token. Whoever swaps the token
 * for 0 first owns the attempt: the executor when it reads the request (the claim), the
 * worker when it takes the attempt back (the retraction), and the loser knows. The
 * executor claims only after it has written the running attempt's result, and only when
 * that result says it holds the slot's log (ExecResult.log_held): then nothing of the
 * ended attempt is left to read from the file the next one writes. So a result with
 * log_held and an attempt still staged behind it means the executor runs that attempt now;
 * any other result means it will not, and the worker takes it back. The promoted attempt
 * keeps its word until the executor reads its request; the next is staged in the other.
 *
 * The worker takes a staged attempt back when another slot frees first (nothing waits
 * behind a long attempt), when the running attempt is to be stopped (no signal may reach
 * the next one), before it streams the running attempt's log (which the next attempt's
 * output would join) and when the executor dies. A retraction that loses means the running
 * attempt has ended and its result is on the way. A request taken back stays in the pipe,
 * where the executor skips it: one at most per running attempt, which stages nothing more
 * once one was taken back. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "worker/worker_int.h"

/* The index of the queued attempt staged on sl, or -1. */
static int staged_at(const worker *w, const slot *sl)
{
    for (uint32_t i = 0; i < w->nqueued; i++)
        if (w->queue[i].on == sl)
            return (int)i;
    return -1;
}

/* q, taken back, goes back to waiting in the queue. */
static void unstage(queued *q)
{
    slot *sl = q->on;
    if (sl->job)
        sl->job->nostage = 1;
    log_debug("slot %d: attempt %llu taken back", sl->index,
              (unsigned long long)q->job->attempt_id);
    q->on = NULL;
}

int stage_retract(worker *w, queued *q)
{
    if (q->on->ep && !stageword_take(q->on->ep->staged, q->word, q->token))
        return 0; /* claimed: its slot's attempt has ended */
    unstage(q);
    return 1;
}

int stage_clear(slot *sl)
{
    int i = staged_at(sl->w, sl);
    return i < 0 || stage_retract(sl->w, &sl->w->queue[i]) ? 0 : -1;
}

/* The attempt staged on sl (at queue index i) runs in its executor now: it leaves the
 * queue for the slot. One given earlier, staged behind an attempt that has run for more
 * than PATIENCE_MS, is taken back, to be staged next where an attempt ends first: a slot
 * overtakes it by one attempt at most, however long the one it waits behind runs. */
#define PATIENCE_MS 10
static void promote(slot *sl, int i)
{
    worker *w = sl->w;
    uint64_t now = uv_now(&w->loop);
    for (int j = 0; j < i; j++) {
        const slot *on = w->queue[j].on;
        if (on && on->job && now - on->job->begun_ms > PATIENCE_MS)
            stage_retract(w, &w->queue[j]);
    }
    running *job = slot_dequeue(w, (uint32_t)i);
    sl->job = job;
    sl->ep->log_held = 0; /* the executor has it, emptied, for this attempt */
    job->phase = JOB_RUNNING;
    job->started_us = clock_wall_us();
    exec_watch(sl);
    if (job->cancelled) /* its run was cancelled after the executor had claimed it */
        exec_cancel(sl);
}

void stage_promote(slot *sl)
{
    int i = staged_at(sl->w, sl);
    if (i < 0)
        return;
    if (sl->ep && sl->ep->log_held) {
        promote(sl, i);
    } else if (!stage_retract(sl->w, &sl->w->queue[i])) {
        log_error("slot %d: executor claimed attempt %llu without holding its log", sl->index,
                  (unsigned long long)sl->w->queue[i].job->attempt_id);
        promote(sl, i);
    }
}

running *stage_executor_died(slot *sl, execproc *ep)
{
    worker *w = sl->w;
    int i = staged_at(w, sl);
    if (i < 0)
        return NULL;
    queued *q = &w->queue[i];
    if (stageword_take(ep->staged, q->word, q->token)) {
        unstage(q);
        return NULL;
    }
    /* It was running: it died with the executor. */
    running *job = slot_dequeue(w, (uint32_t)i);
    job->phase = JOB_RUNNING;
    job->started_us = clock_wall_us(); /* (about: the executor's record of it is lost) */
    return job;
}

/* Whether the slot's running attempt may have another staged behind it: not one whose
 * executor is in the attempt's cgroup (the next would run there until the worker moves it
 * out), nor one that is being stopped. */
static int can_stage(const slot *sl)
{
    const running *job = sl->job;
    return sl->ep && sl->ep->staged && !sl->ep->exited && job && job->phase == JOB_RUNNING &&
           !job->remote && !job->cg && !job->nostage && !job->cancelled && !job->timed_out &&
           !job->stopping && !job->hung;
}

/* Whether queued q may be staged: its store is on this machine (no fetch first) and it
 * needs no cgroup of its own (which its executor enters before it starts). */
static int stageable(const worker *w, const queued *q)
{
    return !q->unstageable && !q->job->remote &&
           !(w->cgroups && (q->job->mem_bytes || q->job->cpu_milli));
}

/* A free staging word of the slot's executor, or -1 (the word of a promoted attempt whose
 * request the executor has not read yet is not free). */
static int free_word(const slot *sl)
{
    for (int i = 0; i < STAGE_WORDS; i++)
        if (atomic_load(&sl->ep->staged[i]) == 0)
            return i;
    return -1;
}

void stage_queued(worker *w)
{
    uint32_t next = 0; /* the first queued attempt not staged */
    for (uint32_t s = 0; s < w->nslots && !w->stopping; s++) {
        slot *sl = &w->slots[s];
        int word;
        if (!can_stage(sl) || staged_at(w, sl) >= 0 || (word = free_word(sl)) < 0)
            continue;
        while (next < w->nqueued && w->queue[next].on)
            next++;
        if (next == w->nqueued || !stageable(w, &w->queue[next]))
            return; /* (that one starts when a slot frees, the usual way, first) */
        queued *q = &w->queue[next];
        char gpus[EXEC_GPU_NAMES_MAX];
        if (exec_gpu_names(w, q->job, gpus, sizeof gpus) < 0) {
            q->unstageable = 1; /* (starting, it fails saying why) */
            return;
        }
        q->word = (uint32_t)word;
        q->token = ++sl->ep->tokens;
        q->job->log_path = sl->log_path;
        atomic_store(&sl->ep->staged[word], q->token);
        if (exec_write(sl, q->job, gpus, q) < 0) {
            atomic_store(&sl->ep->staged[word], 0);
            q->unstageable = 1;
            return;
        }
        q->on = sl;
        log_debug("slot %d: attempt %llu staged behind %llu", sl->index,
                  (unsigned long long)q->job->attempt_id, (unsigned long long)sl->job->attempt_id);
    }
}
