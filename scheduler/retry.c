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

retry_row retry_row_of(const json_t *o)
{
    return (retry_row){.name = str(o, "name"), .state = str(o, "state"),
                       .error = str(o, "error"), .source = str(o, "source"),
                       .source_run = json_integer_value(json_object_get(o, "source_run")),
                       .source_task = str(o, "source_task"),
                       .inputs = json_object_get(o, "inputs"),
                       .outputs = json_object_get(o, "outputs")};
}

int retry_nested_elements(void *ud, int task, retry_row_fn fn, void *fnud, char *why,
                          size_t n)
{
    (void)why, (void)n;
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(json_array_get(ud, (size_t)task), "elements"), i, e) {
        retry_row row = retry_row_of(e);
        if (fn(fnud, &row))
            return 0;
    }
    return 0;
}

static void set_reason(retry_unit *u, char *reason)
{
    free(u->reason);
    u->reason = reason;
}

/* Why a unit that did not succeed runs again: "failed in run 3: message". */
static char *not_succeeded(const retry_row *row, uint64_t run)
{
    const char *st = row->state ? row->state : "", *err = row->error ? row->error : "";
    if (!*st || !strcmp(st, "pending"))
        return xasprintf("never ran in run %llu", (unsigned long long)run);
    return xasprintf("%s in run %llu%s%s", st, (unsigned long long)run, *err ? ": " : "", err);
}

/* Decides one task or element whose upstream is reused: inputs are what it would get now. */
static void decide(retry_unit *u, const retry_row *row, const json_t *inputs, uint64_t run,
                   retry_usable_fn usable, void *ud)
{
    char why[512];
    if (!row->state || strcmp(row->state, "succeeded") != 0) {
        set_reason(u, not_succeeded(row, run));
    } else if (inputs && !json_equal(inputs, row->inputs)) {
        set_reason(u, xasprintf("its inputs changed since run %llu", (unsigned long long)run));
    } else if (usable && usable(ud, row->outputs, why, sizeof why) != 0) {
        set_reason(u, xasprintf("its outputs from run %llu cannot be reused: %s",
                                (unsigned long long)run, why));
    } else {
        /* Reused: lineage points at the execution that computed the outputs. */
        int copied = row->source && *row->source && strcmp(row->source, "computed") != 0 &&
                     row->source_run;
        u->reuse = 1;
        u->outputs = json_incref(row->outputs);
        u->inputs = json_incref(row->inputs);
        u->source_run = copied ? (uint64_t)row->source_run : run;
        u->source_task = xstrdup(copied && row->source_task ? row->source_task : row->name);
        set_reason(u, xasprintf("succeeded in run %llu", (unsigned long long)run));
    }
}

static void unit_free(retry_unit *u)
{
    free(u->reason);
    free(u->source_task);
    json_decref(u->outputs);
    json_decref(u->inputs);
}

/* The walk over a mapped task's element rows: each decided against the list now. */
typedef struct map_walk {
    retry_plan *p;
    const dag *g;
    int task;
    const json_t *items;
    json_t *const *outputs;
    retry_usable_fn usable;
    void *ud;
    size_t nrows, nreuse;
} map_walk;

static int decide_element(void *fnud, const retry_row *row)
{
    map_walk *w = fnud;
    retry_task *t = &w->p->t[w->task];
    size_t e = w->nrows++;
    if (e >= t->nelems)
        return 1; /* more rows than items: the list changed */
    char why[512];
    dag_scope sc = {w->outputs, json_array_get(w->items, e), (int64_t)e, NULL};
    json_t *in = dag_resolve_inputs(w->g, (size_t)w->task, &sc, why, sizeof why);
    decide(&t->elems[e], row, in, w->p->old_run, w->usable, w->ud);
    json_decref(in);
    w->nreuse += t->elems[e].reuse;
    return 0;
}

static void drop_elements(retry_task *t)
{
    for (size_t e = 0; e < t->nelems; e++)
        unit_free(&t->elems[e]);
    free(t->elems);
    t->elems = NULL;
    t->nelems = 0;
}

/* A mapped task whose parents are reused: the same list, element by element. */
static int decide_map(retry_plan *p, const dag *g, int i, const json_t *row,
                      json_t *const *outputs, const retry_source *src, retry_usable_fn usable,
                      void *ud, char *err, size_t errn)
{
    retry_task *t = &p->t[i];
    char why[512];
    dag_scope sc = {outputs, NULL, -1, NULL};
    json_t *items = dag_resolve_value(g, g->tasks[i].map, &sc, why, sizeof why);
    retry_row trow = retry_row_of(row);
    map_walk w = {.p = p, .g = g, .task = i, .items = items, .outputs = outputs,
                  .usable = usable, .ud = ud};
    t->nelems = json_array_size(items);
    t->elems = xcalloc(t->nelems + 1, sizeof *t->elems);
    int rc = src->elements(src->ud, i, decide_element, &w, err, errn);
    int listed = json_is_array(items);
    json_decref(items);
    if (rc < 0)
        return -1;
    if (!listed || w.nrows != t->nelems) {
        drop_elements(t);
        set_reason(&t->u, w.nrows ? xasprintf("its list changed since run %llu",
                                              (unsigned long long)p->old_run)
                                  : not_succeeded(&trow, p->old_run));
    } else if (w.nreuse == t->nelems && !strcmp(trow.state, "succeeded")) {
        t->action = RETRY_REUSE;
        decide(&t->u, &trow, NULL, p->old_run, NULL, NULL);
    } else if (w.nreuse) {
        t->action = RETRY_PARTIAL;
        set_reason(&t->u, xasprintf("%zu of %zu elements reused; %zu execute again", w.nreuse,
                                    t->nelems, t->nelems - w.nreuse));
    } else if (t->nelems) {
        set_reason(&t->u, xasprintf("no element can be reused (%s)", t->elems[0].reason));
    } else {
        set_reason(&t->u, not_succeeded(&trow, p->old_run));
    }
    return 0;
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

retry_plan *retry_plan_make(const dag *g, uint64_t old_run, const retry_source *src, int from,
                            retry_usable_fn usable, void *ud, char *why, size_t n)
{
    if (json_array_size(src->tasks) != g->ntasks) {
        snprintf(why, n, "run %llu has %zu tasks; its workflow now compiles to %zu",
                 (unsigned long long)old_run, json_array_size(src->tasks), g->ntasks);
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
    for (size_t k = 0; p && k < g->ntasks; k++) {
        int i = g->order[k];
        const dag_task *dt = &g->tasks[i];
        const json_t *row = json_array_get(src->tasks, (size_t)i);
        retry_task *t = &p->t[i];
        int upstream = -1, failed = 0;
        for (size_t q = 0; q < dt->nparents && upstream < 0; q++)
            if (p->t[dt->parents[q]].action != RETRY_REUSE)
                upstream = dt->parents[q];
        if (strcmp(str(row, "name"), dt->name) != 0) {
            snprintf(why, n, "task %d of run %llu is '%s'; the workflow now names it '%s'", i,
                     (unsigned long long)old_run, str(row, "name"), dt->name);
            failed = 1;
        } else if (forced[i]) {
            set_reason(&t->u, xasprintf("forced: --from %s", g->tasks[from].name));
        } else if (upstream >= 0) {
            set_reason(&t->u, xasprintf("upstream task '%s' executes again",
                                        g->tasks[upstream].name));
        } else if (dt->map) {
            failed = decide_map(p, g, i, row, outputs, src, usable, ud, why, n) < 0;
        } else {
            dag_scope sc = {outputs, NULL, -1, NULL};
            char ignored[512];
            json_t *in = dag_resolve_inputs(g, (size_t)i, &sc, ignored, sizeof ignored);
            retry_row trow = retry_row_of(row);
            decide(&t->u, &trow, in ? in : json_null(), old_run, usable, ud);
            json_decref(in);
            if (t->u.reuse)
                t->action = RETRY_REUSE;
        }
        if (failed) {
            retry_plan_free(p);
            p = NULL;
            break;
        }
        outputs[i] = t->action == RETRY_REUSE ? t->u.outputs : NULL;
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
        unit_free(&p->t[i].u);
        drop_elements(&p->t[i]);
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
                if (t->elems[e].reuse || json_array_size(exec) == RETRY_LISTED)
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
        n += p->t[i].elems ? p->t[i].nelems : 0;
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
            snap[i].outputs = t->u.outputs;
        }
        /* A mapped task's elements as their rows say (record_reused): a reused map's are
         * not run again, but the run's counts count them. */
        if (t->elems && (t->action == RETRY_REUSE || t->action == RETRY_PARTIAL)) {
            if (t->action == RETRY_PARTIAL)
                snap[i].state = TS_RUNNING;
            snap[i].elems = &elems[used];
            snap[i].nelems = t->nelems;
            for (size_t e = 0; e < t->nelems; e++, used++) {
                elems[used] = (core_task_snapshot){.state = TS_PENDING};
                if (t->elems[e].reuse) {
                    elems[used].state = TS_SUCCEEDED;
                    elems[used].outputs = t->elems[e].outputs;
                }
            }
        }
    }
}
