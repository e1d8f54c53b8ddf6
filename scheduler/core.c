/* core: the pure run state machine. See core.h.
 *
 * Includes none of uv.h, zmq.h or sqlite3.h, by design. */
#include "scheduler/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "common/strmap.h"
#include "common/u64map.h"
#include "common/xmem.h"
#include "scheduler/core_int.h"

static const char *const task_state_names[TS__COUNT] = {
    "pending", "ready",  "running", "retry_wait", "waiting", "succeeded",
    "failed",  "skipped", "cancelled", "caught",   "not_run"};

const char *core_task_state_name(int s)
{
    return s >= 0 && s < TS__COUNT ? task_state_names[s] : "unknown";
}

const char *core_source_name(int src)
{
    static const char *const names[SRC__COUNT] = {"computed", "cache", "in-flight"};
    return src >= 0 && src < SRC__COUNT ? names[src] : "unknown";
}

const char *core_run_state_name(int s)
{
    static const char *const names[] = {"running", "succeeded", "failed", "cancelled"};
    return s >= RS_RUNNING && s <= RS_CANCELLED ? names[s] : "unknown";
}

/* ---- effects ---- */

/* Room for this many effects is kept between turns; a turn that made more (a cancel of a
 * 100,000-task run: 176 B each) gives its room back. */
#define FX_KEPT 4096

core_effect *core_emit(core_effects *fx, enum core_fx_kind kind)
{
    xgrow(&fx->v, &fx->cap, fx->n + 1, sizeof *fx->v);
    core_effect *e = &fx->v[fx->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->elem = -1;
    return e;
}

void core_effects_clear(core_effects *fx)
{
    for (size_t i = 0; i < fx->n; i++) {
        free(fx->v[i].message);
        free(fx->v[i].worker);
        free(fx->v[i].key);
        free(fx->v[i].source_task);
        json_decref(fx->v[i].json);
        json_decref(fx->v[i].inputs);
    }
    fx->n = 0;
    xtrim(&fx->v, &fx->cap, FX_KEPT);
}

void core_effects_free(core_effects *fx)
{
    core_effects_clear(fx);
    free(fx->v);
    memset(fx, 0, sizeof *fx);
}

core_effect *core_emit_unit(core_effects *fx, enum core_fx_kind kind, const crun *r, int slot)
{
    core_effect *e = core_emit(fx, kind);
    e->run_id = r->id;
    e->task = r->t[slot].task;
    e->elem = r->t[slot].elem;
    return e;
}

core_effect *core_emit_task(core_effects *fx, const crun *r, int task, int state)
{
    core_effect *e = core_emit_unit(fx, FX_TASK_STATE, r, task);
    e->state = state;
    return e;
}

core_effect core_effect_unit(const core_effect *e, uint32_t k)
{
    core_effect one = *e;
    one.more = 0;
    if (e->elem < 0)
        one.task = e->task + (int)k;
    else
        one.elem = e->elem + (int)k;
    return one;
}

/* slot of r became ready: the last effect counts it when it says the unit before it did. */
static void emit_ready(core_effects *fx, const crun *r, int slot)
{
    core_effect *last = fx->n ? &fx->v[fx->n - 1] : NULL;
    const ctask *t = &r->t[slot];
    if (last && last->kind == FX_TASK_STATE && last->state == TS_READY && last->run_id == r->id &&
        !last->message && !last->json && !last->inputs && last->more < INT32_MAX &&
        (t->elem < 0 ? last->elem < 0 && last->task + (int64_t)last->more + 1 == t->task
                     : last->elem >= 0 && last->task == t->task &&
                           last->elem + (int64_t)last->more + 1 == t->elem)) {
        last->more++;
        return;
    }
    core_emit_task(fx, r, slot, TS_READY);
}

/* ---- slots ---- */

size_t core_add_slots(crun *r, size_t n)
{
    size_t first = r->nslots, cap = r->capslots;
    /* A run's tasks come at once, exactly; a map's elements after them, doubling. */
    void (*grow)(void *, size_t *, size_t, size_t) = first ? xgrow : xreserve;
    grow(&r->t, &r->capslots, first + n, sizeof *r->t);
    grow(&r->outputs, &cap, first + n, sizeof *r->outputs);
    memset(r->t + first, 0, n * sizeof *r->t);
    memset(r->outputs + first, 0, n * sizeof *r->outputs);
    r->nslots += n;
    return first;
}

int core_slot(const crun *r, int task, int elem)
{
    if (task < 0 || (size_t)task >= r->g->ntasks)
        return -1;
    if (elem < 0)
        return task;
    const cmap *m = r->t[task].map;
    return m && (size_t)elem < m->n ? (int)(m->first + (size_t)elem) : -1;
}

void core_unit_name(const crun *r, int slot, char *buf, size_t n)
{
    dag_unit_name(r->g, r->t[slot].task, r->t[slot].elem, buf, n);
}

json_t *core_unit_inputs(const crun *r, int slot, char *why, size_t n)
{
    const ctask *t = &r->t[slot];
    const cmap *m = t->elem >= 0 ? r->t[t->task].map : NULL;
    dag_scope sc = {r->outputs, m ? json_array_get(m->items, (size_t)t->elem) : NULL,
                    m ? t->elem : -1, NULL};
    return dag_resolve_inputs(r->g, (size_t)t->task, &sc, why, n);
}

/* ---- construction ---- */

core *core_new(uint64_t next_attempt_id, uint64_t seed)
{
    core *c = xcalloc(1, sizeof *c);
    c->runs = u64map_new();
    c->attempts = u64map_new();
    c->inflight = strmap_new();
    c->projects = strmap_new();
    c->pools = strmap_new();
    c->aging_us = CORE_AGING_US;
    c->next_attempt = next_attempt_id ? next_attempt_id : 1;
    /* A restored attempt fails as lost when no worker claims it within the grace period of
     * its dispatch, but never sooner than the claim window after the restart (time for
     * the workers to register again). */
    c->orphan_grace_us = 5000000;
    c->orphan_claim_us = 2000000;
    c->attempt_grace_us = CORE_ATTEMPT_GRACE_US;
    c->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
    c->no_outputs = json_object();
    return c;
}

json_t *core_kept_outputs(core *c, json_t *outputs)
{
    int none = !outputs || (json_is_object(outputs) && !json_object_size(outputs));
    return json_incref(none ? c->no_outputs : outputs);
}

static void free_queues(strmap **qs)
{
    size_t pos = 0;
    const char *name;
    void *v;
    while (strmap_next(*qs, &pos, &name, &v)) {
        free(((tqueue *)v)->v);
        free(v);
    }
    strmap_destroy(qs);
}

static void free_run(crun *r)
{
    free_queues(&r->queues);
    free(r->stop_reason);
    for (size_t i = 0; i < r->nslots; i++) {
        free(r->t[i].key);
        core_map_free(r->t[i].map);
        json_decref(r->outputs[i]);
    }
    free(r->outputs);
    free(r->t);
    free(r->pool);
    dag_free(r->g);
    free(r);
}

void core_destroy(core **cp)
{
    if (!cp || !*cp)
        return;
    core *c = *cp;
    size_t pos = 0;
    uint64_t k;
    void *v;
    while (u64map_next(c->runs, &pos, &k, &v))
        free_run(v);
    pos = 0;
    while (u64map_next(c->attempts, &pos, &k, &v)) {
        free(((cattempt *)v)->orphan_of);
        free(v);
    }
    const char *name;
    pos = 0;
    while (strmap_next(c->inflight, &pos, &name, &v)) {
        free(((inflight *)v)->waiters);
        free(v);
    }
    strmap_destroy(&c->inflight);
    pos = 0;
    while (strmap_next(c->projects, &pos, &name, &v)) {
        free(((cproject *)v)->name);
        free(v);
    }
    strmap_destroy(&c->projects);
    strmap_destroy_free(&c->pools);
    free(c->cands);
    free(c->deadlines);
    for (size_t i = 0; i < c->nsettles; i++)
        free(c->settles[i].key);
    free(c->settles);
    for (size_t i = 0; i < c->nworkers; i++)
        core_free_worker(c->workers[i]);
    for (size_t i = 0; i < c->nended; i++)
        free_run(c->ended[i]);
    free(c->ended);
    free(c->orphans);
    free(c->workers);
    free(c->heap);
    u64map_destroy(&c->runs);
    u64map_destroy(&c->attempts);
    json_decref(c->no_outputs);
    free(c);
    *cp = NULL;
}

/* ---- random numbers (xorshift64*): deterministic for a given seed ---- */

static double next_unit(core *c)
{
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return (double)((c->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

int64_t core_backoff_ms(const dag_retry *r, int n, double u)
{
    double d = (double)r->interval_ms * pow(r->backoff_rate, n > 1 ? n - 1 : 0);
    if (d > (double)r->max_delay_ms)
        d = (double)r->max_delay_ms;
    if (r->jitter_full)
        d *= u;
    return (int64_t)d;
}

/* ---- ready queues and timers ---- */

void core_requeue_ready(core *c, crun *r, int task, core_effects *fx)
{
    const dag_task *dt = &r->g->tasks[r->t[task].task];
    r->t[task].state = TS_READY;
    if (dt->cache_version && !r->stop_class && core_lookup(r, task, fx))
        return;
    core_enqueue(c, r, task);
}

void core_make_ready(core *c, crun *r, int task, core_effects *fx)
{
    const dag_task *dt = &r->g->tasks[r->t[task].task];
    if (r->t[task].elem < 0 && core_when_skips(c, r, task, fx))
        return;
    if (dt->map && r->t[task].elem < 0) {
        core_map_expand(c, r, task, fx);
        return;
    }
    if (dt->kind == DK_APPROVE) {
        core_approval_wait(c, r, task, fx);
        return;
    }
    if (dt->kind == DK_ENTRY || dt->kind == DK_EXIT) {
        core_pass(c, r, task, fx);
        return;
    }
    emit_ready(fx, r, task);
    core_requeue_ready(c, r, task, fx);
}

void core_heap_push(core *c, timer t)
{
    xgrow(&c->heap, &c->capheap, c->nheap + 1, sizeof *c->heap);
    size_t i = c->nheap++;
    while (i > 0 && c->heap[(i - 1) / 2].due_us > t.due_us) {
        c->heap[i] = c->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->heap[i] = t;
}

static timer heap_pop(core *c)
{
    timer top = c->heap[0], last = c->heap[--c->nheap];
    size_t i = 0, n = c->nheap;
    if (!n)
        return top;
    for (;;) {
        size_t m = 2 * i + 1;
        if (m >= n)
            break;
        if (m + 1 < n && c->heap[m + 1].due_us < c->heap[m].due_us)
            m++;
        if (c->heap[m].due_us >= last.due_us)
            break;
        c->heap[i] = c->heap[m];
        i = m;
    }
    c->heap[i] = last;
    return top;
}

/* ---- run progress ---- */

void core_end_task(core *c, crun *r, int task, int state)
{
    ctask *t = &r->t[task];
    WEFT_ASSERT(t->state < TS_SUCCEEDED);
    if (t->elem >= 0) {
        /* An element: its mapped task keeps count, and decides the run's outcome. */
        cmap *m = r->t[t->task].map;
        m->active -= t->state != TS_PENDING;
        m->nended++;
        m->nok += state == TS_SUCCEEDED;
    } else {
        WEFT_ASSERT(r->nleft > 0);
        r->nleft--;
        if (state == TS_FAILED) /* a task skipped by a failure comes with that failure */
            r->failed = 1;
    }
    r->t[task].state = (uint8_t)state;
    r->t[task].looking = 0;
    if (r->t[task].key) {
        xgrow(&c->settles, &c->capsettles, c->nsettles + 1, sizeof *c->settles);
        c->settles[c->nsettles++] = (settle){{r->id, task}, r->t[task].key};
        r->t[task].key = NULL;
    }
}

int core_fate(const crun *r, int p, int ch)
{
    int handler = r->g->tasks[ch].catch_of == p;
    /* A subworkflow's exit waits for everything inside; a failure caught there (and what it
     * left not run) ends the inside, and what the exit reads decides. */
    if (r->g->tasks[ch].kind == DK_EXIT &&
        (r->t[p].state == TS_CAUGHT || r->t[p].state == TS_NOT_RUN))
        return 0;
    switch (r->t[p].state) {
    case TS_SUCCEEDED:
        return handler ? TS_NOT_RUN : 0;
    case TS_CAUGHT:
        return handler ? 0 : TS_NOT_RUN;
    case TS_NOT_RUN:
        return TS_NOT_RUN;
    case TS_SKIPPED:
        if (r->t[p].by_when) /* ordering is satisfied; what it reads decides (core_when.c) */
            return handler ? TS_NOT_RUN : 0;
        return TS_SKIPPED;
    default: /* failed, cancelled */
        return TS_SKIPPED;
    }
}

void core_settle_children(core *c, crun *r, int task, core_effects *fx)
{
    if (r->t[task].elem >= 0) {
        core_map_advance(c, r, r->t[task].task, fx);
        return;
    }
    const dag_task *t = &r->g->tasks[task];
    for (size_t k = 0; k < t->nchildren; k++) {
        int ch = t->children[k];
        if (r->t[ch].state != TS_PENDING)
            continue;
        int fate = core_fate(r, task, ch);
        if (!fate) {
            WEFT_ASSERT(r->t[ch].waiting > 0);
            if (--r->t[ch].waiting == 0)
                core_make_ready(c, r, ch, fx);
            continue;
        }
        core_end_task(c, r, ch, fate);
        core_effect *e = core_emit_task(fx, r, ch, fate);
        e->message = fate == TS_SKIPPED ? xasprintf("upstream task '%s' did not succeed", t->name)
                                        : xasprintf("not needed: '%s' %s", t->name,
                                                    core_task_state_name(r->t[task].state));
        core_settle_children(c, r, ch, fx);
    }
}

void core_maybe_finish_run(core *c, crun *r, core_effects *fx)
{
    if (r->nleft)
        return;
    core_effect *e = core_emit(fx, FX_RUN_STATE);
    e->run_id = r->id;
    e->state = r->stop_class == ERRC_CANCELLED ? RS_CANCELLED
               : r->stop_class || r->failed    ? RS_FAILED /* a timeout fails the run */
                                               : RS_SUCCEEDED;
    if (r->stop_class) {
        e->message = xstrdup(r->stop_reason);
    } else if (r->failed) {
        size_t nfailed = 0;
        for (size_t i = 0; i < r->g->ntasks; i++)
            nfailed += r->t[i].state == TS_FAILED;
        e->message = xasprintf("%zu of %zu tasks failed", nfailed, r->g->ntasks);
    }
    /* The shell still reads the run's dag while applying this step's effects; free it at
     * the start of the next step. Its queue holds no task that could still start. */
    c->nready -= r->nready;
    r->nready = 0;
    r->proj->runs--;
    u64map_del(c->runs, r->id);
    xgrow(&c->ended, &c->capended, c->nended + 1, sizeof *c->ended);
    c->ended[c->nended++] = r;
}

void core_task_succeeded(core *c, crun *r, int task, json_t *outputs, int source,
                         uint64_t source_run, const char *source_task, core_effects *fx)
{
    char *key = r->t[task].key && source == SRC_COMPUTED ? xstrdup(r->t[task].key) : NULL;
    core_end_task(c, r, task, TS_SUCCEEDED);
    r->outputs[task] = core_kept_outputs(c, outputs);
    core_effect *e = core_emit_task(fx, r, task, TS_SUCCEEDED);
    e->json = json_incref(r->outputs[task]);
    e->key = key;
    e->source = source;
    e->source_run = source_run;
    e->source_task = source_task ? xstrdup(source_task) : NULL;
    core_settle_children(c, r, task, fx);
}

void core_task_failed(core *c, crun *r, int task, int cls, const char *msg,
                      const char *log, int retryable, int64_t now, core_effects *fx)
{
    ctask *ct = &r->t[task];
    const dag_task *dt = &r->g->tasks[ct->task];
    const dag_retry *rt = &dt->retry;
    core_effect *e = core_emit_task(fx, r, task, TS_FAILED); /* state settled below */
    e->errclass = cls;
    e->message = xstrdup(msg ? msg : "");
    if (r->stop_class)
        e->errclass = cls = r->stop_class;
    if (retryable && !r->stop_class && (rt->on & (1u << cls)) && ct->attempts < rt->max_attempts) {
        int64_t delay = core_backoff_ms(rt, ct->attempts, rt->jitter_full ? next_unit(c) : 1.0);
        ct->state = TS_RETRY_WAIT;
        e->state = TS_RETRY_WAIT;
        e->due_us = now + delay * 1000;
        core_heap_push(c, (timer){e->due_us, r->id, task, 0});
        return;
    }
    if (ct->elem >= 0 && !r->stop_class) {
        /* The mapped task reports its first failed element. */
        cmap *m = r->t[ct->task].map;
        if (!m->err) {
            char name[300];
            core_unit_name(r, task, name, sizeof name);
            m->err = xasprintf("%s: %s", name, e->message);
            m->err_class = cls;
        }
    }
    if (!r->stop_class && ct->elem < 0 && dt->catch_next >= 0 && (dt->catch_on & (1u << cls))) {
        /* Caught: the handler gets the error as ${task.error.message} and .class. */
        json_decref(r->outputs[task]);
        r->outputs[task] = json_pack("{s:s, s:s, s:s}", "error.message", e->message,
                                     "error.class", errclass_name(cls), "error.log",
                                     log ? log : "");
        e->state = TS_CAUGHT;
        e->json = json_incref(r->outputs[task]);
    } else {
        e->state = r->stop_class ? TS_CANCELLED : TS_FAILED;
    }
    core_end_task(c, r, task, e->state);
    core_settle_children(c, r, task, fx);
}

/* ---- events ---- */

crun *core_new_run(core *c, uint64_t id, dag *g, const char *project)
{
    crun *r = xcalloc(1, sizeof *r);
    r->id = id;
    r->g = g;
    r->proj = core_project(c, project);
    r->proj->runs++;
    core_run_pools(c, r);
    r->queues = strmap_new();
    r->nleft = g->ntasks;
    core_add_slots(r, g->ntasks);
    for (size_t i = 0; i < g->ntasks; i++) {
        r->t[i].task = (int32_t)i;
        r->t[i].elem = -1;
    }
    WEFT_ASSERT(!u64map_get(c->runs, r->id));
    u64map_put(c->runs, r->id, r);
    return r;
}

static void on_submit(core *c, const core_event *ev, core_effects *fx)
{
    crun *r = core_new_run(c, ev->run_id, ev->dag, ev->project);
    core_arm_deadline(c, r, ev->now_us);
    for (size_t i = 0; i < r->g->ntasks; i++)
        r->t[i].waiting = (uint32_t)r->g->tasks[i].nparents;
    /* The roots: a task a root's when skips lets its children go on at once. */
    for (size_t i = 0; i < r->g->ntasks; i++)
        if (!r->g->tasks[i].nparents && r->t[i].state == TS_PENDING)
            core_make_ready(c, r, (int)i, fx);
    core_maybe_finish_run(c, r, fx);
}

/* Ends an attempt the core was waiting for, returning its credit to the worker. ev is the
 * result that ended it, or NULL when it ended otherwise (its worker was lost). */
void core_attempt_ended(core *c, cattempt *a, int ok, int cls, const char *msg,
                        const core_event *ev, int64_t now, core_effects *fx)
{
    u64map_del(c->attempts, a->id);
    free(a->orphan_of);
    core_inflight_add(a->run, a->task, -1);
    if (a->w)
        core_worker_give_back(a->w, a);
    core_effect *e = core_emit_unit(fx, FX_ATTEMPT_END, a->run, a->task);
    e->attempt_id = a->id;
    e->attempt_no = a->no;
    e->ok = ok;
    e->errclass = ok ? ERRC_NONE : cls;
    e->message = ok ? NULL : xstrdup(msg ? msg : "");
    e->started_us = ev ? ev->started_us : 0;
    e->finished_us = ev ? ev->finished_us : 0;
    e->peak_mem_bytes = ev ? ev->peak_mem_bytes : 0;
    e->cpu_us = ev ? ev->cpu_us : 0;
    e->due_us = a->dispatched_us;
    crun *r = a->run;
    int task = a->task;
    free(a);
    r->t[task].attempt_id = 0;
    if (ok)
        core_task_succeeded(c, r, task, ev ? ev->outputs : NULL, SRC_COMPUTED, 0, NULL, fx);
    else
        core_task_failed(c, r, task, cls, msg, ev ? ev->log_tail : NULL, 1, now, fx);
    core_maybe_finish_run(c, r, fx);
}

static void on_result(core *c, const core_event *ev, core_effects *fx)
{
    cattempt *a = u64map_get(c->attempts, ev->attempt_id);
    if (!a) {
        /* Stale; but if its worker had it as an untracked attempt, its slot is free now. */
        cworker *w = ev->worker ? core_find_worker(c, ev->worker, NULL) : NULL;
        if (w)
            core_untracked_ended(w, ev->attempt_id);
        core_effect *e = core_emit(fx, FX_STALE);
        e->attempt_id = ev->attempt_id;
        e->ok = ev->ok;
        e->errclass = ev->errclass;
        e->message = xstrdup(ev->ok ? "" : ev->message ? ev->message : "");
        return;
    }
    int cls = ev->errclass > 0 && ev->errclass < ERRC__COUNT ? ev->errclass : ERRC_FATAL;
    core_attempt_ended(c, a, ev->ok, cls, ev->message, ev, ev->now_us, fx);
}

static void on_tick(core *c, int64_t now, core_effects *fx)
{
    core_say_waiting(c, now, fx);
    while (c->nheap && c->heap[0].due_us <= now) {
        timer t = heap_pop(c);
        crun *r = u64map_get(c->runs, t.run);
        if (r && t.task == RUN_DEADLINE)
            core_run_deadline(c, r, now, fx);
        else if (r && t.task == ATTEMPT_DEADLINE)
            core_attempt_deadline(c, t.attempt, now, fx);
        else if (r && t.attempt == APPROVAL_TIMER)
            core_approval_expired(c, r, t.task, fx);
        else if (r && t.attempt) /* after this step's dispatch: a worker may take it now */
            core_defer_deadline(c, t);
        else if (r && r->t[t.task].state == TS_RETRY_WAIT)
            core_make_ready(c, r, t.task, fx);
    }
}

/* A tick later than this, or a wall clock stepped ahead by more since the last tick, was not
 * heard in time; a step of more than this either way moves the timers (note_clock). A loop
 * under load comes round within a turn's slice (20 ms) and may be late by that much: its
 * workers then get their one more interval too, which costs a lost one's detection an
 * interval at most. */
#define TICK_LATE_US 10000

/* Moves every timer (retries, timeouts, approvals' waits), restored attempt's deadline and
 * queued task's ready time by a step of the wall clock, so each still comes as long after
 * its start as it was meant to: a clock stepped ahead would time tasks and runs out early,
 * one stepped back would hold retries for as long as the step. The heap keeps its order:
 * every timer moves the same. */
static void shift_timers(core *c, int64_t step)
{
    for (size_t i = 0; i < c->nheap; i++)
        c->heap[i].due_us += step;
    for (size_t i = 0; i < c->norphans; i++) {
        cattempt *a = u64map_get(c->attempts, c->orphans[i]);
        if (a && !a->w)
            a->orphan_deadline += step;
    }
    size_t pos = 0, qpos;
    uint64_t id;
    const char *place;
    void *run, *queue;
    while (u64map_next(c->runs, &pos, &id, &run))
        for (qpos = 0; strmap_next(((crun *)run)->queues, &qpos, &place, &queue);) {
            tqueue *q = queue;
            for (size_t k = q->head; k < q->tail; k++)
                q->v[k].ready_us += step;
        }
}

/* Notes how far the wall clock was stepped since the last event (its advance less the
 * monotonic clock's, both read together as each event is stepped; NTP, a resumed VM), and
 * moves the timers by a step of more than TICK_LATE_US either way: from here on, ev and
 * the events after it are told in the stepped clock. */
static void note_clock(core *c, const core_event *ev)
{
    if (!ev->mono_us)
        return;
    if (c->clock_mono_us) {
        int64_t step =
            (ev->wall_us - c->clock_wall_us) - (ev->mono_us - c->clock_mono_us);
        if (step > TICK_LATE_US || step < -TICK_LATE_US) {
            shift_timers(c, step);
            c->stepped_us += step;
        }
    }
    c->clock_wall_us = ev->wall_us;
    c->clock_mono_us = ev->mono_us;
}

/* The time after which w, still silent, is lost. */
static int64_t lost_after(const cworker *w)
{
    int64_t t = w->last_seen_us + 3 * w->heartbeat_us;
    return w->grace_until_us > t ? w->grace_until_us : t;
}

/* Workers not heard from for three heartbeat intervals are lost. Only on EV_TICK: the shell
 * reads every message that arrived before it ticks, so a scheduler that was itself stalled
 * (a blocked disk, a stopped process) hears the heartbeats that queued meanwhile first.
 * Those still in the kernel when a stopped process resumes may not have reached it yet: a
 * tick that was not heard in time gives each worker one more interval, heard, to speak, once
 * for each silence (ticks that keep coming late put a dead worker's loss off by one
 * interval, no more). A wall clock stepped back leaves no worker heard from later than now:
 * it would go unjudged for as long as the step. */
static void check_heartbeats(core *c, int64_t now, int64_t unheard, core_effects *fx)
{
    for (size_t i = 0; i < c->nworkers; i++) {
        cworker *w = c->workers[i];
        if (w->last_seen_us > now)
            w->last_seen_us = now;
        if (unheard > TICK_LATE_US && !w->grace_until_us)
            w->grace_until_us = now + w->heartbeat_us;
    }
    for (size_t i = 0; i < c->nworkers;) {
        cworker *w = c->workers[i];
        if (now > lost_after(w)) {
            char why[256];
            snprintf(why, sizeof why, "worker '%s' lost: no heartbeat for %.1fs", w->name,
                     (double)(now - w->last_seen_us) / 1e6);
            core_worker_lost(c, i, why, now, fx);
        } else {
            i++;
        }
    }
}

void core_step(core *c, const core_event *ev, core_effects *fx)
{
    size_t idx;
    cworker *w;
    for (size_t i = 0; i < c->nended; i++)
        free_run(c->ended[i]);
    c->nended = 0;
    c->now_us = ev->now_us;
    note_clock(c, ev);
    switch (ev->kind) {
    case EV_RUN_SUBMITTED:
        on_submit(c, ev, fx);
        break;
    case EV_WORKER_JOINED:
        core_on_worker_joined(c, ev, fx);
        break;
    case EV_HEARTBEAT:
        if ((w = core_find_worker(c, ev->worker, NULL))) {
            w->last_seen_us = ev->now_us;
            w->grace_until_us = 0;
        }
        break;
    case EV_WORKER_LOST:
        if (core_find_worker(c, ev->worker, &idx)) {
            char why[256];
            snprintf(why, sizeof why, "worker '%s' lost", ev->worker);
            core_worker_lost(c, idx, why, ev->now_us, fx);
        }
        break;
    case EV_RESULT:
        on_result(c, ev, fx);
        break;
    case EV_TICK: {
        /* Workers and restored attempts are judged only on a tick, after the messages that
         * arrived (a registration claims them), and not for time the scheduler could not
         * hear: how late the tick came, or how far the clock was stepped ahead since the last
         * tick. */
        int64_t unheard = c->stepped_us > ev->late_us ? c->stepped_us : ev->late_us;
        c->stepped_us = 0;
        check_heartbeats(c, ev->now_us, unheard, fx);
        if (unheard > TICK_LATE_US)
            core_orphans_unheard(c, ev->now_us);
        core_expire_orphans(c, ev->now_us, fx);
        break;
    }
    case EV_RUN_RESTORED:
        core_on_restore(c, ev, fx);
        break;
    case EV_CANCEL:
        core_on_cancel(c, ev, fx);
        break;
    case EV_LOOKUP:
        core_on_lookup(c, ev, fx);
        break;
    case EV_SIGNAL:
        core_on_signal(c, ev, fx);
        break;
    }
    on_tick(c, ev->now_us, fx);
    core_settle_all(c, fx);
    core_dispatch(c, ev->now_us, fx);
    if (core_fire_deadlines(c, ev->now_us, fx)) { /* a catch handler may be ready */
        core_settle_all(c, fx);
        core_dispatch(c, ev->now_us, fx);
    }
}

int64_t core_next_deadline(const core *c)
{
    int64_t next = c->nheap ? c->heap[0].due_us : -1;
    for (size_t i = 0; i < c->norphans; i++) {
        const cattempt *a = u64map_get(c->attempts, c->orphans[i]);
        if (a && !a->w && (next < 0 || a->orphan_deadline < next))
            next = a->orphan_deadline;
    }
    for (size_t i = 0; i < c->nworkers; i++) {
        int64_t d = lost_after(c->workers[i]) + 1;
        if (next < 0 || d < next)
            next = d;
    }
    return next;
}
