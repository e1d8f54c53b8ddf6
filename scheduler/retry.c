/* retry: planning a rerun. See retry.h. */
#include "scheduler/retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void set_reason(retry_unit *u, char *reason)
{
    free(u->reason);
    u->reason = reason;
}

/* Why a unit that did not succeed runs again: "failed in run 3: message". */
static char *not_succeeded(const json_t *row, uint64_t run)
{
    const char *st = str(row, "state"), *err = str(row, "error");
    if (!*st || !strcmp(st, "pending"))
        return xasprintf("never ran in run %llu", (unsigned long long)run);
    return xasprintf("%s in run %llu%s%s", st, (unsigned long long)run, *err ? ": " : "", err);
}

/* Decides one task or element whose upstream is reused: inputs are what it would get now. */
static void decide(retry_unit *u, const json_t *row, const json_t *inputs, uint64_t run,
                   retry_usable_fn usable, void *ud)
{
    char why[512];
    if (strcmp(str(row, "state"), "succeeded") != 0) {
        set_reason(u, not_succeeded(row, run));
    } else if (inputs && !json_equal(inputs, json_object_get(row, "inputs"))) {
        set_reason(u, xasprintf("its inputs changed since run %llu", (unsigned long long)run));
    } else if (usable && usable(ud, json_object_get(row, "outputs"), why, sizeof why) != 0) {
        set_reason(u, xasprintf("its outputs from run %llu cannot be reused: %s",
                                (unsigned long long)run, why));
    } else {
        /* Reused: lineage points at the execution that computed the outputs. */
        const char *src = str(row, "source");
        json_int_t src_run = json_integer_value(json_object_get(row, "source_run"));
        int copied = *src && strcmp(src, "computed") != 0 && src_run;
        u->reuse = 1;
        u->outputs = json_object_get(row, "outputs");
        u->inputs = json_object_get(row, "inputs");
        u->source_run = copied ? (uint64_t)src_run : run;
        u->source_task = copied ? str(row, "source_task") : str(row, "name");
        set_reason(u, xasprintf("succeeded in run %llu", (unsigned long long)run));
    }
}

/* A mapped task whose parents are reused: the same list, element by element. */
static void decide_map(retry_plan *p, const dag *g, int i, const json_t *row,
                       json_t *const *outputs, retry_usable_fn usable, void *ud)
{
    retry_task *t = &p->t[i];
    const json_t *rows = json_object_get(row, "elements");
    char why[512];
    dag_scope sc = {outputs, NULL, -1};
    json_t *items = dag_resolve_value(g, g->tasks[i].map, &sc, why, sizeof why);
    if (!json_is_array(items) || json_array_size(items) != json_array_size(rows)) {
        set_reason(&t->u, json_array_size(rows) ? xasprintf("its list changed since run %llu",
                                                            (unsigned long long)p->old_run)
                                                : not_succeeded(row, p->old_run));
        json_decref(items);
        return;
    }
    t->nelems = json_array_size(items);
    t->elems = xcalloc(t->nelems + 1, sizeof *t->elems);
    size_t nreuse = 0;
    for (size_t e = 0; e < t->nelems; e++) {
        sc.item = json_array_get(items, e);
        sc.index = (int64_t)e;
        json_t *in = dag_resolve_inputs(g, (size_t)i, &sc, why, sizeof why);
        decide(&t->elems[e], json_array_get(rows, e), in, p->old_run, usable, ud);
        json_decref(in);
        nreuse += t->elems[e].reuse;
    }
    json_decref(items);
    if (nreuse == t->nelems && !strcmp(str(row, "state"), "succeeded")) {
        t->action = RETRY_REUSE;
        decide(&t->u, row, NULL, p->old_run, NULL, NULL);
    } else if (nreuse) {
        t->action = RETRY_PARTIAL;
        set_reason(&t->u, xasprintf("%zu of %zu elements reused; %zu execute again", nreuse,
                                    t->nelems, t->nelems - nreuse));
    } else {
        set_reason(&t->u, xasprintf("no element can be reused (%s)", t->elems[0].reason));
    }
}

/* Marks from and every task below it as forced. */
static void force_down(const dag *g, int from, unsigned char *forced)
{
    if (forced[from])
        return;
    forced[from] = 1;
    for (size_t k = 0; k < g->tasks[from].nchildren; k++)
        force_down(g, g->tasks[from].children[k], forced);
}

static void count(retry_plan *p)
{
    for (size_t i = 0; i < p->ntasks; i++) {
        const retry_task *t = &p->t[i];
        if (t->action != RETRY_PARTIAL) {
            t->action == RETRY_REUSE ? p->nreuse++ : p->nexec++;
            continue;
        }
        for (size_t e = 0; e < t->nelems; e++)
            t->elems[e].reuse ? p->nreuse++ : p->nexec++;
    }
}

retry_plan *retry_plan_make(const dag *g, uint64_t old_run, const json_t *old_tasks, int from,
                            retry_usable_fn usable, void *ud, char *why, size_t n)
{
    if (json_array_size(old_tasks) != g->ntasks) {
        snprintf(why, n, "run %llu has %zu tasks; its workflow now compiles to %zu",
                 (unsigned long long)old_run, json_array_size(old_tasks), g->ntasks);
        return NULL;
    }
    retry_plan *p = xcalloc(1, sizeof *p);
    p->old_run = old_run;
    p->ntasks = g->ntasks;
    p->t = xcalloc(g->ntasks + 1, sizeof *p->t);
    unsigned char *forced = xcalloc(g->ntasks + 1, 1);
    json_t **outputs = xcalloc(g->ntasks + 1, sizeof *outputs);
    if (from >= 0)
        force_down(g, from, forced);
    for (size_t k = 0; k < g->ntasks; k++) {
        int i = g->order[k];
        const dag_task *dt = &g->tasks[i];
        const json_t *row = json_array_get(old_tasks, (size_t)i);
        retry_task *t = &p->t[i];
        int upstream = -1;
        for (size_t q = 0; q < dt->nparents && upstream < 0; q++)
            if (p->t[dt->parents[q]].action != RETRY_REUSE)
                upstream = dt->parents[q];
        if (strcmp(str(row, "name"), dt->name) != 0) {
            snprintf(why, n, "task %d of run %llu is '%s'; the workflow now names it '%s'", i,
                     (unsigned long long)old_run, str(row, "name"), dt->name);
            retry_plan_free(p);
            p = NULL;
            break;
        }
        if (forced[i]) {
            set_reason(&t->u, xasprintf("forced: --from %s", g->tasks[from].name));
        } else if (upstream >= 0) {
            set_reason(&t->u, xasprintf("upstream task '%s' executes again",
                                        g->tasks[upstream].name));
        } else if (dt->map) {
            decide_map(p, g, i, row, outputs, usable, ud);
        } else {
            dag_scope sc = {outputs, NULL, -1};
            char ignored[512];
            json_t *in = dag_resolve_inputs(g, (size_t)i, &sc, ignored, sizeof ignored);
            decide(&t->u, row, in ? in : json_null(), old_run, usable, ud);
            json_decref(in);
            if (t->u.reuse)
                t->action = RETRY_REUSE;
        }
        outputs[i] = t->action == RETRY_REUSE ? (json_t *)t->u.outputs : NULL;
    }
    free(forced);
    free(outputs);
    if (p)
        count(p);
    return p;
}

void retry_plan_free(retry_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ntasks; i++) {
        free(p->t[i].u.reason);
        for (size_t e = 0; e < p->t[i].nelems; e++)
            free(p->t[i].elems[e].reason);
        free(p->t[i].elems);
    }
    free(p->t);
    free(p);
}

json_t *retry_plan_json(const retry_plan *p, const dag *g)
{
    static const char *const actions[] = {"execute", "reuse", "partial"};
    json_t *tasks = json_array();
    for (size_t i = 0; i < p->ntasks; i++) {
        const retry_task *t = &p->t[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", g->tasks[i].name, "action",
                              actions[t->action], "reason", t->u.reason ? t->u.reason : "");
        if (t->action == RETRY_PARTIAL) {
            json_t *exec = json_array();
            size_t nreuse = 0;
            char name[300];
            for (size_t e = 0; e < t->nelems; e++) {
                nreuse += t->elems[e].reuse;
                if (t->elems[e].reuse)
                    continue;
                dag_unit_name(g, (int)i, (int)e, name, sizeof name);
                json_array_append_new(exec, json_pack("{s:s, s:s}", "name", name, "reason",
                                                      t->elems[e].reason));
            }
            json_object_set_new(o, "elements",
                                json_pack("{s:I, s:I, s:o}", "reused", (json_int_t)nreuse,
                                          "executed", (json_int_t)(t->nelems - nreuse),
                                          "execute", exec));
        }
        json_array_append_new(tasks, o);
    }
    return json_pack("{s:I, s:I, s:I, s:o}", "run", (json_int_t)p->old_run, "reused",
                     (json_int_t)p->nreuse, "executed", (json_int_t)p->nexec, "tasks", tasks);
}

size_t retry_plan_nelems(const retry_plan *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->ntasks; i++)
        n += p->t[i].action == RETRY_PARTIAL ? p->t[i].nelems : 0;
    return n;
}

void retry_plan_snapshot(const retry_plan *p, core_task_snapshot *snap,
                         core_task_snapshot *elems)
{
    size_t used = 0;
    for (size_t i = 0; i < p->ntasks; i++) {
        const retry_task *t = &p->t[i];
        snap[i] = (core_task_snapshot){.state = TS_PENDING};
        if (t->action == RETRY_REUSE) {
            snap[i].state = TS_SUCCEEDED;
            snap[i].outputs = (json_t *)t->u.outputs;
        } else if (t->action == RETRY_PARTIAL) {
            snap[i].state = TS_RUNNING;
            snap[i].elems = &elems[used];
            snap[i].nelems = t->nelems;
            for (size_t e = 0; e < t->nelems; e++, used++) {
                elems[used] = (core_task_snapshot){.state = TS_PENDING};
                if (t->elems[e].reuse) {
                    elems[used].state = TS_SUCCEEDED;
                    elems[used].outputs = (json_t *)t->elems[e].outputs;
                }
            }
        }
    }
}
