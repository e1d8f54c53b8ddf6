/* gw_runs: /api/v1/runs: list (the filters of weft list, paged by a cursor), show, events,
 * and what changes a run, relayed to the scheduler: submit, cancel, retry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cron.h"
#include "common/xmem.h"
#include "gateway/gw.h"

#define LIST_DEFAULT 50
#define LIST_MAX 1000
#define PARAMS_MAX 256
/* A run's answer lists this many elements of each mapped task by default (counting all). */
#define ELEMENTS_DEFAULT 100
#define ELEMENTS_MAX 10000

/* A time query argument (RFC 3339, or a duration before now as in weft list) in µs into
 * *out (0 when absent): 0, or -1 answered 400. */
static int time_arg(gw_req *r, const char *name, int64_t *out)
{
    const char *v = gw_arg(r, name);
    *out = 0;
    if (v && cron_parse_when(v, (int64_t)time(NULL), out) < 0) {
        gw_error(r, 400, "invalid_argument", name, "%s: a time is RFC 3339 "
                 "(2026-01-02T03:04:05Z) or a duration before now (90m), not '%.64s'", name, v);
        return -1;
    }
    return 0;
}

/* A positive integer query argument in [1, max] into *out (dflt when absent): 0, or -1
 * answered 400. */
static int uint_arg(gw_req *r, const char *name, int64_t max, int64_t dflt, int64_t *out)
{
    const char *v = gw_arg(r, name);
    *out = dflt;
    if (!v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < 1 || n > max) {
        gw_error(r, 400, "invalid_argument", name, "%s is an integer from 1 to %lld, not "
                 "'%.64s'", name, (long long)max, v);
        return -1;
    }
    *out = n;
    return 0;
}

typedef struct labels_acc {
    json_t *obj;
    const char *bad;
} labels_acc;

static enum MHD_Result add_label(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    labels_acc *a = cls;
    if (strcmp(key, "label") != 0)
        return MHD_YES;
    const char *eq = value ? strchr(value, '=') : NULL;
    if (!eq || eq == value) {
        a->bad = value ? value : "";
        return MHD_NO;
    }
    char *k = xstrndup(value, (size_t)(eq - value));
    json_object_set_new(a->obj, k, json_string(eq + 1));
    free(k);
    return MHD_YES;
}

void gw_runs_list(gw_req *r)
{
    const char *project = gw_arg(r, "project");
    int64_t since, until, limit, cursor;
    if ((project && !gw_may_use(r, project)) || time_arg(r, "since", &since) < 0 ||
        time_arg(r, "until", &until) < 0 ||
        uint_arg(r, "limit", LIST_MAX, LIST_DEFAULT, &limit) < 0 ||
        uint_arg(r, "cursor", INT64_MAX, 0, &cursor) < 0)
        return;
    labels_acc la = {.obj = json_object()};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_label, &la);
    if (la.bad) {
        gw_error(r, 400, "invalid_argument", "label", "a label filter is KEY=VALUE, not "
                 "'%.64s'", la.bad);
        json_decref(la.obj);
        return;
    }
    catalog *cat = gw_catalog(r);
    char *labels = json_object_size(la.obj) ? json_dumps(la.obj, JSON_COMPACT) : NULL;
    json_decref(la.obj);
    char *within = auth_projects_json(&r->peer);
    catalog_runs_filter f = {.project = project, .within = within,
                             .workflow = gw_arg(r, "workflow"), .state = gw_arg(r, "state"),
                             .since_us = since, .until_us = until, .labels = labels,
                             .schedule = gw_arg(r, "schedule"), .before_run = cursor,
                             .limit = (int)limit};
    weft_err err = {0};
    json_t *runs = cat ? catalog_query_runs(cat, &f, &err) : NULL;
    free(labels);
    free(within);
    if (!cat)
        return;
    if (!runs) {
        gw_weft_error(r, err.code, err.msg);
        return;
    }
    size_t n = json_array_size(runs);
    json_t *next = json_null();
    if (n == (size_t)limit) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld",
                 (long long)json_integer_value(json_object_get(json_array_get(runs, n - 1),
                                                               "id")));
        next = json_string(buf);
    }
    gw_json(r, 200, json_pack("{s:o, s:o}", "runs", runs, "next_cursor", next));
}

typedef struct show {
    gw_req *r;
    int64_t run;
    int elements;
    weft_err err;
} show;

/* The run's answer as JSON text: its row, tasks, attempts and graph edges; of a mapped
 * task, every element counted and sh->elements of them listed. */
static char *make_show(void *ud, size_t *len)
{
    show *sh = ud;
    json_t *j = catalog_query_run_some(sh->r->cat, sh->run, sh->elements, 0, &sh->err);
    json_t *edges = j ? catalog_query_edges(sh->r->cat, sh->run, &sh->err) : NULL;
    char *text = NULL;
    if (edges) {
        json_object_set_new(j, "edges", edges);
        text = json_dumps(j, JSON_COMPACT);
        *len = text ? strlen(text) : 0;
    }
    json_decref(j);
    return text;
}

void gw_run_show(gw_req *r)
{
    char project[80];
    int64_t run = gw_run_arg(r, r->args[0]), elements;
    if (!run || uint_arg(r, "elements", ELEMENTS_MAX, ELEMENTS_DEFAULT, &elements) < 0 ||
        !gw_may_see_run(r, run, project, sizeof project))
        return;
    show sh = {.r = r, .run = run, .elements = (int)elements};
    size_t len = 0;
    /* Pollers of the page ask the default: that answer is shared. */
    char *text = elements == ELEMENTS_DEFAULT
                     ? gw_cache_run(r->g->cache, run, make_show, &sh, &len)
                     : make_show(&sh, &len);
    if (!text) {
        gw_weft_error(r, sh.err.code ? sh.err.code : WEFT_EDB, sh.err.msg);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    gw_respond(r, 200, resp);
}

void gw_run_events(gw_req *r)
{
    char project[80];
    int64_t run = gw_run_arg(r, r->args[0]), after, limit;
    if (!run || uint_arg(r, "after", INT64_MAX, 0, &after) < 0 ||
        uint_arg(r, "limit", LIST_MAX, LIST_MAX, &limit) < 0 ||
        !gw_may_see_run(r, run, project, sizeof project))
        return;
    weft_err err = {0};
    json_t *j = catalog_query_events(r->cat, run, after, (int)limit, &err);
    if (!j) {
        gw_weft_error(r, err.code, err.msg);
        return;
    }
    gw_json(r, 200, json_pack("{s:o}", "events", j));
}

/* The strings of object o (at most PARAMS_MAX) as wire Params (name -> value; a
 * non-string value as its JSON): a new array of *n, or NULL answered 400 naming field. */
static Weft__Param **wire_params(gw_req *r, const json_t *o, const char *field, size_t *n)
{
    *n = 0;
    if (!o)
        return NULL;
    if (!json_is_object(o) || json_object_size(o) > PARAMS_MAX) {
        gw_error(r, 400, "invalid_argument", field, "%s must be an object of at most %d "
                 "entries", field, PARAMS_MAX);
        return NULL;
    }
    Weft__Param **ps = xcalloc(json_object_size(o) + 1, sizeof *ps);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        Weft__Param *p = xcalloc(1, sizeof *p);
        weft__param__init(p);
        p->name = xstrdup(k);
        p->value = json_is_string(v) ? xstrdup(json_string_value(v))
                                     : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        ps[(*n)++] = p;
    }
    return ps;
}

static void free_params(Weft__Param **ps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ps[i]->name);
        free(ps[i]->value);
        free(ps[i]);
    }
    free(ps);
}

/* The header Idempotency-Key, or a fresh key in buf. */
static const char *idempotency_key(gw_req *r, char buf[33])
{
    const char *k = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Idempotency-Key");
    if (k)
        return k;
    client_new_key(buf);
    return buf;
}

json_t *gw_submit(gw_req *r, json_t *body, uint32_t wait_ms, uint64_t *run)
{
    const char *yaml, *file, *project, *workflow;
    if (gw_str_member(r, body, "yaml", &yaml) < 0 || gw_str_member(r, body, "file", &file) < 0 ||
        gw_str_member(r, body, "project", &project) < 0 ||
        gw_str_member(r, body, "workflow", &workflow) < 0)
        return NULL;
    if (!yaml == !workflow) {
        gw_error(r, 400, "invalid_argument", "yaml", "a submit names the workflow: its text "
                 "(yaml), or a registered workflow's name (workflow), one of them");
        return NULL;
    }
    if (project && !gw_may_use(r, project))
        return NULL;
    size_t np = 0, nl = 0;
    if (json_is_object(json_object_get(body, "params")) &&
        gw_inline_files(r, json_object_get(body, "params")) < 0)
        return NULL;
    Weft__Param **params = wire_params(r, json_object_get(body, "params"), "params", &np);
    Weft__Param **labels = r->answered ? NULL
                         : wire_params(r, json_object_get(body, "labels"), "labels", &nl);
    json_t *j = NULL;
    if (!r->answered) {
        char key[33];
        Weft__SubmitRequest rq = WEFT__SUBMIT_REQUEST__INIT;
        rq.yaml = (char *)(yaml ? yaml : "");
        rq.workflow = (char *)(workflow ? workflow : "");
        rq.file_name = (char *)(file ? file : "workflow.yaml");
        rq.project = (char *)(project ? project : "");
        rq.params = params;
        rq.n_params = np;
        rq.labels = labels;
        rq.n_labels = nl;
        rq.wait_ms = wait_ms;
        rq.idempotency_key = (char *)idempotency_key(r, key);
        rq.files = r->sent; /* upload_call frees them */
        rq.n_files = r->nsent;
        r->sent = NULL;
        r->nsent = r->capsent = 0;
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        env.body_case = WEFT__ENVELOPE__BODY_SUBMIT;
        env.submit = &rq;
        j = gw_sched_call(r, &env, workflow ? "workflow" : "yaml", run);
    }
    free_params(params, np);
    free_params(labels, nl);
    return j;
}

void gw_runs_submit(gw_req *r)
{
    json_t *body = gw_body_json(r);
    uint64_t run = 0;
    json_t *j = body ? gw_submit(r, body, 0, &run) : NULL;
    if (j)
        gw_json(r, 201, json_pack("{s:I}", "run_id", (json_int_t)run));
    json_decref(j);
    json_decref(body);
}

void gw_run_cancel(gw_req *r)
{
    char project[80], key[33];
    int64_t run = gw_run_arg(r, r->args[0]);
    if (!run || !gw_may_see_run(r, run, project, sizeof project))
        return;
    Weft__CancelRequest rq = WEFT__CANCEL_REQUEST__INIT;
    rq.run_id = (uint64_t)run;
    rq.idempotency_key = (char *)idempotency_key(r, key);
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_CANCEL;
    env.cancel = &rq;
    json_t *j = gw_sched_call(r, &env, "run", NULL);
    if (j)
        gw_json(r, 202, json_pack("{s:I, s:b}", "run_id", (json_int_t)run,
                                  "cancel_requested", 1));
    json_decref(j);
}

/* POST /api/v1/runs/{run}/tasks/{task}/signal: {"approve": true, "values": {...}} or
 * {"reject": "reason"}: decides an approval that waits (weft signal). */
void gw_task_signal(gw_req *r)
{
    char project[80], key[33];
    int64_t run = gw_run_arg(r, r->args[0]);
    json_t *body = run ? gw_body_json(r) : NULL;
    const json_t *approve = json_object_get(body, "approve");
    const char *reject = NULL;
    if (!body)
        return;
    if (gw_str_member(r, body, "reject", &reject) < 0 ||
        (approve && !json_is_true(approve) &&
         (gw_error(r, 400, "invalid_argument", "approve", "approve must be true"), 1)) ||
        (!approve == !reject &&
         (gw_error(r, 400, "invalid_argument", "approve",
                   "give one of approve: true (with values) or reject: \"reason\""), 1)) ||
        !gw_may_see_run(r, run, project, sizeof project)) {
        json_decref(body);
        return;
    }
    size_t nv = 0;
    Weft__Param **values = wire_params(r, json_object_get(body, "values"), "values", &nv);
    if (!r->answered) {
        Weft__SignalRequest rq = WEFT__SIGNAL_REQUEST__INIT;
        rq.run_id = (uint64_t)run;
        rq.task = r->args[1];
        rq.approve = approve != NULL;
        rq.reason = (char *)(reject ? reject : "");
        rq.values = values;
        rq.n_values = nv;
        rq.idempotency_key = (char *)idempotency_key(r, key);
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        env.body_case = WEFT__ENVELOPE__BODY_SIGNAL;
        env.signal = &rq;
        json_t *j = gw_sched_call(r, &env, "task", NULL);
        if (j)
            gw_json(r, 200, json_pack("{s:I, s:s, s:s}", "run_id", (json_int_t)run, "task",
                                      r->args[1], "decision", approve ? "approved" : "rejected"));
        json_decref(j);
    }
    free_params(values, nv);
    json_decref(body);
}

void gw_run_retry(gw_req *r)
{
    char project[80], key[33];
    int64_t run = gw_run_arg(r, r->args[0]);
    json_t *body = run ? gw_body_json(r) : NULL;
    const char *from;
    if (!body)
        return;
    const json_t *dry = json_object_get(body, "dry_run");
    if (gw_str_member(r, body, "from", &from) < 0 ||
        (dry && !json_is_boolean(dry) &&
         (gw_error(r, 400, "invalid_argument", "dry_run", "dry_run must be true or false"),
          1)) ||
        !gw_may_see_run(r, run, project, sizeof project)) {
        json_decref(body);
        return;
    }
    size_t np = 0;
    Weft__Param **params = wire_params(r, json_object_get(body, "params"), "params", &np);
    if (!r->answered) {
        Weft__RetryRequest rq = WEFT__RETRY_REQUEST__INIT;
        rq.run_id = (uint64_t)run;
        rq.from_task = (char *)(from ? from : "");
        rq.dry_run = json_is_true(dry);
        rq.params = params;
        rq.n_params = np;
        rq.idempotency_key = (char *)(rq.dry_run ? "" : idempotency_key(r, key));
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        env.body_case = WEFT__ENVELOPE__BODY_RETRY;
        env.retry = &rq;
        uint64_t new_run = 0;
        json_t *plan = gw_sched_call(r, &env, from ? "from" : "run", &new_run);
        if (plan)
            gw_json(r, rq.dry_run ? 200 : 201,
                    json_pack("{s:o, s:O}", "run_id",
                              new_run ? json_integer((json_int_t)new_run) : json_null(),
                              "plan", plan));
        json_decref(plan);
    }
    free_params(params, np);
    json_decref(body);
}
