/* core_memo: memoization in the run state machine.
 *
 * A memoized task that becomes ready computes its cache key from its resolved inputs and
 * asks the shell (FX_LOOKUP). A hit (EV_LOOKUP ok) succeeds with the recorded outputs. On a
 * miss the task runs, unless an identical task (same key) is in flight: then it waits,
 * and when that task ends, its waiters take its outputs (success) or the first of them runs
 * in its place (any other end). Waiters are referred to by run id and task, and checked when
 * settled, so a waiter whose run was cancelled or ended meanwhile is simply passed over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"
#include "compiler/cachekey.h"
#include "scheduler/core_int.h"

int core_lookup(crun *r, int task, core_effects *fx)
{
    const dag_task *t = &r->g->tasks[r->t[task].task];
    char why[512], hex[HASH_HEX_LEN + 1];
    json_t *inputs = core_unit_inputs(r, task, why, sizeof why);
    if (!inputs)
        return 0;
    json_t *comp = cachekey_components(t->type, t->type_version, t->cache_version,
                                       r->proj->name, inputs);
    cachekey_of(comp, hex);
    json_decref(comp);
    ctask *ct = &r->t[task];
    free(ct->key);
    ct->key = xstrdup(hex);
    ct->looking = 1;
    core_effect *e = core_emit_unit(fx, FX_LOOKUP, r, task);
    e->key = xstrdup(hex);
    e->json = inputs;
    return 1;
}

void core_on_lookup(core *c, const core_event *ev, core_effects *fx)
{
    crun *r = u64map_get(c->runs, ev->run_id);
    int slot = r ? core_slot(r, ev->task, ev->elem) : -1;
    if (slot < 0)
        return;
    ctask *ct = &r->t[slot];
    if (ct->state != TS_READY || !ct->looking)
        return; /* cancelled meanwhile, or an answer to a lookup made before a restart */
    ct->looking = 0;
    if (ev->ok && json_is_object(ev->outputs)) {
        core_task_succeeded(c, r, slot, ev->outputs, SRC_CACHE, ev->source_run,
                            ev->source_task, fx);
        core_maybe_finish_run(c, r, fx);
        return;
    }
    inflight *f = strmap_get(c->inflight, ct->key);
    if (f && f->owner.run == r->id && f->owner.task == slot) {
        core_enqueue(c, r, slot); /* its own retry */
        return;
    }
    if (f) {
        xgrow(&f->waiters, &f->cap, f->n + 1, sizeof *f->waiters);
        f->waiters[f->n++] = (taskref){r->id, slot};
        return;
    }
    f = xcalloc(1, sizeof *f);
    f->owner = (taskref){r->id, slot};
    strmap_put(c->inflight, ct->key, f);
    core_enqueue(c, r, slot);
}

/* A waiter still waiting: its run is live and it is ready with the same key. */
static crun *live_waiter(core *c, taskref w, const char *key)
{
    crun *r = u64map_get(c->runs, w.run);
    if (!r || r->t[w.task].state != TS_READY || !r->t[w.task].key ||
        strcmp(r->t[w.task].key, key) != 0)
        return NULL;
    return r;
}

/* The owner of a key ended: on success its waiters take its outputs; otherwise the first
 * live waiter becomes the owner and runs. */
static void settle_one(core *c, settle st, core_effects *fx)
{
    inflight *f = strmap_get(c->inflight, st.key);
    if (!f || f->owner.run != st.t.run || f->owner.task != st.t.task)
        return;
    crun *owner = core_find_run(c, st.t.run);
    int ok = owner && owner->t[st.t.task].state == TS_SUCCEEDED;
    size_t i = 0;
    for (; i < f->n; i++) {
        crun *r = live_waiter(c, f->waiters[i], st.key);
        if (!r)
            continue;
        if (!ok) {
            f->owner = f->waiters[i++];
            memmove(f->waiters, f->waiters + i, (f->n - i) * sizeof *f->waiters);
            f->n -= i;
            core_enqueue(c, r, f->owner.task);
            return;
        }
        char name[300];
        core_unit_name(owner, st.t.task, name, sizeof name);
        core_task_succeeded(c, r, f->waiters[i].task, owner->outputs[st.t.task], SRC_INFLIGHT,
                            owner->id, name, fx);
        core_maybe_finish_run(c, r, fx);
    }
    strmap_del(c->inflight, st.key);
    free(f->waiters);
    free(f);
}

void core_settle_all(core *c, core_effects *fx)
{
    for (size_t k = 0; k < c->nsettles; k++) {
        settle st = c->settles[k]; /* settle_one may append (and move) the list */
        settle_one(c, st, fx);
        free(st.key);
    }
    c->nsettles = 0;
}

