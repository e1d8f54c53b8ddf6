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

static core_task_snapshot snapshot_of(const json_t *t, int64_t now_us)
{
    int state = parse_state(json_string_value(json_object_get(t, "state")));
    core_task_snapshot snap = {
        .state = state < 0 ? TS_PENDING : state,
        .attempts = (int)json_integer_value(json_object_get(t, "attempts")),
        .attempt_id = (uint64_t)json_integer_value(json_object_get(t, "running_attempt")),
        .worker = json_string_value(json_object_get(t, "running_worker")),
        .dispatched_us = json_integer_value(json_object_get(t, "running_dispatched_us")),
        .outputs = json_object_get(t, "outputs"),
        .due_us = json_integer_value(json_object_get(t, "retry_due_us"))};
    if (snap.state == TS_RETRY_WAIT && !snap.due_us)
        snap.due_us = now_us;
    return snap;
}

/* Rows come ordered by (idx, elem): each task's row, then its elements' rows. */
static int snapshot_rows(const json_t *tasks, const dag *g, int64_t run, int64_t now_us,
                         recovered *out, weft_err *err)
{
    size_t nrows = json_array_size(tasks), ntasks = 0, nelems = 0, i;
    json_t *t;
    out->snap = xcalloc(g->ntasks + 1, sizeof *out->snap);
    out->elems = xcalloc(nrows + 1, sizeof *out->elems);
    json_array_foreach(tasks, i, t) {
        json_int_t idx = json_integer_value(json_object_get(t, "idx"));
        json_int_t elem = json_integer_value(json_object_get(t, "elem"));
        core_task_snapshot *parent = ntasks ? &out->snap[ntasks - 1] : NULL;
        if (elem < 0 && idx == (json_int_t)ntasks && ntasks < g->ntasks) {
            out->snap[ntasks++] = snapshot_of(t, now_us);
        } else if (elem >= 0 && parent && idx == (json_int_t)ntasks - 1 &&
                   elem == (json_int_t)parent->nelems) {
            if (!parent->nelems)
                parent->elems = &out->elems[nelems];
            out->elems[nelems++] = snapshot_of(t, now_us);
            parent->nelems++;
        } else {
            break;
        }
    }
    if (i < nrows || ntasks != g->ntasks) {
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
    if (!g || snapshot_rows(json_object_get(row, "tasks"), g, run, now_us, out, err) < 0) {
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

void recover_free(recovered *r)
{
    free(r->snap);
    free(r->elems);
    json_decref(r->row);
    memset(r, 0, sizeof *r);
}
