/* sched_project: projects in the scheduler: who may use which (auth.h), the limits of each
 * (the catalogue's projects table, applied to the core), and the project requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

#define BAD_PROJECT_NAME "a project's name is 1 to 64 characters of [A-Za-z0-9_-]"

/* A limit of a project's row (0: none). */
static size_t limit_of(const json_t *row, const char *what)
{
    json_int_t v = json_integer_value(json_object_get(row, what));
    return v > 0 ? (size_t)v : 0;
}

int sched_projects_load(sched *s)
{
    weft_err err = {0};
    json_t *rows = catalog_list_projects(s->cat, &err);
    if (!rows) {
        log_error("cannot read the projects' limits: %s", err.msg);
        return WEFT_EDB;
    }
    json_decref(s->project_limits);
    s->project_limits = json_object();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        json_object_set(s->project_limits, name, r);
        core_set_project(s->core, name, limit_of(r, "max_inflight"), limit_of(r, "max_tasks"),
                         (int)json_integer_value(json_object_get(r, "priority")));
    }
    json_decref(rows);
    return 0;
}

/* Refuses a client's request: logged with the principal, answered with WEFT_EDENIED. */
static void refuse(sched *s, const zmq_msg_t *id, const auth_peer *peer, const char *what,
                   const char *why)
{
    log_warn("refused %s from '%s': %s", what, peer->name, why);
    char *msg = xasprintf("refused: %s", why);
    sched_reply(s, id, WEFT_EDENIED, msg, NULL, 0);
    free(msg);
}

int sched_may_use(sched *s, const zmq_msg_t *id, const auth_peer *peer, const char *project,
                  const char *what)
{
    if (!auth_project_name_ok(project)) {
        sched_reply(s, id, WEFT_EINVAL, BAD_PROJECT_NAME, NULL, 0);
        return 0;
    }
    if (auth_may_use(peer, project))
        return 1;
    char why[200];
    snprintf(why, sizeof why, "'%s' may not use project '%s'", peer->name, project);
    refuse(s, id, peer, what, why);
    return 0;
}

int sched_may_see_run(sched *s, const zmq_msg_t *id, const auth_peer *peer, uint64_t run,
                      const char *what)
{
    if (peer->all_projects || !run)
        return 1;
    char project[80];
    int rc = catalog_run_project(s->cat, (int64_t)run, project, sizeof project);
    if (rc < 0) {
        sched_reply(s, id, WEFT_EDB, "cannot read the run's project from the catalogue", NULL,
                    0);
        return 0;
    }
    if (rc == 0 || auth_may_use(peer, project))
        return 1; /* an unknown run is answered as such by the request */
    char why[200];
    snprintf(why, sizeof why, "run %llu is not in a project '%s' may use",
             (unsigned long long)run, peer->name);
    refuse(s, id, peer, what, why);
    return 0;
}

int sched_limits_why(sched *s, const char *project, size_t ntasks, int new_run, char *why,
                     size_t n)
{
    const json_t *row = json_object_get(s->project_limits, project);
    size_t max_runs = limit_of(row, "max_runs"), max_tasks = limit_of(row, "max_tasks");
    size_t runs, inflight;
    core_project_usage(s->core, project, &runs, &inflight);
    if (max_tasks && ntasks > max_tasks) {
        snprintf(why, n, "project '%s' allows %zu tasks and map elements per run; this run "
                 "has %zu tasks (weft project set --max-tasks)", project, max_tasks, ntasks);
        return 0;
    }
    if (new_run && max_runs && runs >= max_runs) {
        snprintf(why, n, "project '%s' has %zu runs running, its limit; wait for one to end "
                 "(weft project set --max-runs)", project, runs);
        return 0;
    }
    return 1;
}

int sched_within_limits(sched *s, const zmq_msg_t *id, const char *project, size_t ntasks)
{
    char why[300];
    if (sched_limits_why(s, project, ntasks, 1, why, sizeof why))
        return 1;
    log_warn("refused a run of project '%s': %s", project, why);
    sched_reply(s, id, WEFT_ELIMIT, why, NULL, 0);
    return 0;
}

/* Every project peer may use, with its limits and what it uses now. */
static json_t *list_projects(sched *s, const auth_peer *peer, weft_err *err)
{
    json_t *rows = catalog_list_projects(s->cat, err);
    if (!rows)
        return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        if (!auth_may_use(peer, name))
            continue;
        size_t runs, inflight;
        core_project_usage(s->core, name, &runs, &inflight);
        json_object_set_new(r, "running", json_integer((json_int_t)runs));
        json_object_set_new(r, "inflight", json_integer((json_int_t)inflight));
        json_array_append(out, r);
    }
    json_decref(rows);
    return out;
}

static void set_project(sched *s, const zmq_msg_t *id, const Weft__ProjectRequest *rq)
{
    if (!auth_project_name_ok(rq->name)) {
        sched_reply(s, id, WEFT_EINVAL, BAD_PROJECT_NAME, NULL, 0);
        return;
    }
    if (rq->max_runs > 1000000000 || rq->max_tasks > 1000000000 ||
        rq->max_inflight > 1000000000) {
        sched_reply(s, id, WEFT_EINVAL, "a project's limits are at most 1000000000", NULL, 0);
        return;
    }
    if (rq->priority < -1000 || rq->priority > 1000) {
        sched_reply(s, id, WEFT_EINVAL, "a project's priority is from -1000 to 1000", NULL, 0);
        return;
    }
    catalog_project p = {.name = rq->name, .max_runs = (int64_t)rq->max_runs,
                         .max_tasks = (int64_t)rq->max_tasks,
                         .max_inflight = (int64_t)rq->max_inflight,
                         .priority = rq->priority};
    if (catalog_set_project(s->cat, &p, clock_wall_us()) < 0) {
        sched_reply(s, id, WEFT_EDB, "cannot store the project's limits", NULL, 0);
        return;
    }
    json_t *row = json_pack("{s:s, s:I, s:I, s:I, s:i}", "name", rq->name, "max_runs",
                            (json_int_t)rq->max_runs, "max_tasks", (json_int_t)rq->max_tasks,
                            "max_inflight", (json_int_t)rq->max_inflight, "priority",
                            (int)rq->priority);
    json_object_set(s->project_limits, rq->name, row);
    core_set_project(s->core, rq->name, (size_t)rq->max_inflight, (size_t)rq->max_tasks,
                     rq->priority);
    log_info("project '%s': at most %llu runs, %llu tasks per run, %llu attempts in flight "
             "(0: no limit), priority %d", rq->name, (unsigned long long)rq->max_runs,
             (unsigned long long)rq->max_tasks, (unsigned long long)rq->max_inflight,
             (int)rq->priority);
    sched_reply_json(s, id, row, NULL);
}

void sched_on_project(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                      const Weft__ProjectRequest *rq)
{
    weft_err err = {0};
    if (rq->op == WEFT__PROJECT_OP__PROJECT_SET)
        set_project(s, id, rq);
    else
        sched_reply_json(s, id, list_projects(s, peer, &err), &err);
}
