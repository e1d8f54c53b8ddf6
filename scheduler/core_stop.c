/* core_stop: stopping a run before its tasks are done, by cancel or by the run's timeout.
 *
 * A stopped run starts nothing new. Its waiting tasks end cancelled at once; each running
 * attempt gets a stop effect (the worker interrupts it) and its task ends cancelled when
 * the attempt reports back, without retry. The class recorded on those tasks says why:
 * cancelled or timeout. A cancelled run ends cancelled; a timed-out one ends failed. */
#include <stdio.h>
#include <stdlib.h>

#include "common/errclass.h"
#include "common/units.h"
#include "common/xmem.h"
#include "scheduler/core_int.h"

static void stop_run(core *c, crun *r, int cls, const char *why, int64_t now, core_effects *fx)
{
    uint64_t id = r->id;
    r->stop_class = cls;
    r->stop_reason = xstrdup(why);
    /* Elements (the last slots) first, so a mapped task finds them ended. */
    for (size_t i = r->nslots; i-- > 0;) {
        ctask *t = &r->t[i];
        if (t->map) {
            core_map_advance(c, r, (int)i, fx); /* ends it once its elements have */
        } else if (t->state == TS_RUNNING) {
            cattempt *a = u64map_get(c->attempts, t->attempt_id);
            if (a && a->w) {
                core_effect *e = core_emit_unit(fx, FX_STOP_ATTEMPT, r, (int)i);
                e->attempt_id = a->id;
                e->worker = xstrdup(a->w->name);
            } else if (a) {
                /* Restored and unclaimed: nobody to ask; a late result will be stale. */
                core_attempt_ended(c, a, 0, cls, why, NULL, now, fx);
                if (!u64map_get(c->runs, id))
                    return; /* that was the run's last open task */
            }
        } else if (t->state < TS_SUCCEEDED) {
            core_end_task(c, r, (int)i, TS_CANCELLED);
            core_effect *e = core_emit_task(fx, r, (int)i, TS_CANCELLED);
            e->errclass = cls;
            e->message = xstrdup(why);
        }
    }
    core_maybe_finish_run(c, r, fx);
}

void core_on_cancel(core *c, const core_event *ev, core_effects *fx)
{
    crun *r = u64map_get(c->runs, ev->run_id);
    if (r && !r->stop_class)
        stop_run(c, r, ERRC_CANCELLED, "run cancelled", ev->now_us, fx);
}

void core_arm_deadline(core *c, crun *r, int64_t started_us)
{
    if (r->g->timeout_ms > 0)
        core_heap_push(c, (timer){started_us + r->g->timeout_ms * 1000, r->id, RUN_DEADLINE, 0});
}

void core_run_deadline(core *c, crun *r, int64_t now, core_effects *fx)
{
    if (r->stop_class)
        return;
    char why[96], dur[32];
    snprintf(why, sizeof why, "run timed out after %s",
             units_format_ms(r->g->timeout_ms, dur, sizeof dur));
    stop_run(c, r, ERRC_TIMEOUT, why, now, fx);
}

void core_arm_attempt_deadline(core *c, crun *r, int task, uint64_t attempt, int64_t since)
{
    int64_t timeout_ms = r->g->tasks[r->t[task].task].timeout_ms;
    if (timeout_ms > 0)
        core_heap_push(c, (timer){since + timeout_ms * 1000 + c->attempt_grace_us, r->id,
                                  ATTEMPT_DEADLINE, attempt});
}

void core_attempt_deadline(core *c, uint64_t id, int64_t now, core_effects *fx)
{
    cattempt *a = u64map_get(c->attempts, id);
    if (!a)
        return;
    const char *who = a->w ? a->w->name : a->orphan_of ? a->orphan_of : "?";
    char why[300];
    snprintf(why, sizeof why, "no result from worker '%s' within the task's timeout (%llds) "
             "and a grace of %llds", who,
             (long long)(a->run->g->tasks[a->run->t[a->task].task].timeout_ms / 1000),
             (long long)(c->attempt_grace_us / 1000000));
    if (a->w) {
        core_effect *e = core_emit_unit(fx, FX_STOP_ATTEMPT, a->run, a->task);
        e->attempt_id = a->id;
        e->worker = xstrdup(a->w->name);
        core_untrack(a->w, a);
    }
    core_attempt_ended(c, a, 0, ERRC_TIMEOUT, why, NULL, now, fx);
}

void core_set_attempt_grace(core *c, int64_t us)
{
    c->attempt_grace_us = us;
}
