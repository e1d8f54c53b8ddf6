/* gw_http: requests in, answers out: libmicrohttpd's callbacks, the body and its limit, the
 * route table, and the JSON answers every handler gives. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/xmem.h"
#include "gateway/gw.h"

/* A route: method and path, with {} for a path part handed to the handler in args. */
typedef struct route {
    const char *method, *path;
    void (*fn)(gw_req *r);
    int open; /* answered without a token */
} route;

static const route routes[] = {
    {"GET", "/healthz", gw_healthz, 1},
    {"GET", "/readyz", gw_readyz, 1},
    {"GET", "/api/v1/openapi.yaml", gw_openapi, 1},
    {"GET", "/api/v1/whoami", gw_whoami, 0},
    {"GET", "/", gw_ui, 1},
    {"GET", "/ui/{}", gw_ui, 1},
    {"GET", "/ui/vendor/{}", gw_ui, 1},
    {"GET", "/api/v1/runs", gw_runs_list, 0},
    {"POST", "/api/v1/runs", gw_runs_submit, 0},
    {"GET", "/api/v1/runs/{}", gw_run_show, 0},
    {"GET", "/api/v1/runs/{}/events", gw_run_events, 0},
    {"POST", "/api/v1/runs/{}/cancel", gw_run_cancel, 0},
    {"POST", "/api/v1/runs/{}/retry", gw_run_retry, 0},
    {"GET", "/api/v1/runs/{}/tasks/{}", gw_task_show, 0},
    {"GET", "/api/v1/runs/{}/tasks/{}/log", gw_task_log, 0},
    {"POST", "/api/v1/runs/{}/tasks/{}/signal", gw_task_signal, 0},
    {"GET", "/api/v1/runs/{}/tasks/{}/outputs/{}", gw_task_output, 0},
    {"GET", "/api/v1/workflows", gw_workflows_list, 0},
    {"POST", "/api/v1/workflows", gw_workflows_register, 0},
    {"GET", "/api/v1/workflows/{}", gw_workflow_show, 0},
    {"POST", "/api/v1/workflows/{}/execute", gw_workflow_execute, 0},
    {"GET", "/api/v1/schedules", gw_schedules_list, 0},
    {"POST", "/api/v1/schedules/{}/pause", gw_schedule_pause, 0},
    {"POST", "/api/v1/schedules/{}/resume", gw_schedule_resume, 0},
    {"GET", "/api/v1/workers", gw_workers_list, 0},
    {"GET", "/api/v1/cache", gw_cache_list, 0},
    {"GET", "/metrics", gw_metrics, 0},
};

#define NROUTES (sizeof routes / sizeof routes[0])

/* Counts r's answer under its route and status. */
static void count(gw_req *r)
{
    gw *g = r->g;
    pthread_mutex_lock(&g->lock);
    size_t i = 0;
    while (i < g->ncounts && (g->counts[i].route != r->route || g->counts[i].status != r->status))
        i++;
    if (i == g->ncounts) {
        xgrow(&g->counts, &g->capcounts, g->ncounts + 1, sizeof *g->counts);
        g->counts[g->ncounts++] = (gw_count){r->route, r->status, 0};
    }
    g->counts[i].n++;
    pthread_mutex_unlock(&g->lock);
}

void gw_http_metrics(gw *g, FILE *f)
{
    fprintf(f, "# HELP weft_http_requests_total HTTP requests the gateway answered, by route "
               "and status.\n# TYPE weft_http_requests_total counter\n");
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < g->ncounts; i++) {
        const gw_count *c = &g->counts[i];
        fprintf(f, "weft_http_requests_total{method=\"%s\",route=\"%s\",code=\"%d\"} %llu\n",
                c->route >= 0 ? routes[c->route].method : "any",
                c->route >= 0 ? routes[c->route].path : "unknown", c->status,
                (unsigned long long)c->n);
    }
    pthread_mutex_unlock(&g->lock);
}

void gw_print_routes(FILE *f)
{
    for (size_t i = 0; i < NROUTES; i++)
        fprintf(f, "%s %s\n", routes[i].method, routes[i].path);
}

/* Whether url matches pattern; fills args with the {} parts (copies). */
static int match(const char *pattern, const char *url, char **args)
{
    int n = 0;
    while (*pattern && *url) {
        if (!strncmp(pattern, "{}", 2)) {
            size_t len = strcspn(url, "/");
            if (!len || n == 4)
                return 0;
            args[n++] = xstrndup(url, len);
            url += len;
            pattern += 2;
        } else if (*pattern++ != *url++) {
            return 0;
        }
    }
    return !*pattern && !*url;
}

static void free_args(gw_req *r)
{
    for (int i = 0; i < 4; i++) {
        free(r->args[i]);
        r->args[i] = NULL;
    }
}

/* Finds r's route: its handler, or NULL answered (404, 405). */
static const route *find_route(gw_req *r)
{
    int path_known = 0;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!match(routes[i].path, r->url, r->args)) {
            free_args(r);
            continue;
        }
        if (!strcmp(routes[i].method, r->method)) {
            r->route = (int)i;
            return &routes[i];
        }
        path_known = 1;
        free_args(r);
    }
    if (path_known)
        gw_error(r, 405, "method_not_allowed", NULL, "%s is not allowed on %s", r->method,
                 r->url);
    else
        gw_error(r, 404, "not_found", NULL, "no such endpoint: %s", r->url);
    return NULL;
}

void gw_respond(gw_req *r, unsigned status, struct MHD_Response *resp)
{
    if (r->answered) {
        MHD_destroy_response(resp);
        return;
    }
    r->answered = 1;
    r->status = (int)status;
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
}

void gw_json(gw_req *r, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    if (!text)
        text = xstrdup("{}");
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    gw_respond(r, status, resp);
}

void gw_error(gw_req *r, unsigned status, const char *code, const char *field,
              const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);
    json_object_set_new(e, "field", field ? json_string(field) : json_null());
    gw_json(r, status, json_pack("{s:o}", "error", e));
}

/* The offending field in a scheduler's message: a parameter ("-p NAME: ..." or "parameter
 * 'NAME'"), else NULL. Writes into buf. */
static const char *field_of(const char *msg, char *buf, size_t n)
{
    const char *p = strstr(msg, "-p ");
    size_t len = 0;
    if (p) {
        p += 3;
        len = strcspn(p, ":= ");
    } else if ((p = strstr(msg, "parameter '"))) {
        p += 11;
        len = strcspn(p, "'");
    }
    if (!p || !len)
        return NULL;
    snprintf(buf, n, "params.%.*s", (int)len, p);
    return buf;
}

void gw_weft_error(gw_req *r, int code, const char *msg)
{
    gw_weft_error_at(r, code, msg, NULL);
}

void gw_weft_error_at(gw_req *r, int code, const char *msg, const char *about)
{
    char field[160];
    const char *named = field_of(msg, field, sizeof field);
    switch (code) {
    case WEFT_ENOTFOUND:
        gw_error(r, 404, "not_found", named ? named : about, "%s", msg);
        break;
    case WEFT_EDENIED:
        gw_error(r, 403, "forbidden", NULL, "%s", msg);
        break;
    case WEFT_EINVAL:
    case WEFT_ECOMPILE:
        gw_error(r, 400, code == WEFT_ECOMPILE ? "invalid_workflow" : "invalid_argument",
                 named ? named : about, "%s", msg);
        break;
    case WEFT_ELIMIT:
        gw_error(r, 429, "limit", NULL, "%s", msg);
        break;
    case WEFT_EUNREACH:
    case WEFT_EUNAVAIL:
    case WEFT_EBUSY:
    case WEFT_EDB:
        gw_error(r, 503, "unavailable", NULL, "%s", msg);
        break;
    default:
        gw_error(r, 500, "internal", NULL, "%s", msg);
    }
}

const char *gw_arg(gw_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

json_t *gw_body_json(gw_req *r)
{
    if (r->form)
        return gw_form_json(r);
    if (!r->len)
        return json_object();
    json_error_t je;
    json_t *j = json_loadb(r->body, r->len, 0, &je);
    if (!j || !json_is_object(j)) {
        gw_error(r, 400, "invalid_json", NULL, "the body must be a JSON object%s%s",
                 j ? "" : ": ", j ? "" : je.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

int gw_str_member(gw_req *r, const json_t *body, const char *name, const char **out)
{
    const json_t *v = json_object_get(body, name);
    *out = json_string_value(v);
    if (v && !json_is_string(v)) {
        gw_error(r, 400, "invalid_argument", name, "%s must be a string", name);
        return -1;
    }
    return 0;
}

int64_t gw_run_arg(gw_req *r, const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v <= 0 || s[0] == '+' || s[0] == '0') {
        gw_error(r, 400, "invalid_argument", "run", "a run id is a positive integer, not "
                 "'%.64s'", s);
        return 0;
    }
    return v;
}

/* ---- libmicrohttpd's callbacks ---- */

/* Adds what arrived of the body; past the limit it is dropped (and answered 413). */
static void take_body(gw_req *r, const char *data, size_t n)
{
    if (r->form) {
        gw_form_take(r, data, n);
        return;
    }
    if (r->too_large || r->len + n > r->g->cfg.max_body) {
        r->too_large = 1;
        return;
    }
    xgrow(&r->body, &r->cap, r->len + n + 1, 1);
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
}

static void too_large(gw_req *r)
{
    int files = r->form && r->received > r->g->cfg.max_upload;
    gw_error(r, 413, "too_large", NULL, "the body is larger than %llu bytes (%s)",
             (unsigned long long)(files ? r->g->cfg.max_upload : r->g->cfg.max_body),
             files ? "--max-upload" : r->form ? "--max-body, for the fields that are not "
                                                "files"
                                              : "--max-body");
}

static void handle(gw_req *r)
{
    const route *rt = find_route(r);
    if (!rt)
        return;
    if (r->too_large) {
        too_large(r);
        return;
    }
    if (!rt->open && gw_authenticate(r) < 0)
        return;
    rt->fn(r);
    if (!r->answered)
        gw_error(r, 500, "internal", NULL, "no answer");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **ctx)
{
    gw_req *r = *ctx;
    if (!r) {
        r = xcalloc(1, sizeof *r);
        r->g = cls;
        r->conn = conn;
        r->route = -1;
        r->method = method;
        r->url = url;
        *ctx = r;
        int form = gw_form_begin(r);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t max = form ? r->g->cfg.max_upload : r->g->cfg.max_body;
        if (cl && strtoull(cl, NULL, 10) > max) {
            r->too_large = 1;
            r->received = strtoull(cl, NULL, 10);
            too_large(r); /* answered now: libmicrohttpd closes after it */
        }
        return MHD_YES;
    }
    if (*upload_size) {
        take_body(r, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (!r->answered)
        handle(r);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                         enum MHD_RequestTerminationCode toe)
{
    gw_req *r = *ctx;
    if (!r)
        return;
    log_info("%s %s %d", r->method, r->url, r->status);
    if (r->status)
        count(r);
    free_args(r);
    gw_form_end(r);
    free(r->body);
    auth_destroy(&r->auth);
    free(r);
    *ctx = NULL;
}

/* ---- the daemon ---- */

int gw_http_start(gw *g, const struct sockaddr *addr, int tls, const char *cert,
                  const char *key, char **why)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | (tls ? MHD_USE_TLS : 0) |
                     (addr->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)key},
        {MHD_OPTION_END, 0, NULL},
    };
    g->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, g,
                              MHD_OPTION_SOCK_ADDR, addr,
                              MHD_OPTION_CONNECTION_LIMIT, g->cfg.max_conns,
                              MHD_OPTION_CONNECTION_TIMEOUT, 120u,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, g,
                              MHD_OPTION_ARRAY, tls ? tls_opts : tls_opts + 2,
                              MHD_OPTION_END);
    if (!g->mhd) {
        *why = xstrdup("cannot listen there (address in use, or a certificate or key that "
                       "libmicrohttpd refused)");
        return -1;
    }
    return 0;
}
