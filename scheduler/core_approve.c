/* core_approve: the tasks the scheduler decides itself, with no worker.
 *
 * A subworkflow's entry and exit (DK_ENTRY, DK_EXIT) succeed as soon as they are ready,
 * their outputs their resolved inputs: the entry's are the values the call passes, the
 * exit's the subworkflow's outputs.
 *
 * Approvals. A task of type approve that becomes ready waits (TS_WAITING),
 * holding no worker slot, until a signal decides it: approved, it succeeds with the
 * signal's values as its outputs; rejected, it fails as fatal with the reason; and with a
 * timeout, no decision in time fails it as timeout. Its deadline is recorded with the
 * waiting state (the effect's due_us), so a restarted scheduler keeps the wait. */
#include <stdio.h>
#include <stdlib.h>

#include "common/errclass.h"
#include "common/units.h"
#include "common/xmem.h"
#include "scheduler/core_int.h"

/* Task's inputs, resolved now that its parents have ended (new reference), or NULL after
 * failing it (fatal) with why they cannot be. */
static json_t *inputs_or_fail(core *c, crun *r, int task, core_effects *fx)
{
    char why[600];
    json_t *in = core_unit_inputs(r, task, why, sizeof why);
    if (!in)
        core_task_failed(c, r, task, ERRC_FATAL, why, NULL, 0, c->now_us, fx);
    return in;
}

void core_pass(core *c, crun *r, int task, core_effects *fx)
{
    json_t *in = inputs_or_fail(c, r, task, fx);
    if (!in)
        return;
    size_t at = fx->n; /* the effect of its success comes first */
    core_task_succeeded(c, r, task, in, SRC_COMPUTED, 0, NULL, fx);
    fx->v[at].inputs = in;
}

void core_approval_wait(core *c, crun *r, int task, core_effects *fx)
{
    json_t *in = inputs_or_fail(c, r, task, fx);
    if (!in)
        return;
    int64_t timeout = r->g->tasks[task].timeout_ms;
    int64_t due_us = timeout ? c->now_us + timeout * 1000 : 0;
    core_approval_restore(c, r, task, due_us);
    core_effect *e = core_emit_task(fx, r, task, TS_WAITING);
    e->due_us = due_us; /* recorded, for a restarted scheduler's core_approval_restore */
    const char *q = json_string_value(json_object_get(in, "message")); /* what it asks */
    e->message = xasprintf("waiting for approval%s%s", q && *q ? ": " : "", q ? q : "");
    e->inputs = in;
}

void core_approval_restore(core *c, crun *r, int task, int64_t due_us)
{
    r->t[task].state = TS_WAITING;
    if (due_us)
        core_heap_push(c, (timer){due_us, r->id, task, APPROVAL_TIMER});
}

void core_approval_expired(core *c, crun *r, int task, core_effects *fx)
{
    if (r->t[task].state != TS_WAITING)
        return; /* decided before its deadline */
    char msg[160], d[64];
    units_format_ms(r->g->tasks[task].timeout_ms, d, sizeof d);
    snprintf(msg, sizeof msg, "no approval within %s", d);
    core_task_failed(c, r, task, ERRC_TIMEOUT, msg, NULL, 0, c->now_us, fx);
    core_maybe_finish_run(c, r, fx);
}

void core_on_signal(core *c, const core_event *ev, core_effects *fx)
{
    crun *r = u64map_get(c->runs, ev->run_id);
    if (!r || ev->task < 0 || (size_t)ev->task >= r->g->ntasks ||
        r->t[ev->task].state != TS_WAITING)
        return; /* the shell checked; nothing waits for it any more */
    if (ev->ok) {
        core_task_succeeded(c, r, ev->task, ev->outputs, SRC_COMPUTED, 0, NULL, fx);
    } else {
        char *msg = xasprintf("rejected by %s: %s", ev->worker ? ev->worker : "?",
                              ev->message ? ev->message : "");
        core_task_failed(c, r, ev->task, ERRC_FATAL, msg, NULL, 0, ev->now_us, fx);
        free(msg);
    }
    core_maybe_finish_run(c, r, fx);
}
