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
        core_heap_push(c, (timer){started_us + r->g->timeout_ms * 1000, r->id, RUN_DEADLINE});
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
