/* core_place: why a ready task waits for a worker none of those connected could be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"
#include "scheduler/core_int.h"

#define WAIT_SAY_US 5000000 /* ready this long before its wait is said */

static int any_may_run(const core *c, const dag_task *t)
{
    for (size_t k = 0; k < c->nworkers; k++)
        if (core_may_run(c->workers[k], t))
            return 1;
    return 0;
}

/* The first label of t no worker running its type carries, or NULL. */
static const char *missing_label(const core *c, const dag_task *t)
{
    for (size_t i = 0; i < t->nlabels; i++) {
        size_t k = 0;
        while (k < c->nworkers && !(strmap_get(c->workers[k]->types, t->type) &&
                                    res_has_label(c->workers[k]->labels,
                                                  c->workers[k]->nlabels, t->labels[i])))
            k++;
        if (k == c->nworkers)
            return t->labels[i];
    }
    return NULL;
}

int core_unplaceable(const core *c, const dag_task *t, char *why, size_t n)
{
    size_t runs = 0;
    for (size_t k = 0; k < c->nworkers; k++)
        if (core_fits(c->workers[k], t, 0))
            return 0;
    for (size_t k = 0; k < c->nworkers; k++)
        runs += strmap_get(c->workers[k]->types, t->type) != NULL;
    const char *label = missing_label(c, t);
    if (!c->nworkers)
        snprintf(why, n, "no worker is connected");
    else if (!runs)
        snprintf(why, n, "no worker runs task type '%s'", t->type);
    else if (label)
        snprintf(why, n, "no worker running %s carries label %s", t->type, label);
    else if (!any_may_run(c, t))
        snprintf(why, n, "no worker running %s carries all of its labels", t->type);
    else {
        /* The first resource beyond every worker that may run it, with the most any offers;
         * else no single worker offers them all together. */
        for (size_t i = 0; i < t->nres; i++) {
            uint64_t most = 0;
            for (size_t k = 0; k < c->nworkers; k++)
                if (core_may_run(c->workers[k], t)) {
                    const cworker *w = c->workers[k];
                    uint64_t has = res_get(w->cap, w->ncap, t->res[i].name);
                    most = has > most ? has : most;
                }
            if (t->res[i].amount > most) {
                char want[32], have[32];
                snprintf(why, n, "no worker offers %s: %s (largest: %s)", t->res[i].name,
                         res_format(t->res[i].name, t->res[i].amount, want, sizeof want),
                         res_format(t->res[i].name, most, have, sizeof have));
                return 1;
            }
        }
        snprintf(why, n, "no single worker offers all of its resources together");
    }
    return 1;
}

/* The first entry of q whose task is still ready (a cancelled run's stay queued until
 * dispatch passes them), or NULL. */
static const qentry *first_ready(const crun *r, const tqueue *q)
{
    for (size_t i = q->head; i < q->tail; i++)
        if (r->t[q->v[i].task].state == TS_READY)
            return &q->v[i];
    return NULL;
}

void core_say_waiting(core *c, int64_t now, core_effects *fx)
{
    size_t pos = 0, qpos;
    uint64_t id;
    void *v, *qv;
    const char *place;
    char why[300];
    while (u64map_next(c->runs, &pos, &id, &v)) {
        crun *r = v;
        for (qpos = 0; r->nready && strmap_next(r->queues, &qpos, &place, &qv);) {
            tqueue *q = qv;
            const qentry *head = q->said ? NULL : first_ready(r, q);
            if (!head || now - head->ready_us < WAIT_SAY_US)
                continue;
            int slot = head->task;
            if (!core_unplaceable(c, &r->g->tasks[r->t[slot].task], why, sizeof why))
                continue;
            q->said = 1;
            core_effect *e = core_emit_unit(fx, FX_WAITING, r, slot);
            e->message = xstrdup(why);
        }
    }
}

void core_waiting_rearm(core *c)
{
    size_t pos = 0, qpos;
    uint64_t id;
    void *v, *qv;
    const char *place;
    while (u64map_next(c->runs, &pos, &id, &v))
        for (qpos = 0; strmap_next(((crun *)v)->queues, &qpos, &place, &qv);)
            ((tqueue *)qv)->said = 0;
}

json_t *core_run_waiting(const core *c, uint64_t run_id)
{
    json_t *o = json_object();
    const crun *r = u64map_get(c->runs, run_id);
    size_t qpos = 0;
    const char *place;
    void *qv;
    char why[300];
    while (r && r->nready && strmap_next(r->queues, &qpos, &place, &qv)) {
        const qentry *head = first_ready(r, qv);
        if (!head)
            continue;
        const dag_task *t = &r->g->tasks[r->t[head->task].task];
        if (core_unplaceable(c, t, why, sizeof why) || core_held_back(r, qv, why, sizeof why))
            json_object_set_new(o, t->name, json_string(why));
    }
    return o;
}

json_t *core_run_unplaceable(const core *c, uint64_t run_id)
{
    json_t *o = json_object();
    const crun *r = u64map_get(c->runs, run_id);
    char why[300];
    for (size_t i = 0; r && c->nworkers && i < r->g->ntasks; i++)
        if (r->g->tasks[i].kind == DK_WORK &&
            core_unplaceable(c, &r->g->tasks[i], why, sizeof why))
            json_object_set_new(o, r->g->tasks[i].name, json_string(why));
    return o;
}
