/* sim_model: weft-sim's commit: the core's effects applied to the model of what the
 * catalogue would hold, checking the invariants listed in sim.c after every step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "common/xmem.h"
#include "sim.h"

/* ---- commit: apply the core's effects to the model, checking invariants ---- */

static void check_retry_delay(sim *s, const mrun *r, const mtask *t, const core_effect *e)
{
    int task = e->task;
    const dag_retry *rt = &r->g->tasks[task].retry;
    int64_t delay = (e->due_us - s->now) / 1000;
    int64_t bound = core_backoff_ms(rt, t->attempts, 1.0);
    if (delay < 0 || delay > bound)
        die(s, "retry delay %lld ms of run %llu task %d outside [0, %lld]", (long long)delay,
            (unsigned long long)r->id, task, (long long)bound);
    if (!rt->jitter_full && delay != bound)
        die(s, "retry delay %lld ms without jitter, expected %lld", (long long)delay,
            (long long)bound);
}

/* The model of a task, or of an element of a mapped task. */
static mtask *unit(sim *s, mrun *r, int task, int elem)
{
    mtask *t = &r->t[task];
    if (elem < 0)
        return t;
    if ((size_t)elem >= t->nelems)
        die(s, "run %llu task %d has no element %d", (unsigned long long)r->id, task, elem);
    return &t->elems[elem];
}

static int started(const mtask *t)
{
    return t->state > TS_PENDING && t->state < TS_SUCCEEDED;
}

/* Invariant 8 for a mapped task that ends in state. */
static void check_map_end(sim *s, mrun *r, const core_effect *e)
{
    const mtask *t = &r->t[e->task];
    size_t ok = 0;
    for (size_t i = 0; i < t->nelems; i++) {
        if (t->elems[i].state < TS_SUCCEEDED)
            die(s, "run %llu mapped task %d ended %s with element %zu %s",
                (unsigned long long)r->id, e->task, core_task_state_name(e->state), i,
                core_task_state_name(t->elems[i].state));
        ok += t->elems[i].state == TS_SUCCEEDED;
    }
    size_t need = dag_min_success(&r->g->tasks[e->task], t->nelems);
    if ((e->state == TS_SUCCEEDED) != (ok >= need) && e->state != TS_CANCELLED)
        die(s, "run %llu mapped task %d ended %s with %zu of %zu elements ok (need %zu)",
            (unsigned long long)r->id, e->task, core_task_state_name(e->state), ok, t->nelems,
            need);
    const char *port;
    json_t *list;
    json_object_foreach(e->state == TS_SUCCEEDED ? e->json : NULL, port, list)
        if (json_array_size(list) != t->nelems)
            die(s, "run %llu mapped task %d output %s has %zu entries for %zu elements",
                (unsigned long long)r->id, e->task, port, json_array_size(list), t->nelems);
}

/* Invariant 15 for state effect e of t. */
static void check_approval(sim *s, mrun *r, mtask *t, const core_effect *e)
{
    const dag_task *dt = &r->g->tasks[e->task];
    if (e->state == TS_WAITING) {
        if (dt->kind != DK_APPROVE || e->elem >= 0)
            die(s, "run %llu task %d waits, but is no approval", (unsigned long long)r->id,
                e->task);
        if (dt->timeout_ms && e->due_us != s->now + dt->timeout_ms * 1000 && !s->restarting)
            die(s, "run %llu approval %d waits until %lld, not its timeout from now",
                (unsigned long long)r->id, e->task, (long long)e->due_us);
        t->due = e->due_us;
    }
    if (dt->kind != DK_APPROVE || e->state < TS_SUCCEEDED || s->pending_cancel == r)
        return;
    int ok = e->state == TS_SUCCEEDED;
    int timed_out = (e->state == TS_FAILED || e->state == TS_CAUGHT) &&
                    e->errclass == ERRC_TIMEOUT;
    if (t->state != TS_WAITING && e->state != TS_SKIPPED && e->state != TS_NOT_RUN &&
        e->state != TS_CANCELLED)
        die(s, "run %llu approval %d ended %s without waiting", (unsigned long long)r->id,
            e->task, core_task_state_name(e->state));
    if (ok && !json_is_integer(json_object_get(e->json, "x")))
        die(s, "run %llu approval %d succeeded without its signal's values",
            (unsigned long long)r->id, e->task);
    if (timed_out && (!t->due || s->now < t->due))
        die(s, "run %llu approval %d timed out %lld ms before its deadline",
            (unsigned long long)r->id, e->task, (long long)((t->due - s->now) / 1000));
}

static void commit_task_state(sim *s, mrun *r, const core_effect *e)
{
    mtask *t = unit(s, r, e->task, e->elem);
    if (e->elem < 0 && t->elems && e->state >= TS_SUCCEEDED)
        check_map_end(s, r, e);
    if (e->state == TS_SUCCEEDED) {
        if (t->succeeded++)
            die(s, "run %llu task %d succeeded twice", (unsigned long long)r->id, e->task);
        json_decref(t->outputs);
        t->outputs = json_incref(e->json);
    }
    if (e->state == TS_RETRY_WAIT) {
        check_retry_delay(s, r, t, e);
        t->due = e->due_us;
    }
    check_approval(s, r, t, e);
    if (e->state == TS_SKIPPED)
        t->by_when = !(e->message && !strncmp(e->message, "upstream task", 13));
    if (e->state == TS_READY && t->state == TS_RETRY_WAIT && s->now < t->due)
        die(s, "run %llu task %d retried %lld ms before its due time", (unsigned long long)r->id,
            e->task, (long long)((t->due - s->now) / 1000));
    t->state = e->state;
}

/* Invariant 12 for GPUs: an attempt gets as many of w's devices as it asks for whole, or
 * one for a share of one; no device is held past its whole (a whole device's attempt shares
 * it with none). */
static void check_gpus(sim *s, int w, const dag_task *dt, const core_effect *e)
{
    uint64_t want = res_get(dt->res, dt->nres, "gpu");
    uint64_t ngpu = s->w[w].cap[2].amount / 1000;
    int bits = __builtin_popcountll(e->gpu_mask);
    if ((want >= 1000 && (bits != (int)(want / 1000) || e->gpu_milli != 1000)) ||
        (want && want < 1000 && (bits != 1 || e->gpu_milli != want)) || (!want && bits) ||
        (ngpu < 64 && (e->gpu_mask >> ngpu)))
        die(s, "task %d asks for gpu %llu; worker %s gave it devices 0x%llx at %u each",
            e->task, (unsigned long long)want, e->worker, (unsigned long long)e->gpu_mask,
            e->gpu_milli);
    for (uint64_t d = 0; d < ngpu; d++) {
        if (!(e->gpu_mask & (UINT64_C(1) << d)))
            continue;
        uint64_t used = e->gpu_milli;
        for (int i = 0; i < s->nbusy[w]; i++)
            if (s->held_gpu[w][i][0] & (UINT64_C(1) << d))
                used += s->held_gpu[w][i][1];
        if (used > 1000)
            die(s, "worker %s's GPU %llu is held %llu thousandths over by task %d",
                e->worker, (unsigned long long)d, (unsigned long long)(used - 1000), e->task);
    }
}

/* Invariant 6: the worker e is sent to has room for it; it now counts against it. */
static int take_capacity(sim *s, const dag_task *dt, const core_effect *e)
{
    int w = worker_index(s, e->worker);
    if (w < 0 || s->nbusy[w] >= s->w[w].slots + s->w[w].prefetch)
        die(s, "worker %s given more attempts than its %d slots and %d queued", e->worker,
            w < 0 ? 0 : s->w[w].slots, w < 0 ? 0 : s->w[w].prefetch);
    if (dt->timeout_ms && s->nbusy[w] >= s->w[w].slots)
        die(s, "worker %s given task %d, which has a timeout, while its %d slots are busy",
            e->worker, e->task, s->w[w].slots);
    /* Invariant 12: no worker holds more of any resource than it offers, and each attempt
     * goes to a worker that carries its task's labels. */
    const sworker *sw = &s->w[w];
    for (int k = 0; k < 3; k++) {
        uint64_t want = res_get(dt->res, dt->nres, sw->cap[k].name), sum = want;
        for (int i = 0; i < s->nbusy[w]; i++)
            sum += s->held_res[w][i][k];
        if (sum > sw->cap[k].amount)
            die(s, "worker %s given task %d (%s %llu) holding %llu of its %llu %s", e->worker,
                e->task, sw->cap[k].name, (unsigned long long)want,
                (unsigned long long)(sum - want), (unsigned long long)sw->cap[k].amount,
                sw->cap[k].name);
        s->held_res[w][s->nbusy[w]][k] = want;
    }
    for (size_t i = 0; i < dt->nlabels; i++)
        if (!sw->label || strcmp(sw->label, dt->labels[i]))
            die(s, "worker %s given task %d, which needs label %s", e->worker, e->task,
                dt->labels[i]);
    check_gpus(s, w, dt, e);
    s->held_gpu[w][s->nbusy[w]][0] = e->gpu_mask;
    s->held_gpu[w][s->nbusy[w]][1] = e->gpu_milli;
    s->busy[w][s->nbusy[w]++] = e->attempt_id;
    return w;
}

/* Invariant 11. */
static void commit_redispatch(sim *s, mrun *r, const core_effect *e)
{
    const mtask *u = unit(s, r, e->task, e->elem);
    int w = worker_index(s, e->worker);
    if (u->running != e->attempt_id || w != u->worker)
        die(s, "attempt %llu sent again to %s, but run %llu task %d waits for attempt %llu "
            "on %s", (unsigned long long)e->attempt_id, e->worker, (unsigned long long)r->id,
            e->task, (unsigned long long)u->running, s->w[u->worker].name);
    const sworker *sw = &s->w[w];
    if (!sw->alive || !sw->again)
        die(s, "attempt %llu sent again to %s, which is not the process it was sent to",
            (unsigned long long)e->attempt_id, e->worker);
    for (int k = 0; k < sw->nheld; k++)
        if (sw->held[k] == e->attempt_id)
            die(s, "attempt %llu sent again to %s, which holds it",
                (unsigned long long)e->attempt_id, e->worker);
    take_capacity(s, &r->g->tasks[e->task], e);
    s->resent++;
    send_msg(s, (msg){.to_worker = 1, .w = w, .attempt = e->attempt_id,
                      .json = json_incref(e->json), .gpu_mask = e->gpu_mask,
                      .gpu_milli = e->gpu_milli});
}

/* Invariant 13: a dispatch never takes its workflow's attempts in flight (over the runs of
 * its project) past the concurrency its run declares, nor its pool's past the pool's limit
 * there. */
static void check_limits(sim *s, const mrun *r, const dag_task *dt)
{
    size_t in_wf = 0, in_pool = 0;
    for (int i = 0; i < s->nruns; i++) {
        const mrun *q = &s->runs[i];
        for (size_t k = 0; !q->ended && SIM_PROJECT(q->id) == SIM_PROJECT(r->id) &&
                           k < q->g->ntasks; k++) {
            size_t n = q->t[k].running != 0;
            for (size_t j = 0; j < q->t[k].nelems; j++)
                n += q->t[k].elems[j].running != 0;
            in_wf += n;
            if (dt->pool && q->g->tasks[k].pool && !strcmp(q->g->tasks[k].pool, dt->pool))
                in_pool += n;
        }
    }
    if (r->g->concurrency && in_wf >= r->g->concurrency)
        die(s, "run %llu dispatched with %zu attempts of its workflow in flight; concurrency %u",
            (unsigned long long)r->id, in_wf, r->g->concurrency);
    uint64_t limit = dt->pool ? res_get(r->g->limits, r->g->nlimits, dt->pool) : 0;
    if (dt->pool && in_pool >= limit)
        die(s, "run %llu dispatched with %zu attempts of pool %s in flight; its limit %llu",
            (unsigned long long)r->id, in_pool, dt->pool, (unsigned long long)limit);
}

static void commit_dispatch(sim *s, mrun *r, const core_effect *e)
{
    const dag_task *dt = &r->g->tasks[e->task];
    mtask *u = unit(s, r, e->task, e->elem);
    if (dt->kind == DK_APPROVE) /* invariant 15 */
        die(s, "run %llu approval %d was dispatched", (unsigned long long)r->id, e->task);
    if (e->elem >= 0 && dt->max_parallel) {
        size_t n = 0;
        for (size_t i = 0; i < r->t[e->task].nelems; i++)
            n += started(&r->t[e->task].elems[i]) || (int)i == e->elem;
        if (n > dt->max_parallel)
            die(s, "run %llu mapped task %d has %zu elements started; max_parallel %u",
                (unsigned long long)r->id, e->task, n, dt->max_parallel);
    }
    if (r->cancelled)
        die(s, "run %llu dispatched task %d after it was cancelled", (unsigned long long)r->id,
            e->task);
    if (u->state >= TS_SUCCEEDED)
        die(s, "run %llu task %d dispatched after it ended %s", (unsigned long long)r->id,
            e->task, core_task_state_name(u->state));
    for (size_t k = 0; k < dt->nparents; k++) {
        /* Invariant 14: a task skipped by a when only lets those that do not need its
         * outputs go on. */
        int p = dt->parents[k], want = dt->catch_of == p ? TS_CAUGHT : TS_SUCCEEDED;
        if (r->t[p].state != want && !(want == TS_SUCCEEDED && r->t[p].state == TS_SKIPPED &&
                                       r->t[p].by_when))
            die(s, "run %llu task %d dispatched with parent %d %s", (unsigned long long)r->id,
                e->task, p, core_task_state_name(r->t[p].state));
    }
    if (e->attempt_no > dt->retry.max_attempts)
        die(s, "attempt %d of task %d exceeds max_attempts %d", e->attempt_no, e->task,
            dt->retry.max_attempts);
    if (u64map_get(s->discarded, e->attempt_id))
        die(s, "attempt %llu was dispatched by a turn that failed to commit, and again",
            (unsigned long long)e->attempt_id);
    check_limits(s, r, dt);
    int w = take_capacity(s, dt, e);
    u->state = TS_RUNNING;
    u->running = e->attempt_id;
    u->attempts = e->attempt_no;
    u->worker = w;
    u->dispatched = s->now;
    if (e->attempt_id > s->max_attempt)
        s->max_attempt = e->attempt_id;
    s->dispatches++;
    send_msg(s, (msg){.to_worker = 1, .w = w, .attempt = e->attempt_id,
                      .json = json_incref(e->json), .gpu_mask = e->gpu_mask,
                      .gpu_milli = e->gpu_milli});
}

void commit(sim *s)
{
    for (size_t i = 0; i < s->fx.n; i++) {
        const core_effect *e = &s->fx.v[i];
        mrun *r = e->run_id ? find_run(s, e->run_id) : NULL;
        switch (e->kind) {
        case FX_TASK_STATE:
            for (uint32_t k = 0; k <= e->more; k++) {
                core_effect one = core_effect_unit(e, k);
                commit_task_state(s, r, &one);
            }
            if (e->key && !strmap_get(s->cache, e->key))
                strmap_put(s->cache, e->key, json_incref(e->json));
            s->hits += e->state == TS_SUCCEEDED && e->source != SRC_COMPUTED;
            break;
        case FX_LOOKUP: {
            json_t *hit = strmap_get(s->cache, e->key);
            xgrow(&s->lookups, &s->caplookups, s->nlookups + 1, sizeof *s->lookups);
            s->lookups[s->nlookups++] = (core_event){.kind = EV_LOOKUP,
                                                     .run_id = e->run_id,
                                                     .task = e->task,
                                                     .elem = e->elem,
                                                     .ok = hit != NULL,
                                                     .outputs = hit,
                                                     .source_task = hit ? "cached" : NULL};
            break;
        }
        case FX_DISPATCH:
            commit_dispatch(s, r, e);
            break;
        case FX_REDISPATCH:
            commit_redispatch(s, r, e);
            break;
        case FX_ATTEMPT_END:
            if (unit(s, r, e->task, e->elem)->running == e->attempt_id)
                unit(s, r, e->task, e->elem)->running = 0;
            for (int w = 0; w < MAX_WORKERS; w++)
                busy_del(s, w, e->attempt_id);
            break;
        case FX_STALE:
            s->stale++;
            break;
        case FX_RUN_STATE:
            if (r->ended++)
                die(s, "run %llu ended twice", (unsigned long long)r->id);
            /* Cancelled exactly when a cancel came first (a run that had already timed out
             * stays failed). */
            if ((e->state == RS_CANCELLED && !r->cancelled) ||
                (r->cancelled && e->state != RS_CANCELLED &&
                 !(e->message && strstr(e->message, "timed out"))))
                die(s, "run %llu ended %s (%s) but %s cancelled", (unsigned long long)r->id,
                    core_run_state_name(e->state), e->message ? e->message : "",
                    r->cancelled ? "was" : "was not");
            int bad = 0;
            for (size_t k = 0; k < r->g->ntasks; k++) {
                if (r->t[k].state < TS_SUCCEEDED)
                    die(s, "run %llu ended with task %zu %s", (unsigned long long)r->id, k,
                        core_task_state_name(r->t[k].state));
                bad |= r->t[k].state == TS_FAILED ||
                       (r->t[k].state == TS_SKIPPED && !r->t[k].by_when);
            }
            int timed_out = e->message && strstr(e->message, "timed out");
            if (timed_out && e->state != RS_FAILED)
                die(s, "run %llu timed out but ended %s", (unsigned long long)r->id,
                    core_run_state_name(e->state));
            if (e->state != RS_CANCELLED && !timed_out && (e->state == RS_SUCCEEDED) == bad)
                die(s, "run %llu ended %s with %s failed or skipped task",
                    (unsigned long long)r->id, core_run_state_name(e->state), bad ? "a" : "no");
            break;
        case FX_STOP_ATTEMPT:
            send_msg(s, (msg){.to_worker = 1,
                              .stop = 1,
                              .w = worker_index(s, e->worker),
                              .attempt = e->attempt_id});
            break;
        case FX_MAP:
            if (r->t[e->task].elems)
                die(s, "run %llu task %d expanded twice", (unsigned long long)r->id, e->task);
            r->t[e->task].nelems = json_array_size(e->json);
            r->t[e->task].elems = xcalloc(r->t[e->task].nelems + 1, sizeof(mtask));
            r->t[e->task].state = TS_RUNNING;
            s->elements += (long)r->t[e->task].nelems;
            break;
        case FX_WAITING:
            if (unit(s, r, e->task, e->elem)->state != TS_READY)
                die(s, "run %llu task %d said to wait for a worker while %s",
                    (unsigned long long)r->id, e->task,
                    core_task_state_name(unit(s, r, e->task, e->elem)->state));
            break;
        case FX_WORKER_STATE:
            if (!strcmp(e->message, "lost")) {
                s->losses++;
                s->nbusy[worker_index(s, e->worker)] = 0;
            }
            break;
        }
    }
    core_effects_clear(&s->fx);
    int capped = 0;
    for (int i = 0; i < s->nruns; i++) {
        const mrun *r = &s->runs[i];
        for (size_t k = 0; SIM_PROJECT(r->id) && !r->ended && k < r->g->ntasks; k++) {
            capped += r->t[k].running != 0;
            for (size_t j = 0; j < r->t[k].nelems; j++)
                capped += r->t[k].elems[j].running != 0;
        }
    }
    if (capped > CAPPED_INFLIGHT)
        die(s, "project capped has %d attempts in flight; its limit is %d", capped,
            CAPPED_INFLIGHT);
    for (int i = 0; i < s->nruns; i++) {
        mrun *r = &s->runs[i];
        int open = 0;
        for (size_t k = 0; k < r->g->ntasks && !open; k++)
            open = r->t[k].state < TS_SUCCEEDED;
        if (!open && !r->ended)
            die(s, "run %llu has every task ended but did not end", (unsigned long long)r->id);
    }
}
