/* core_restore: rebuilding runs after a scheduler restart (EV_RUN_RESTORED).
 *
 * The catalogue holds, per task, the state its last committed turn left: that is the
 * snapshot. Tasks that were running come back with their attempt as an orphan: the worker
 * still running it claims it when it registers again, its result is accepted whenever it
 * comes, and if nobody reports it within the grace period it fails as lost (and is retried
 * if its policy allows). Nothing that succeeded runs again: its outputs are restored.
 * A mapped task that had expanded gets its elements back the same way (core_map.c). */
#include <stdio.h>
#include <stdlib.h>

#include "common/errclass.h"
#include "common/xmem.h"
#include "scheduler/core_int.h"

void core_add_orphan(core *c, crun *r, int task, const core_task_snapshot *snap, int64_t now)
{
    cattempt *a = xcalloc(1, sizeof *a);
    a->id = snap->attempt_id;
    a->run = r;
    a->task = task;
    a->no = snap->attempts;
    u64map_put(c->attempts, a->id, a);
    r->t[task].attempt_id = a->id;
    xgrow(&c->orphans, &c->caporphans, c->norphans + 1, sizeof *c->orphans);
    c->orphans[c->norphans++] = a->id;
    c->orphan_deadline = now + c->orphan_grace_us;
    if (a->id >= c->next_attempt)
        c->next_attempt = a->id + 1;
}

void core_on_restore(core *c, const core_event *ev, core_effects *fx)
{
    crun *r = core_new_run(c, ev->run_id, ev->dag);
    core_arm_deadline(c, r, ev->started_us ? ev->started_us : ev->now_us);
    size_t n = r->g->ntasks;
    /* First pass: states, attempts, outputs; ended tasks leave the count of open ones. */
    for (size_t i = 0; i < n; i++) {
        const core_task_snapshot *snap = &ev->snapshot[i];
        ctask *t = &r->t[i];
        t->attempts = (uint16_t)snap->attempts;
        if (snap->state == TS_SUCCEEDED || snap->state == TS_CAUGHT) {
            r->outputs[i] = snap->outputs ? json_incref(snap->outputs) : json_object();
            core_end_task(c, r, (int)i, snap->state);
        } else if (snap->state > TS_SUCCEEDED && snap->state < TS__COUNT) {
            core_end_task(c, r, (int)i, snap->state);
        } else {
            t->state = (uint8_t)snap->state;
        }
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
            r->t[i].state = TS_PENDING;
            core_make_ready(c, r, (int)i, fx);
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
            core_heap_push(c, (timer){snap->due_us, r->id, (int)i});
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

void core_expire_orphans(core *c, int64_t now, core_effects *fx)
{
    if (!c->norphans || now < c->orphan_deadline)
        return;
    size_t n = c->norphans;
    uint64_t *ids = c->orphans;
    c->orphans = NULL;
    c->norphans = c->caporphans = 0;
    for (size_t i = 0; i < n; i++) {
        cattempt *a = u64map_get(c->attempts, ids[i]);
        if (!a || a->w)
            continue;
        char why[256];
        snprintf(why, sizeof why,
                 "attempt %llu was running when the scheduler restarted and no "
                 "worker reported it within %.1fs",
                 (unsigned long long)a->id, (double)c->orphan_grace_us / 1e6);
        core_attempt_ended(c, a, 0, ERRC_LOST, why, NULL, now, fx);
    }
    free(ids);
}
