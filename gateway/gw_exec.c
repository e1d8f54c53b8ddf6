/* gw_exec: workflows kept by name (POST /api/v1/workflows) and run synchronously
 * (POST /api/v1/workflows/{name}/execute: the answer holds the run's outputs, as Step
 * Functions' StartSyncExecution does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/store.h"
#include "common/xmem.h"
#include "gateway/gw.h"

#define EXEC_WAIT_DEFAULT_MS 30000
#define EXEC_WAIT_MAX_MS 300000
#define INLINE_MAX (64u << 10) /* a file output up to this size comes inline as text */

void gw_workflows_register(gw_req *r)
{
    json_t *body = gw_body_json(r);
    if (!body)
        return;
    const char *yaml, *file, *project;
    if (gw_str_member(r, body, "yaml", &yaml) < 0 || gw_str_member(r, body, "file", &file) < 0 ||
        gw_str_member(r, body, "project", &project) < 0) {
        json_decref(body);
        return;
    }
    if (!yaml)
        gw_error(r, 400, "invalid_argument", "yaml", "a registration needs the workflow's "
                 "text: yaml (a string, or a file in a form)");
    else if (!project || gw_may_use(r, project)) {
        Weft__SubmitRequest rq = WEFT__SUBMIT_REQUEST__INIT;
        rq.yaml = (char *)yaml;
        rq.file_name = (char *)(file ? file : "workflow.yaml");
        rq.project = (char *)(project ? project : "");
        rq.mode = (char *)"register";
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        env.body_case = WEFT__ENVELOPE__BODY_SUBMIT;
        env.submit = &rq;
        json_t *j = gw_sched_call(r, &env, "yaml", NULL);
        if (j)
            gw_json(r, 201, j);
    }
    json_decref(body);
}

/* Adds to a file output ref its "url", and its "content" when it is small UTF-8 text. */
static void describe_file(gw_req *r, store *st, int64_t run, const char *task,
                          const char *name, json_t *ref)
{
    char *url = xasprintf("/api/v1/runs/%lld/tasks/%s/outputs/%s", (long long)run, task,
                          name);
    json_object_set_new(ref, "url", json_string(url));
    free(url);
    json_int_t size = json_integer_value(json_object_get(ref, "size"));
    const char *hex = artref_hash(ref);
    int fd;
    uint64_t got;
    weft_err err = {0};
    if (!st || artref_is_dir(ref) || size > (json_int_t)INLINE_MAX ||
        store_open_blob(st, hex, &fd, &got, &err) < 0)
        return;
    char *buf = xmalloc(got + 1);
    ssize_t n = got ? pread(fd, buf, got, 0) : 0;
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    json_t *text = n == (ssize_t)got ? json_stringn(buf, got) : NULL; /* NULL: not UTF-8 */
    if (text)
        json_object_set_new(ref, "content", text);
    free(buf);
    (void)r;
}

/* The answer to an execute: the run's state and its last task's outputs, file outputs
 * with their URL (and content, when small). */
static json_t *execution(gw_req *r, json_t *reply)
{
    int64_t run = json_integer_value(json_object_get(reply, "run_id"));
    const char *task = json_string_value(json_object_get(reply, "task"));
    json_t *outputs = json_object_get(reply, "outputs");
    if (task && json_is_object(outputs)) {
        weft_err err = {0};
        store *st = gw_store(r, &err); /* NULL: the outputs go without their content */
        const char *k;
        json_t *v;
        json_object_foreach(outputs, k, v)
            if (artref_hash(v))
                describe_file(r, st, run, task, k, v);
    }
    return json_incref(reply);
}

/* The state of run as the catalogue has it, as an execute's answer (a request repeated
 * with its Idempotency-Key is answered with the run it made). */
static json_t *from_catalogue(gw_req *r, uint64_t run)
{
    catalog *cat = gw_catalog(r);
    weft_err err = {0};
    json_t *j = cat ? catalog_query_run_some(cat, (int64_t)run, 1, 0, &err) : NULL;
    if (!j)
        return json_pack("{s:I, s:s}", "run_id", (json_int_t)run, "state", "unknown");
    json_t *tasks = json_object_get(j, "tasks");
    json_t *last = json_array_get(tasks, json_array_size(tasks) - 1);
    json_t *out = json_pack("{s:I, s:O, s:O, s:O, s:O}", "run_id", (json_int_t)run, "state",
                            json_object_get(j, "state"), "error", json_object_get(j, "error"),
                            "task", json_object_get(last, "name"), "outputs",
                            json_object_get(last, "outputs"));
    json_decref(j);
    return out;
}

void gw_workflow_execute(gw_req *r)
{
    json_t *body = gw_body_json(r);
    if (!body)
        return;
    const char *project = json_string_value(json_object_get(body, "project"));
    const json_t *timeout = json_object_get(body, "timeout_ms");
    json_int_t wait = timeout ? json_integer_value(timeout) : EXEC_WAIT_DEFAULT_MS;
    if (timeout && (!json_is_integer(timeout) || wait < 1 || wait > EXEC_WAIT_MAX_MS))
        gw_error(r, 400, "invalid_argument", "timeout_ms", "timeout_ms is an integer from 1 "
                 "to %d", EXEC_WAIT_MAX_MS);
    else if (!project || gw_may_use(r, project)) {
        json_object_set_new(body, "workflow", json_string(r->args[0]));
        uint64_t run = 0;
        json_t *reply = gw_submit(r, body, (uint32_t)wait, &run);
        if (reply) {
            json_t *ans = json_object_get(reply, "state") ? execution(r, reply)
                                                          : from_catalogue(r, run);
            const char *state = json_string_value(json_object_get(ans, "state"));
            int ended = state && strcmp(state, "running") && strcmp(state, "unknown");
            if (!ended) {
                char loc[64];
                snprintf(loc, sizeof loc, "/api/v1/runs/%llu", (unsigned long long)run);
                json_object_set_new(ans, "url", json_string(loc));
            }
            gw_json(r, ended ? 200 : 202, ans);
            json_decref(reply);
        }
    }
    json_decref(body);
}
