/* core_when: conditions. A task whose when: is false once its parents have ended is
 * skipped, which is not a failure; so is a task that reads an output of a task skipped so,
 * unless a ?? finds it another. A task that only needs one (ordering) runs. */
#include <stdio.h>
#include <stdlib.h>

#include "common/errclass.h"
#include "common/xmem.h"
#include "scheduler/core_int.h"

/* Whether a parent of task ended skipped by its when. */
static int skipped_parent(const crun *r, int task)
{
    const dag_task *t = &r->g->tasks[task];
    for (size_t k = 0; k < t->nparents; k++)
        if (r->t[t->parents[k]].state == TS_SKIPPED && r->t[t->parents[k]].by_when)
            return 1;
    return 0;
}

static void skip(core *c, crun *r, int task, const char *why, core_effects *fx)
{
    core_end_task(c, r, task, TS_SKIPPED);
    r->t[task].by_when = 1;
    core_effect *e = core_emit_task(fx, r, task, TS_SKIPPED);
    e->message = xstrdup(why);
    core_settle_children(c, r, task, fx);
}

/* Whether what task reads (its inputs, and a mapped task's list) is there: 1, 0 when it
 * reads an output a skipped task did not make (why), -1 on any other failure (left for
 * dispatch to report). */
static int reads_there(const crun *r, int task, char *why, size_t n)
{
    const dag_task *t = &r->g->tasks[task];
    int missing = 0;
    dag_scope sc = {r->outputs, NULL, -1, &missing};
    json_t *v = dag_resolve_inputs(r->g, (size_t)task, &sc, why, n);
    if (v && t->map) {
        json_decref(v);
        v = dag_resolve_value(r->g, t->map, &sc, why, n);
    }
    json_decref(v);
    return v ? 1 : missing ? 0 : -1;
}

int core_when_skips(core *c, crun *r, int task, core_effects *fx)
{
    const dag_task *t = &r->g->tasks[task];
    int after_skip = skipped_parent(r, task);
    if (!t->when && !after_skip)
        return 0;
    char why[600], msg[800];
    if (t->when) {
        int missing = 0;
        dag_scope sc = {r->outputs, NULL, -1, &missing};
        json_t *v = dag_resolve_value(r->g, t->when, &sc, why, sizeof why);
        if (!v && !missing) {
            snprintf(msg, sizeof msg, "when %s: %s", t->when_text, why);
            core_task_failed(c, r, task, ERRC_FATAL, msg, NULL, 0, c->now_us, fx);
            return 1;
        }
        int yes = json_is_true(v);
        json_decref(v);
        if (!yes) {
            if (v)
                snprintf(msg, sizeof msg, "when %s is false", t->when_text);
            else
                snprintf(msg, sizeof msg, "when %s: %s", t->when_text, why);
            skip(c, r, task, msg, fx);
            return 1;
        }
    }
    if (after_skip && reads_there(r, task, why, sizeof why) == 0) {
        skip(c, r, task, why, fx);
        return 1;
    }
    return 0;
}
