/* core_dispatch: the ready queues and who goes next. A free slot goes to the ready task of
 * the highest priority level, where a task's level is its priority raised one step for each
 * aging interval it has waited, but never above the highest priority waiting (so nothing
 * starves, and tasks of one priority keep their order); then to the run with the fewest
 * attempts in flight (fair share: a small run is not stuck behind a large one); then to the
 * task that became ready first, across task types. A run's project, its workflow's
 * concurrency and a task's pool may hold it back while they are at their limits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "common/units.h"
#include "common/xmem.h"
#include "scheduler/core_int.h"

/* ---- limits shared by runs ---- */

/* The pool kind:name of project, made on first use. */
static cpool *pool_of(core *c, const char *project, char kind, const char *name)
{
    char *key = xasprintf("%s%c%s", project, kind, name);
    cpool *p = strmap_get(c->pools, key);
    if (!p) {
        p = xcalloc(1, sizeof *p);
        strmap_put(c->pools, key, p);
    }
    free(key);
    return p;
}

void core_run_pools(core *c, crun *r)
{
    const dag *g = r->g;
    /* Every run of a workflow counts, whether its own file declares a concurrency or not. */
    r->wf_pool = pool_of(c, r->proj->name, '\x1e', g->name);
    for (size_t i = 0; g->nlimits && i < g->ntasks; i++) {
        if (!g->tasks[i].pool)
            continue;
        if (!r->pool)
            r->pool = xcalloc(g->ntasks, sizeof *r->pool);
        r->pool[i] = pool_of(c, r->proj->name, '\x1f', g->tasks[i].pool);
    }
}

void core_inflight_add(crun *r, int slot, int delta)
{
    cpool *p = r->pool ? r->pool[r->t[slot].task] : NULL;
    size_t *counts[] = {&r->inflight, &r->proj->inflight, r->wf_pool ? &r->wf_pool->inflight
                        : NULL, p ? &p->inflight : NULL};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++)
        if (counts[i])
            *counts[i] = delta > 0 ? *counts[i] + 1 : *counts[i] - 1;
}

/* ---- ready queues ---- */

void core_enqueue(core *c, crun *r, int task)
{
    const dag_task *t = &r->g->tasks[r->t[task].task];
    const char *place = t->place ? t->place : t->type;
    tqueue *q = strmap_get(r->queues, place);
    if (!q) {
        /* The place holds the task's own priority and its pool: the queue's tasks share
         * both (see dag_task.place). */
        q = xcalloc(1, sizeof *q);
        q->own = t->has_priority;
        q->prio = t->priority;
        q->pool = r->pool ? r->pool[r->t[task].task] : NULL;
        q->limit = q->pool ? res_get(r->g->limits, r->g->nlimits, t->pool) : 0;
        strmap_put(r->queues, place, q);
    }
    if (q->head == q->tail)
        q->head = q->tail = 0;
    else if (q->head > q->cap / 2) {
        memmove(q->v, q->v + q->head, (q->tail - q->head) * sizeof *q->v);
        q->tail -= q->head;
        q->head = 0;
    }
    xgrow(&q->v, &q->cap, q->tail + 1, sizeof *q->v);
    q->v[q->tail++] = (qentry){c->ready_seq++, c->now_us, task};
    c->nready++;
    r->nready++;
    /* Keyed by its attempts so far: a dispatch since ends this wait. */
    if (t->schedule_timeout_ms > 0)
        core_heap_push(c, (timer){c->now_us + t->schedule_timeout_ms * 1000, r->id, task,
                                  r->t[task].attempts + 1u});
}

void core_defer_deadline(core *c, timer t)
{
    xgrow(&c->deadlines, &c->capdeadlines, c->ndeadlines + 1, sizeof *c->deadlines);
    c->deadlines[c->ndeadlines++] = t;
}

/* Fails task unschedulable if it still waits as it did when its timer was armed: 1, else 0. */
static int schedule_deadline(core *c, crun *r, int task, uint64_t armed, int64_t now,
                             core_effects *fx)
{
    const ctask *ct = &r->t[task];
    const dag_task *t = &r->g->tasks[ct->task];
    const tqueue *q = strmap_get(r->queues, t->place ? t->place : t->type);
    if (r->stop_class || ct->state != TS_READY || ct->looking || ct->attempts + 1u != armed ||
        !q || q->head == q->tail)
        return 0; /* it started (or ended) since: this wait is over */
    char why[700], reason[400], dur[32];
    if (!core_unplaceable(c, t, reason, sizeof reason) &&
        !core_held_back(r, q, reason, sizeof reason))
        snprintf(reason, sizeof reason, "no worker that could run it had room");
    snprintf(why, sizeof why, "not started within its schedule_timeout of %s: %s",
             units_format_ms(t->schedule_timeout_ms, dur, sizeof dur), reason);
    core_task_failed(c, r, task, ERRC_UNSCHEDULABLE, why, NULL, 0, now, fx);
    core_maybe_finish_run(c, r, fx);
    return 1;
}

int core_fire_deadlines(core *c, int64_t now, core_effects *fx)
{
    int failed = 0;
    for (size_t i = 0; i < c->ndeadlines; i++) {
        const timer *t = &c->deadlines[i];
        crun *r = u64map_get(c->runs, t->run);
        if (r)
            failed += schedule_deadline(c, r, t->task, t->attempt, now, fx);
    }
    c->ndeadlines = 0;
    return failed;
}

/* ---- dispatch ---- */

/* The worker for an attempt of t: one it fits (core_fits) with credits, the one with the
 * most free slots, then the most credits. */
static cworker *pick_worker(core *c, const dag_task *t)
{
    cworker *best = NULL;
    uint32_t best_free = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        cworker *w = c->workers[i];
        uint32_t f = core_free_slots(w);
        if (!core_may_take(w, t->timeout_ms > 0) || !core_fits(w, t, 1))
            continue;
        if (!best || f > best_free || (f == best_free && w->credits > best->credits)) {
            best = w;
            best_free = f;
        }
    }
    return best;
}

static void dispatch_one(core *c, crun *r, int task, cworker *w, int64_t ready_us, int64_t now,
                         core_effects *fx)
{
    char why[512];
    json_t *inputs = core_unit_inputs(r, task, why, sizeof why);
    ctask *ct = &r->t[task];
    if (!inputs) {
        /* Deterministic: no attempt is made, and a retry could not help. */
        core_task_failed(c, r, task, ERRC_FATAL, why, NULL, 0, now, fx);
        core_maybe_finish_run(c, r, fx);
        return;
    }
    cattempt *a = xcalloc(1, sizeof *a);
    a->id = c->next_attempt++;
    a->run = r;
    core_inflight_add(r, task, 1);
    a->task = task;
    a->no = ++ct->attempts;
    u64map_put(c->attempts, a->id, a);
    ct->state = TS_RUNNING;
    ct->attempt_id = a->id;
    core_send_attempt(fx, FX_DISPATCH, a, w, inputs, now, ready_us);
    core_arm_attempt_deadline(c, r, task, a->id, now);
}

static int any_credits(const core *c)
{
    for (size_t i = 0; i < c->nworkers; i++)
        if (c->workers[i]->credits)
            return 1;
    return 0;
}

int core_held_back(const crun *r, const tqueue *q, char *why, size_t n)
{
    const cproject *p = r->proj;
    const char *pool = q->pool ? r->g->tasks[r->t[q->v[q->head].task].task].pool : NULL;
    if (q->pool && q->pool->inflight >= q->limit)
        snprintf(why, n, "pool '%s' is at its limit (%llu in flight)", pool,
                 (unsigned long long)q->limit);
    else if (r->g->concurrency && r->wf_pool->inflight >= r->g->concurrency)
        snprintf(why, n, "workflow %s is at its concurrency (%u in flight)", r->g->name,
                 r->g->concurrency);
    else if (p->max_inflight && p->inflight >= p->max_inflight)
        snprintf(why, n, "project %s is at its max-inflight (%zu in flight)", p->name,
                 p->max_inflight);
    else
        return 0;
    return 1;
}

#define PLACES_SEEN 32

/* The worker for the head of a queue of place: pick_worker's, asked once per place (and
 * whether the task has a timeout, which pick_worker also weighs) in a gather: runs of one
 * workflow share their places. */
typedef struct places_seen {
    const char *place[PLACES_SEEN];
    int timed[PLACES_SEEN];
    cworker *w[PLACES_SEEN];
    size_t n;
} places_seen;

static cworker *worker_for(core *c, places_seen *ps, const char *place, const dag_task *t)
{
    int timed = t->timeout_ms > 0;
    for (size_t i = 0; i < ps->n; i++)
        if (ps->timed[i] == timed && !strcmp(ps->place[i], place))
            return ps->w[i];
    cworker *w = pick_worker(c, t);
    if (ps->n < PLACES_SEEN) {
        ps->place[ps->n] = place;
        ps->timed[ps->n] = timed;
        ps->w[ps->n++] = w;
    }
    return w;
}

/* The heads some worker can take now, each with that worker, into c->cands; the highest
 * priority among them into *top. */
static void gather(core *c, int *top)
{
    places_seen ps = {.n = 0};
    c->ncands = 0;
    size_t pos = 0;
    uint64_t id;
    void *v;
    while (u64map_next(c->runs, &pos, &id, &v)) {
        crun *r = v;
        size_t qpos = 0;
        const char *place;
        void *qv;
        while (r->nready && strmap_next(r->queues, &qpos, &place, &qv)) {
            tqueue *q = qv;
            if (q->head == q->tail || core_held_back(r, q, NULL, 0))
                continue;
            cworker *w = worker_for(c, &ps, place,
                                    &r->g->tasks[r->t[q->v[q->head].task].task]);
            if (!w)
                continue;
            int prio = q->own ? q->prio : r->proj->priority;
            if (!c->ncands || prio > *top)
                *top = prio;
            xgrow(&c->cands, &c->capcands, c->ncands + 1, sizeof *c->cands);
            c->cands[c->ncands++] = (candidate){r, q, w, prio};
        }
    }
}

/* 1 when a goes before b (see the top of this file). */
static int before(const candidate *a, const candidate *b)
{
    if (a->level != b->level)
        return a->level > b->level;
    if (a->r->inflight != b->r->inflight)
        return a->r->inflight < b->r->inflight;
    return a->q->v[a->q->head].seq < b->q->v[b->q->head].seq;
}

void core_dispatch(core *c, int64_t now, core_effects *fx)
{
    while (c->nready && any_credits(c)) {
        int top = 0;
        gather(c, &top);
        candidate *best = NULL;
        for (size_t i = 0; i < c->ncands; i++) {
            candidate *k = &c->cands[i];
            if (k->level < top) { /* aging raises it, never above the top */
                int64_t waited = now - k->q->v[k->q->head].ready_us;
                int64_t up = c->aging_us > 0 && waited > 0 ? waited / c->aging_us : 0;
                k->level = up >= top - k->level ? top : k->level + (int)up;
            }
            if (!best || before(k, best))
                best = k;
        }
        if (!best)
            return;
        crun *r = best->r;
        qentry qe = best->q->v[best->q->head++];
        c->nready--;
        r->nready--;
        if (r->t[qe.task].state == TS_READY)
            dispatch_one(c, r, qe.task, best->w, qe.ready_us, now, fx);
    }
}

void core_set_aging(core *c, int64_t us)
{
    c->aging_us = us;
}
