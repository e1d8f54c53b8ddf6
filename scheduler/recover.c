/* recover: rebuilding runs after a restart. See recover.h. */
#include "scheduler/recover.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"

static int parse_state(const char *s)
{
    for (int i = 0; i < TS__COUNT; i++)
        if (!strcmp(s, core_task_state_name(i)))
            return i;
    return -1;
}

dag *recover_compile(const json_t *row, const typereg *types, const compile_param *params,
                     size_t nparams, ingest_ctx *ic, char **errors)
{
    const char *file = json_string_value(json_object_get(row, "file"));
    const char *spec = json_string_value(json_object_get(row, "spec"));
    diag *d = diag_new(file ? file : "workflow.yaml");
    compile_input in = {.file = file ? file : "workflow.yaml", .text = spec ? spec : "",
                        .len = spec ? strlen(spec) : 0, .types = types,
                        .params = params, .nparams = nparams,
                        .param_values = json_object_get(row, "params"),
                        .ingest = ingest_path, .ingest_ud = ic,
                        .schedule_vars = json_object_get(row, "schedule_vars"),
                        .now_s = json_integer_value(json_object_get(row, "created_us")) /
                                 1000000};
    dag *g = compile_workflow(&in, d);
    if (!g)
        *errors = diag_render(d);
    diag_destroy(&d);
    return g;
}

/* The run as it was submitted: the type declarations it was compiled against, and the
 * paths it named are not read again (the run keeps the artifacts it was given). */
static dag *recompile(const json_t *row, weft_err *err)
{
    typereg *types = typereg_new();
    typereg_add_description(types, json_object_get(row, "types"));
    ingest_ctx ic = {.pinned = json_object_get(row, "artifacts"), .pinned_only = 1};
    char *errors = NULL;
    dag *g = recover_compile(row, types, NULL, 0, &ic, &errors);
    if (!g)
        err_set(err, WEFT_ECOMPILE, "cannot recompile the workflow: %s", errors);
    free(errors);
    typereg_destroy(&types);
    return g;
}

/* What the walk over the run's rows builds: rows come ordered by (idx, elem), each task's
 * row, then its elements' rows. A mapped task records where its elements start; the
 * pointers are set once the element array stops moving. */
typedef struct snap_walk {
    recovered *out;
    const dag *g;
    int64_t now_us;
    size_t ntasks, nelems, capelems;
    size_t *first_elem;  /* per task: index of its first element in out->elems */
    int bad;
} snap_walk;

static core_task_snapshot snapshot_of(const catalog_unit *u, int64_t now_us)
{
    int state = parse_state(u->state);
    core_task_snapshot snap = {
        .state = state < 0 ? TS_PENDING : state,
        .attempts = u->attempts,
        .attempt_id = (uint64_t)u->running_attempt,
        .worker = u->running_worker ? xstrdup(u->running_worker) : NULL,
        .dispatched_us = u->running_dispatched_us,
        /* None for {}: the core gives each such unit its one shared empty object, and a
         * million succeeded elements are not parsed into 200 MB of them first. */
        .outputs = !u->outputs || !strcmp(u->outputs, "{}") ? NULL : catalog_unit_json(u->outputs),
        .due_us = u->retry_due_us};
    if (snap.state == TS_RETRY_WAIT && !snap.due_us)
        snap.due_us = now_us;
    return snap;
}

static int take_row(void *ud, const catalog_unit *u)
{
    snap_walk *w = ud;
    core_task_snapshot *parent = w->ntasks ? &w->out->snap[w->ntasks - 1] : NULL;
    if (u->elem < 0 && u->idx == (int)w->ntasks && w->ntasks < w->g->ntasks) {
        w->first_elem[w->ntasks] = w->nelems;
        w->out->snap[w->ntasks++] = snapshot_of(u, w->now_us);
    } else if (u->elem >= 0 && parent && u->idx == (int)w->ntasks - 1 &&
               u->elem == (int)parent->nelems) {
        xgrow(&w->out->elems, &w->capelems, w->nelems + 1, sizeof *w->out->elems);
        w->out->elems[w->nelems++] = snapshot_of(u, w->now_us);
        parent->nelems++;
    } else {
        w->bad = 1;
        return 1;
    }
    return 0;
}

/* Builds out->snap and out->elems from the run's rows. */
static int snapshot_rows(catalog *cat, const dag *g, int64_t run, int64_t now_us,
                         recovered *out, weft_err *err)
{
    snap_walk w = {.out = out, .g = g, .now_us = now_us,
                   .first_elem = xcalloc(g->ntasks + 1, sizeof *w.first_elem)};
    out->snap = xcalloc(g->ntasks + 1, sizeof *out->snap);
    out->nsnap = g->ntasks;
    int rc = catalog_each_unit(cat, run, -1, take_row, &w, err);
    out->nelems = w.nelems;
    for (size_t i = 0; i < w.ntasks; i++)
        if (out->snap[i].nelems)
            out->snap[i].elems = &out->elems[w.first_elem[i]];
    free(w.first_elem);
    if (rc < 0)
        return err->code ? err->code : WEFT_EDB;
    if (w.bad || w.ntasks != g->ntasks) {
        err_set(err, WEFT_EDB, "the catalogue's task rows for run %lld do not match its "
                "workflow (%zu tasks)", (long long)run, g->ntasks);
        return WEFT_EDB;
    }
    return 0;
}

int recover_run(catalog *cat, int64_t run, int64_t now_us, recovered *out, weft_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *row = catalog_query_recovery(cat, run, err);
    if (!row)
        return err->code ? err->code : WEFT_EDB;
    out->row = row;
    dag *g = recompile(row, err);
    if (!g || snapshot_rows(cat, g, run, now_us, out, err) != 0) {
        dag_free(g);
        recover_free(out);
        return err->code;
    }
    out->ev = (core_event){.kind = EV_RUN_RESTORED, .now_us = now_us, .run_id = (uint64_t)run,
                           .dag = g, .snapshot = out->snap,
                           .started_us = json_integer_value(json_object_get(row, "created_us")),
                           .project = json_string_value(json_object_get(row, "project"))};
    return 0;
}

static void snapshot_free(core_task_snapshot *s)
{
    json_decref(s->outputs);
    free((char *)s->worker);
}

void recover_free(recovered *r)
{
    for (size_t i = 0; r->snap && i < r->nsnap; i++)
        snapshot_free(&r->snap[i]);
    for (size_t i = 0; i < r->nelems; i++)
        snapshot_free(&r->elems[i]);
    free(r->snap);
    free(r->elems);
    json_decref(r->row);
    memset(r, 0, sizeof *r);
}
