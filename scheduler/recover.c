/* recover: rebuilding runs after a restart. See recover.h. */
#include "scheduler/recover.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"
#include "scheduler/compile.h"
#include "scheduler/ingest.h"
#include "scheduler/typereg.h"

static int parse_state(const char *s)
{
    for (int i = 0; i < TS__COUNT; i++)
        if (!strcmp(s, core_task_state_name(i)))
            return i;
    return -1;
}

static dag *recompile(const json_t *row, weft_err *err)
{
    const char *file = json_string_value(json_object_get(row, "file"));
    const char *spec = json_string_value(json_object_get(row, "spec"));
    typereg *types = typereg_new();
    typereg_add_description(types, json_object_get(row, "types"));
    diag *d = diag_new(file ? file : "workflow.yaml");
    /* The paths it named are not read again: the run keeps the artifacts it was given. */
    ingest_ctx ic = {.pinned = json_object_get(row, "artifacts"), .pinned_only = 1};
    compile_input in = {.file = file ? file : "workflow.yaml", .text = spec ? spec : "",
                        .len = spec ? strlen(spec) : 0, .types = types,
                        .param_values = json_object_get(row, "params"),
                        .ingest = ingest_path, .ingest_ud = &ic};
    dag *g = compile_workflow(&in, d);
    if (!g) {
        char *errors = diag_render(d);
        err_set(err, WEFT_ECOMPILE, "cannot recompile the workflow: %s", errors);
        free(errors);
    }
    diag_destroy(&d);
    typereg_destroy(&types);
    return g;
}

int recover_run(catalog *cat, int64_t run, int64_t now_us, recovered *out, weft_err *err)
{
    memset(out, 0, sizeof *out);
    json_t *row = catalog_query_recovery(cat, run, err);
    if (!row)
        return err->code ? err->code : WEFT_EDB;
    dag *g = recompile(row, err);
    json_t *tasks = json_object_get(row, "tasks");
    if (g && json_array_size(tasks) != g->ntasks) {
        err_set(err, WEFT_EDB, "the catalogue holds %zu tasks for run %lld; its workflow has %zu",
                json_array_size(tasks), (long long)run, g->ntasks);
        dag_free(g);
        g = NULL;
    }
    if (!g) {
        json_decref(row);
        return err->code;
    }
    core_task_snapshot *snap = xcalloc(g->ntasks, sizeof *snap);
    size_t i;
    json_t *t;
    json_array_foreach(tasks, i, t) {
        int state = parse_state(json_string_value(json_object_get(t, "state")));
        snap[i].state = state < 0 ? TS_PENDING : state;
        snap[i].attempts = (int)json_integer_value(json_object_get(t, "attempts"));
        snap[i].attempt_id = (uint64_t)json_integer_value(json_object_get(t, "running_attempt"));
        snap[i].outputs = json_object_get(t, "outputs");
        snap[i].due_us = json_integer_value(json_object_get(t, "retry_due_us"));
        if (snap[i].state == TS_RETRY_WAIT && !snap[i].due_us)
            snap[i].due_us = now_us;
    }
    out->snap = snap;
    out->row = row;
    out->ev = (core_event){.kind = EV_RUN_RESTORED, .now_us = now_us, .run_id = (uint64_t)run,
                           .dag = g, .snapshot = snap,
                           .started_us = json_integer_value(json_object_get(row, "created_us"))};
    return 0;
}

void recover_free(recovered *r)
{
    free(r->snap);
    json_decref(r->row);
    memset(r, 0, sizeof *r);
}
