/* gw_read: the gateway's other answers: workflows (with their typed parameters),
 * schedules (read here, paused and resumed by the scheduler), workers, cache entries,
 * health and the OpenAPI document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/xmem.h"
#include "gateway/gw.h"
#include "compiler/compile.h"

#define CACHE_LIST_MAX 1000

/* Answers with {name: rows} from a catalogue query's result (or its error). */
static void rows_answer(gw_req *r, const char *name, json_t *rows, const weft_err *err)
{
    if (!rows)
        gw_weft_error(r, err->code, err->msg);
    else
        gw_json(r, 200, json_pack("{s:o}", name, rows));
}

void gw_workflows_list(gw_req *r)
{
    catalog *cat = gw_catalog(r);
    if (!cat)
        return;
    char *within = auth_projects_json(&r->peer);
    weft_err err = {0};
    rows_answer(r, "workflows", catalog_query_workflows(cat, within, &err), &err);
    free(within);
}

void gw_workflow_show(gw_req *r)
{
    const char *project = gw_arg(r, "project");
    catalog *cat = !project || gw_may_use(r, project) ? gw_catalog(r) : NULL;
    if (!cat)
        return;
    char *within = auth_projects_json(&r->peer);
    weft_err err = {0};
    json_t *wf = catalog_query_workflow(cat, r->args[0], project, within, &err);
    free(within);
    if (!wf) {
        gw_weft_error_at(r, err.code, err.msg, "name");
        return;
    }
    if (!json_is_array(json_object_get(wf, "params"))) {
        /* A workflow that only ran: its parameters as its text declares them. */
        const char *spec = json_string_value(json_object_get(wf, "spec"));
        const char *file = json_string_value(json_object_get(wf, "file"));
        json_object_set_new(wf, "params",
                            compile_describe_params(file ? file : "workflow.yaml",
                                                    spec ? spec : "", spec ? strlen(spec) : 0));
    }
    gw_json(r, 200, wf);
}

void gw_schedules_list(gw_req *r)
{
    catalog *cat = gw_catalog(r);
    if (!cat)
        return;
    char *within = auth_projects_json(&r->peer);
    const char *all = gw_arg(r, "all");
    weft_err err = {0};
    json_t *rows = catalog_list_schedules(cat, within, all && strcmp(all, "0"), &err);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        catalog_schedule_describe(row, (int64_t)time(NULL));
    rows_answer(r, "schedules", rows, &err);
    free(within);
}

/* Pauses or resumes schedule args[0] through the scheduler (which checks its project). */
static void schedule_op(gw_req *r, Weft__ScheduleOp op)
{
    Weft__ScheduleRequest rq = WEFT__SCHEDULE_REQUEST__INIT;
    rq.op = op;
    rq.name = r->args[0];
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_SCHEDULE;
    env.schedule = &rq;
    json_t *j = gw_sched_call(r, &env, "name", NULL);
    if (j)
        gw_json(r, 200, j);
}

void gw_schedule_pause(gw_req *r)
{
    schedule_op(r, WEFT__SCHEDULE_OP__SCHEDULE_PAUSE);
}

void gw_schedule_resume(gw_req *r)
{
    schedule_op(r, WEFT__SCHEDULE_OP__SCHEDULE_RESUME);
}

void gw_workers_list(gw_req *r)
{
    catalog *cat = gw_catalog(r);
    if (!cat)
        return;
    weft_err err = {0};
    json_t *rows = catalog_query_workers(cat, &err);
    size_t i;
    json_t *w;
    json_array_foreach(rows, i, w) {
        /* The types a worker offers, by name (its plugins' description has their ports). */
        json_t *names = json_array();
        size_t k, t;
        json_t *plugin, *type;
        json_array_foreach(json_object_get(json_object_get(w, "types"), "plugins"), k, plugin)
            json_array_foreach(json_object_get(plugin, "types"), t, type)
                json_array_append(names, json_object_get(type, "name"));
        json_object_set_new(w, "types", names);
    }
    rows_answer(r, "workers", rows, &err);
}

void gw_cache_list(gw_req *r)
{
    const char *project = gw_arg(r, "project");
    catalog *cat = (!project || gw_may_use(r, project)) ? gw_catalog(r) : NULL;
    if (!cat)
        return;
    catalog_cache_filter f = {.workflow = gw_arg(r, "workflow"), .task = gw_arg(r, "task"),
                              .project = project};
    weft_err err = {0};
    json_t *rows = catalog_query_cache(cat, &f, CACHE_LIST_MAX, &err);
    /* Only the entries of projects the caller may use. */
    for (size_t i = json_array_size(rows); i-- > 0;) {
        const char *p = json_string_value(json_object_get(json_array_get(rows, i), "project"));
        if (!p || !auth_may_use(&r->peer, p))
            json_array_remove(rows, i);
    }
    rows_answer(r, "entries", rows, &err);
}

void gw_whoami(gw_req *r)
{
    const char *role = auth_role_name(r->peer.roles);
    json_t *projects = r->peer.all_projects ? json_null() : json_deep_copy(r->peer.projects);
    gw_json(r, 200, json_pack("{s:s, s:s, s:o}", "name", r->peer.name, "role",
                              role ? role : "client", "projects", projects));
}

void gw_healthz(gw_req *r)
{
    gw_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void gw_readyz(gw_req *r)
{
    char why[300];
    weft_err err = {0};
    catalog *cat = NULL;
    if (catalog_open(r->g->cfg.state, CATALOG_READONLY, &cat, &err) < 0) {
        gw_error(r, 503, "unavailable", NULL, "the catalogue: %s", err.msg);
        return;
    }
    catalog_close(&cat);
    if (!gw_sched_ready(r->g, why, sizeof why))
        gw_error(r, 503, "unavailable", NULL, "%s", why);
    else
        gw_json(r, 200, json_pack("{s:s}", "status", "ready"));
}

void gw_openapi(gw_req *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->g->openapi_len, r->g->openapi, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/yaml");
    gw_respond(r, 200, resp);
}
