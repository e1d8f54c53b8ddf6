/* weft project: projects and their limits on a scheduler.
 *
 *   weft project ls                      the projects this client may use: limits, runs
 *                                        running and attempts in flight now, runs ever
 *   weft project set NAME [--max-runs N] [--max-tasks N] [--max-inflight N] [--priority P]
 *                                        set a project's limits (admin); 0 is no limit, and
 *                                        a limit not given is kept as it was; P is the
 *                                        priority of its tasks that name none
 *
 * A run's project is named when it is submitted (--project, $WEFT_PROJECT, else
 * "default"); see docs/security.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static json_t *ask(const cli_opts *o, Weft__ProjectRequest *rq, int *rc)
{
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_PROJECT;
    env.project = rq;
    return cli_ask(o, &env, rc);
}

/* A limit for people: "-" for none. */
static const char *limit(const json_t *row, const char *k, char *buf, size_t n)
{
    json_int_t v = json_integer_value(json_object_get(row, k));
    if (v <= 0)
        return "-";
    snprintf(buf, n, "%lld", (long long)v);
    return buf;
}

static int project_ls(const cli_opts *o)
{
    Weft__ProjectRequest rq = WEFT__PROJECT_REQUEST__INIT;
    rq.op = WEFT__PROJECT_OP__PROJECT_LIST;
    int rc;
    json_t *rows = ask(o, &rq, &rc);
    if (!rows)
        return rc;
    if (o->json) {
        cli_print_json(rows);
    } else {
        printf("%-24s %9s %9s %9s %9s %9s %9s %9s\n", "PROJECT", "RUNNING", "MAX-RUNS",
               "INFLIGHT", "MAX-INFL", "MAX-TASKS", "PRIORITY", "RUNS");
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) {
            char a[24], b[24], c[24];
            printf("%-24s %9lld %9s %9lld %9s %9s %9lld %9lld\n",
                   json_string_value(json_object_get(r, "name")),
                   (long long)json_integer_value(json_object_get(r, "running")),
                   limit(r, "max_runs", a, sizeof a),
                   (long long)json_integer_value(json_object_get(r, "inflight")),
                   limit(r, "max_inflight", b, sizeof b), limit(r, "max_tasks", c, sizeof c),
                   (long long)json_integer_value(json_object_get(r, "priority")),
                   (long long)json_integer_value(json_object_get(r, "runs")));
        }
    }
    json_decref(rows);
    return EXIT_OK;
}

/* The project's current limits (from ls), so that set changes only the ones given. */
static json_t *current(const cli_opts *o, const char *name, int *rc)
{
    Weft__ProjectRequest rq = WEFT__PROJECT_REQUEST__INIT;
    rq.op = WEFT__PROJECT_OP__PROJECT_LIST;
    json_t *rows = ask(o, &rq, rc);
    json_t *found = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        if (!strcmp(json_string_value(json_object_get(r, "name")), name))
            found = json_incref(r);
    json_decref(rows);
    if (!found && !*rc)
        found = json_object();
    return found;
}

static uint64_t pick(int64_t given, const json_t *row, const char *k)
{
    if (given >= 0)
        return (uint64_t)given;
    json_int_t v = json_integer_value(json_object_get(row, k));
    return v > 0 ? (uint64_t)v : 0;
}

static int project_set(const cli_opts *o)
{
    if (o->nargs != 2) {
        fprintf(stderr, "weft: project set takes NAME and one or more of --max-runs N, "
                        "--max-tasks N, --max-inflight N, --priority P\n");
        return EXIT_USAGE;
    }
    if (o->max_runs < 0 && o->max_tasks < 0 && o->max_inflight < 0 && !o->has_priority) {
        fprintf(stderr, "weft: project set: give --max-runs, --max-tasks, --max-inflight "
                        "(0: no limit) or --priority\n");
        return EXIT_USAGE;
    }
    int rc = 0;
    json_t *now = current(o, o->args[1], &rc);
    if (!now)
        return rc;
    Weft__ProjectRequest rq = WEFT__PROJECT_REQUEST__INIT;
    rq.op = WEFT__PROJECT_OP__PROJECT_SET;
    rq.name = o->args[1];
    rq.max_runs = pick(o->max_runs, now, "max_runs");
    rq.max_tasks = pick(o->max_tasks, now, "max_tasks");
    rq.max_inflight = pick(o->max_inflight, now, "max_inflight");
    rq.priority = o->has_priority ? o->priority
                                  : (int)json_integer_value(json_object_get(now, "priority"));
    json_decref(now);
    json_t *row = ask(o, &rq, &rc);
    if (!row)
        return rc;
    if (o->json) {
        cli_print_json(row);
    } else {
        char a[24], b[24], c[24];
        printf("project %s: max runs %s, max tasks per run %s, max attempts in flight %s, "
               "priority %lld\n", o->args[1], limit(row, "max_runs", a, sizeof a),
               limit(row, "max_tasks", b, sizeof b), limit(row, "max_inflight", c, sizeof c),
               (long long)json_integer_value(json_object_get(row, "priority")));
    }
    json_decref(row);
    return EXIT_OK;
}

int cmd_project(cli_opts *o)
{
    const char *sub = o->nargs ? o->args[0] : "";
    if (!strcmp(sub, "ls"))
        return project_ls(o);
    if (!strcmp(sub, "set"))
        return project_set(o);
    fprintf(stderr, "weft: project takes ls or set\n");
    return EXIT_USAGE;
}
