/* core_restore: rebuilding runs after a scheduler restart (EV_RUN_RESTORED).
 *
 * The catalogue holds, per task, the state its last committed turn left: that is the
 * snapshot. Tasks that were running come back with their attempt as an orphan: the worker
 * still running it claims it when it registers again, and its result is accepted whenever it
 * comes. When the worker it was dispatched to registers without it (the dispatch was
 * committed but never sent), it is sent again if that worker is the same process
 * (Register.again), and fails as lost at once if it is a new one. When nobody reports it,
 * it fails as lost once the grace period since its dispatch has passed (but not within the
 * claim window after the restart), so restarts in quick succession do not hold it forever.
 * A lost attempt is retried if its policy allows. Nothing that succeeded runs again: its
 * outputs are restored. Ready tasks are queued again without a new event.
 * A mapped task that had expanded gets its elements back the same way (core_map.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "common/xmem.h"
#include "scheduler/core_int.h"

void core_add_orphan(core *c, crun *r, int task, const core_task_snapshot *snap, int64_t now)
{
    cattempt *a = xcalloc(1, sizeof *a);
    a->id = snap->attempt_id;
    a->run = r;
    core_inflight_add(r, task, 1);
    a->task = task;
    a->no = snap->attempts;
    a->orphan_of = snap->worker ? xstrdup(snap->worker) : NULL;
    int64_t since = snap->dispatched_us ? snap->dispatched_us : now;
    a->orphan_deadline = since + c->orphan_grace_us;
    if (a->orphan_deadline < now + c->orphan_claim_us)
        a->orphan_deadline = now + c->orphan_claim_us;
    u64map_put(c->attempts, a->id, a);
    r->t[task].attempt_id = a->id;
    core_arm_attempt_deadline(c, r, task, a->id, since);
    xgrow(&c->orphans, &c->caporphans, c->norphans + 1, sizeof *c->orphans);
    c->orphans[c->norphans++] = a->id;
    if (a->id >= c->next_attempt)
        c->next_attempt = a->id + 1;
}

/* Drops the orphan list entries that are no longer orphans (claimed or ended). */
static void compact_orphans(core *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->norphans; i++) {
        const cattempt *a = u64map_get(c->attempts, c->orphans[i]);
        if (a && !a->w)
            c->orphans[k++] = c->orphans[i];
    }
    c->norphans = k;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* Sends restored attempt a again to its worker w, the same process it was dispatched to,
 * which never got it: the dispatch was committed, and the scheduler stopped before sending
 * it. Same id and attempt number: nothing ran, so nothing is counted twice. Within w's
 * credits, as any dispatch. */
static int resend(cattempt *a, cworker *w, int64_t now, core_effects *fx)
{
    char why[512];
    json_t *inputs;
    const dag_task *t = &a->run->g->tasks[a->run->t[a->task].task];
    if (!core_may_take(w, t->timeout_ms > 0) || !core_fits(w, t, 1) ||
        !(inputs = core_unit_inputs(a->run, a->task, why, sizeof why)))
        return -1;
    core_send_attempt(fx, FX_REDISPATCH, a, w, inputs, now, now);
    return 0;
}

void core_claim_orphans(core *c, cworker *w, const core_event *ev, core_effects *fx)
{
    int64_t now = ev->now_us;
    for (size_t i = 0; i < ev->nrunning; i++) {
        cattempt *a = u64map_get(c->attempts, ev->running[i]);
        /* Only the worker it was dispatched to may claim it, on the GPUs it holds there. */
        if (a && !a->w && a->orphan_of && strcmp(a->orphan_of, w->name) == 0) {
            core_adopt_gpus(w, a, ev->running_gpus ? ev->running_gpus[i] : 0,
                            ev->running_gpu_milli ? ev->running_gpu_milli[i] : 0);
            core_worker_take(w, a);
        }
    }
    core_refresh_credits(w);
    /* Collected first: ending an attempt can dispatch, which changes the maps. */
    size_t nlost = 0;
    uint64_t *lost = xcalloc(c->norphans + 1, sizeof *lost);
    for (size_t i = 0; i < c->norphans; i++) {
        const cattempt *a = u64map_get(c->attempts, c->orphans[i]);
        if (a && !a->w && a->orphan_of && strcmp(a->orphan_of, w->name) == 0 &&
            !core_reported(ev, a->id))
            lost[nlost++] = a->id;
    }
    /* In the order they were first dispatched, which the worker starts them in. */
    qsort(lost, nlost, sizeof *lost, cmp_u64);
    for (size_t i = 0; i < nlost; i++) {
        cattempt *a = u64map_get(c->attempts, lost[i]);
        if (!a || a->w || (ev->again && resend(a, w, now, fx) == 0))
            continue;
        char why[300];
        if (ev->again)
            snprintf(why, sizeof why, "worker '%s' never got attempt %llu (dispatched to it "
                     "before the scheduler restarted), and its slots or resources are now busy",
                     w->name, (unsigned long long)a->id);
        else
            snprintf(why, sizeof why, "worker '%s' registered again, a new process, without "
                     "attempt %llu (dispatched to it before the scheduler restarted)", w->name,
                     (unsigned long long)a->id);
        core_attempt_ended(c, a, 0, ERRC_LOST, why, NULL, now, fx);
    }
    free(lost);
    compact_orphans(c);
}

/* Whether a parent of task failed, was cancelled, or was skipped by a failure. */
static int failed_upstream(const crun *r, int task)
{
    const dag_task *t = &r->g->tasks[task];
    for (size_t k = 0; k < t->nparents; k++) {
        const ctask *p = &r->t[t->parents[k]];
        if (p->state == TS_FAILED || p->state == TS_CANCELLED ||
            (p->state == TS_SKIPPED && !p->by_when))
            return 1;
    }
    return 0;
}

void core_on_restore(core *c, const core_event *ev, core_effects *fx)
{
    crun *r = core_new_run(c, ev->run_id, ev->dag, ev->project);
    core_arm_deadline(c, r, ev->started_us ? ev->started_us : ev->now_us);
    size_t n = r->g->ntasks;
    /* First pass: states, attempts, outputs; ended tasks leave the count of open ones. */
    for (size_t i = 0; i < n; i++) {
        const core_task_snapshot *snap = &ev->snapshot[i];
        ctask *t = &r->t[i];
        t->attempts = (uint16_t)snap->attempts;
        int ended = snap->state >= TS_SUCCEEDED && snap->state < TS__COUNT;
        for (size_t e = 0; ended && e < snap->nelems; e++)
            if (snap->elems[e].state < TS__COUNT)
                r->unheld[snap->elems[e].state]++;
        if (snap->state == TS_SUCCEEDED || snap->state == TS_CAUGHT) {
            r->outputs[i] = core_kept_outputs(c, snap->outputs);
            core_end_task(c, r, (int)i, snap->state);
        } else if (ended) {
            core_end_task(c, r, (int)i, snap->state);
        } else {
            t->state = (uint8_t)snap->state;
        }
    }
    /* A skipped task was skipped by a when (or with one), unless a parent failed, was
     * cancelled or was itself skipped by a failure: recomputed in topological order, as the
     * catalogue keeps only "skipped". */
    for (size_t k = 0; k < n; k++) {
        int i = r->g->order[k];
        if (r->t[i].state == TS_SKIPPED)
            r->t[i].by_when = !failed_upstream(r, i);
    }
    /* Second pass, in topological order: a waiting task waits for the parents that have not
     * yet let it run; one whose parent's end dooms it ends as it would have. */
    for (size_t k = 0; k < n; k++) {
        int i = r->g->order[k];
        const dag_task *dt = &r->g->tasks[i];
        if (r->t[i].state != TS_PENDING)
            continue;
        int doom = 0;
        for (size_t p = 0; p < dt->nparents; p++) {
            int par = dt->parents[p];
            if (r->t[par].state < TS_SUCCEEDED) {
                r->t[i].waiting++;
                continue;
            }
            int fate = core_fate(r, par, i);
            if (fate == TS_SKIPPED || (fate && !doom))
                doom = fate;
        }
        if (doom) {
            r->t[i].waiting = 0;
            core_end_task(c, r, i, doom);
            core_emit_task(fx, r, i, doom);
        }
    }
    /* Third pass: put every open task back where it waits. */
    for (size_t i = 0; i < n; i++) {
        const core_task_snapshot *snap = &ev->snapshot[i];
        switch (r->t[i].state) {
        case TS_READY:
            core_requeue_ready(c, r, (int)i, fx);
            break;
        case TS_RUNNING:
            if (r->g->tasks[i].map && snap->nelems) {
                core_map_restore(c, r, (int)i, snap, ev->now_us, fx);
            } else if (snap->attempt_id) {
                core_add_orphan(c, r, (int)i, snap, ev->now_us);
            } else {
                r->t[i].state = TS_PENDING;
                core_make_ready(c, r, (int)i, fx);
            }
            break;
        case TS_RETRY_WAIT:
            core_heap_push(c, (timer){snap->due_us, r->id, (int)i, 0});
            break;
        case TS_WAITING:
            core_approval_restore(c, r, (int)i, snap->due_us);
            break;
        case TS_PENDING:
            if (r->t[i].waiting == 0)
                core_make_ready(c, r, (int)i, fx);
            break;
        default:
            break;
        }
    }
    core_maybe_finish_run(c, r, fx);
}

void core_orphans_unheard(core *c, int64_t now)
{
    for (size_t i = 0; i < c->norphans; i++) {
        cattempt *a = u64map_get(c->attempts, c->orphans[i]);
        if (a && !a->w && !a->orphan_graced && a->orphan_deadline < now + c->orphan_claim_us) {
            a->orphan_graced = 1; /* once: a late tick that moved nothing leaves it */
            a->orphan_deadline = now + c->orphan_claim_us;
        }
    }
}

void core_expire_orphans(core *c, int64_t now, core_effects *fx)
{
    size_t nexp = 0;
    uint64_t *expired = NULL;
    for (size_t i = 0; i < c->norphans; i++) {
        const cattempt *a = u64map_get(c->attempts, c->orphans[i]);
        if (a && !a->w && now >= a->orphan_deadline) {
            if (!expired)
                expired = xcalloc(c->norphans, sizeof *expired);
            expired[nexp++] = a->id;
        }
    }
    for (size_t i = 0; i < nexp; i++) {
        cattempt *a = u64map_get(c->attempts, expired[i]);
        if (!a || a->w)
            continue;
        char why[256];
        snprintf(why, sizeof why,
                 "attempt %llu was running when the scheduler restarted and no "
                 "worker reported it within %.1fs of its dispatch",
                 (unsigned long long)a->id, (double)c->orphan_grace_us / 1e6);
        core_attempt_ended(c, a, 0, ERRC_LOST, why, NULL, now, fx);
    }
    free(expired);
    if (nexp)
        compact_orphans(c);
}
