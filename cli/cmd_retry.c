/* weft retry RUN [--from TASK] [-p k=v]... [--dry-run] [--wait]
 *
 * Asks a scheduler for a new run of an ended run's workflow that reuses every task and map
 * element that succeeded (scheduler/retry.h), prints the plan (what is reused, what executes
 * again, and why) and follows the new run. With --scheduler, or a scheduler serving
 * --state, that scheduler runs it (--wait follows it); otherwise a local scheduler and
 * worker run it, as with `weft run`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/upload.h"
#include "cli/cli.h"
#include "common/units.h"
#include "common/xmem.h"

/* Up to 10 elements that execute again, then a count of the rest. */
static void print_elements(const json_t *elems)
{
    const json_t *exec = json_object_get(elems, "execute");
    size_t i, n = (size_t)json_integer_value(json_object_get(elems, "executed"));
    json_t *e;
    json_array_foreach(exec, i, e) {
        if (i == 10) {
            printf("             ... and %zu more\n", n - 10);
            break;
        }
        printf("             %s: %s\n", cli_str(e, "name"), cli_str(e, "reason"));
    }
}

static void print_plan(const json_t *plan, uint64_t run)
{
    printf("retry of run %lld: %lld reused, %lld to execute%s\n",
           (long long)json_integer_value(json_object_get(plan, "run")),
           (long long)json_integer_value(json_object_get(plan, "reused")),
           (long long)json_integer_value(json_object_get(plan, "executed")),
           run ? "" : " (dry run: nothing started)");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(plan, "tasks"), i, t) {
        printf("  %-8s %-20s %s\n", cli_str(t, "action"), cli_str(t, "name"), cli_str(t, "reason"));
        if (json_object_get(t, "elements"))
            print_elements(json_object_get(t, "elements"));
    }
}

/* local_start: sends the RetryRequest, prints the plan; *run is the new run (0: dry run). */
static int request_retry(source *s, cli_opts *o, uint64_t *run)
{
    uint64_t old = 0;
    units_uint(o->args[0], 1, INT64_MAX, &old);
    Weft__Param *params;
    Weft__Param **pp = cli_wire_params(o->params, o->nparams, &params);
    char *cwd = getcwd(NULL, 0);
    Weft__RetryRequest rq = WEFT__RETRY_REQUEST__INIT;
    rq.run_id = old;
    rq.from_task = (char *)(o->from ? o->from : "");
    rq.params = pp;
    rq.n_params = o->nparams;
    rq.dry_run = o->dry_run;
    rq.cwd = cwd ? cwd : "";
    char key[33];
    rq.idempotency_key = (char *)cli_request_key(o, key);
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_RETRY;
    env.retry = &rq;
    Weft__Envelope *reply = NULL;
    weft_err err = {0};
    int rc = upload_call(source_client(s), &env, NULL, &reply, &err);
    free(params);
    free(pp);
    free(cwd);
    if (rc < 0)
        return cli_exit_for(&err);
    rc = EXIT_OK;
    if (reply->reply->code != 0) {
        rc = cli_refused(reply->reply);
    } else {
        *run = reply->reply->run_id;
        json_t *plan = json_loads(reply->reply->json, 0, NULL);
        if (o->json) {
            json_object_set_new(plan, "new_run", json_integer((json_int_t)*run));
            char *text = json_dumps(plan, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            puts(text);
            free(text);
        } else {
            print_plan(plan, *run);
            if (*run)
                printf("run %llu: retry of run %llu\n", (unsigned long long)*run,
                       (unsigned long long)old);
        }
        json_decref(plan);
    }
    weft__envelope__free_unpacked(reply, NULL);
    return rc;
}

/* Whether a scheduler daemon serves o->state (its socket exists). */
static int daemon_serves(const cli_opts *o)
{
    char *sock = xasprintf("%s/scheduler.sock", o->state);
    struct stat st;
    int yes = stat(sock, &st) == 0 && S_ISSOCK(st.st_mode);
    free(sock);
    return yes;
}

int cmd_retry(cli_opts *o)
{
    uint64_t old = 0;
    if (o->nargs != 1 || units_uint(o->args[0], 1, INT64_MAX, &old) < 0) {
        fprintf(stderr, o->nargs != 1 ? "weft: retry takes RUN\n"
                                      : "weft: '%s' is not a run id\n",
                o->nargs ? o->args[0] : "");
        return EXIT_USAGE;
    }
    if (!o->scheduler && !daemon_serves(o))
        return cli_local_session(o, request_retry);
    source *s = NULL;
    uint64_t run = 0;
    int rc = cli_open_scheduler(o, &s);
    if (!rc)
        rc = request_retry(s, o, &run);
    if (!rc && run && o->wait) {
        rc = follow_run(s, run, o->json);
        if (!o->json)
            print_run_summary(s, run);
    }
    source_close(&s);
    return rc;
}
