/* gw: weft's HTTP face (weft-gateway, started by `weft serve`).
 *
 * A process of its own beside the scheduler: it reads the catalogue directly (a WAL reader
 * never blocks the scheduler's writer) and sends everything that changes state (submit,
 * cancel, retry, schedules) to the scheduler as a client, relaying the caller's bearer
 * token so the scheduler authorizes the request as the token's principal. Blobs are
 * streamed from the store the scheduler records in its state directory.
 *
 * libmicrohttpd serves each connection on a thread of its own (bounded by --max-conns), so
 * a slow client, a followed log or a download never holds up another request, and nothing
 * here runs on the scheduler's loop. Each request thread opens its own catalogue reader;
 * scheduler connections come from a small pool. */
#ifndef WEFT_GW_H
#define WEFT_GW_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>

#include "catalog/catalog.h"
#include "common/auth.h"
#include "common/client.h"

typedef struct gw_config {
    const char *listen;       /* http://HOST:PORT or https://HOST:PORT */
    const char *cert, *key;   /* https: PEM certificate (chain) and private key files */
    const char *state;        /* the scheduler's state directory */
    const char *scheduler;    /* its endpoint (default: ipc://STATE/scheduler.sock) */
    const char *key_file;     /* tcp://: the gateway's CURVE key pair (role gateway) */
    const char *server_key;   /* tcp://: the scheduler's public key */
    int insecure;             /* tcp:// to loopback without CURVE */
    const char *assets;       /* the web UI's files and openapi.yaml */
    uint64_t max_body;        /* a request's body (JSON, YAML, forms without files) */
    uint64_t max_upload;      /* a multipart request with files, in all */
    unsigned max_conns;       /* connections at once (each has a thread) */
    unsigned sched_conns;     /* connections to the scheduler */
    int timeout_ms;           /* how long a scheduler request may take */
} gw_config;

#define GW_SCHED_CONNS_MAX 32

typedef struct gw {
    gw_config cfg;
    struct MHD_Daemon *mhd;
    char *scheduler;          /* the endpoint in use */
    char *openapi;            /* the OpenAPI document (YAML text) */
    size_t openapi_len;
    /* The scheduler connection pool: a request takes a free one (or waits). */
    pthread_mutex_t lock;
    pthread_cond_t freed;
    client *conns[GW_SCHED_CONNS_MAX];
    int busy[GW_SCHED_CONNS_MAX];
    unsigned nconns;
    /* Requests answered, by route and status (for /metrics), under lock. */
    struct gw_count *counts;
    size_t ncounts, capcounts;
    struct gw_cache *cache;   /* runs' answers (gw_cache.c) */
} gw;

typedef struct gw_count {
    int route;                /* index in the route table, -1: none matched */
    int status;
    uint64_t n;
} gw_count;

/* One HTTP request, from its first byte to its answer. */
typedef struct gw_req {
    gw *g;
    struct MHD_Connection *conn;
    const char *method, *url;
    char *body;               /* the body as received (NUL-terminated) */
    size_t len, cap;
    int too_large;            /* the body passed the limit: answered 413 */
    /* A multipart/form-data body: its fields (name -> text) and files (name -> the path
     * of the file received, in updir), kept as they arrive. */
    struct MHD_PostProcessor *form_pp;
    json_t *form;
    char *updir;              /* this request's uploads (removed when it ends) */
    unsigned nfiles;          /* files kept there */
    /* Small files given in JSON, sent inside the submit (upload_call frees them). */
    Weft__InlineFile **sent;
    size_t nsent, capsent;
    uint64_t received;        /* bytes of the body so far */
    int part_fd;              /* the file being received, or -1 */
    char *part_key;
    const char *form_error;   /* why the form was refused (answered 400) */
    int answered;
    char *args[4];            /* the path's {} parts, in order */
    catalog *cat;             /* the catalogue reader of this request's thread (gw_catalog) */
    auth *auth;               /* the keys as this request read them */
    auth_peer peer;           /* who asks (after gw_authenticate) */
    char token[AUTH_TOKEN_LEN + 1];
    int status;               /* the answer's status, for the access log */
    int route;                /* the route matched, -1: none */
} gw_req;

/* ---- gw_http.c ---- */

/* Prints every route, "METHOD /path/{}" a line ({}: a path parameter). */
void gw_print_routes(FILE *f);
/* Writes weft_http_requests_total: the requests answered, by route and status. */
void gw_http_metrics(gw *g, FILE *f);
/* Serves on addr (tls: with the PEM texts cert and key): 0, or -1 with why (caller
 * frees). */
int gw_http_start(gw *g, const struct sockaddr *addr, int tls, const char *cert,
                  const char *key, char **why);

/* Answers with JSON (takes the reference). */
void gw_json(gw_req *r, unsigned status, json_t *body);
/* Answers with an error: {"error": {"code", "message", "field"}} (field NULL: none). */
void gw_error(gw_req *r, unsigned status, const char *code, const char *field,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Answers with a weft error code from the scheduler or the catalogue (404, 403, 400, 503,
 * 500) and its message. */
void gw_weft_error(gw_req *r, int code, const char *msg);
/* The same, naming field about when the message names no parameter (NULL: none). */
void gw_weft_error_at(gw_req *r, int code, const char *msg, const char *about);
/* Answers with a response made by the caller (takes it). */
void gw_respond(gw_req *r, unsigned status, struct MHD_Response *resp);
/* A query argument, or NULL. */
const char *gw_arg(gw_req *r, const char *name);
/* The string member name of body into *out (NULL when absent): 0, or -1 answered 400 when
 * it is there but not a string. */
int gw_str_member(gw_req *r, const json_t *body, const char *name, const char **out);
/* The body as a JSON object, or NULL (answered 400). An empty body is {}. A form
 * (multipart/form-data) is its fields: a field holding JSON where JSON is
 * expected (params, labels) is parsed; "params.NAME" fields join "params", a file's
 * value being the path it was received at. */
json_t *gw_body_json(gw_req *r);

/* ---- gw_form.c ---- */

/* Whether r's body is a form: then its parser is set up (1), else 0. */
int gw_form_begin(gw_req *r);
/* Parses what arrived of the form (counting it against --max-upload). */
void gw_form_take(gw_req *r, const char *data, size_t n);
/* The form's fields as gw_body_json describes, or NULL answered 400. */
json_t *gw_form_json(gw_req *r);
/* Parameters given in JSON as files ({"content": TEXT, "name": NAME}) become files the
 * submit carries: a small one (UPLOAD_INLINE_MAX) inside the request (r->sent, named under
 * /request/), a larger one as a file in r's upload directory; their values become those
 * paths. 0, or -1 answered (400, 503). */
int gw_inline_files(gw_req *r, json_t *params);
/* Frees the form and removes the files received. */
void gw_form_end(gw_req *r);

/* ---- gw_cache.c: runs' answers, shared ---- */

typedef struct gw_cache gw_cache;
gw_cache *gw_cache_new(void);
void gw_cache_free(gw_cache *c);
/* run's answer (caller frees, *len its length): the one made less than a second ago, else
 * a new one from make (NULL: make failed; its reason is the caller's). */
char *gw_cache_run(gw_cache *c, int64_t run, char *(*make)(void *ud, size_t *len), void *ud,
                   size_t *len);

/* ---- gw_auth.c ---- */

/* Who sent r (its Authorization: Bearer token): 0, or -1 answered 401. */
int gw_authenticate(gw_req *r);
/* Whether r's peer may use project: 1, or 0 answered 403. */
int gw_may_use(gw_req *r, const char *project);
/* Whether r's peer may see run: 1 with its project in out, or 0 answered (404, 403). */
int gw_may_see_run(gw_req *r, int64_t run, char *project, size_t n);
/* The catalogue reader of r's thread (opened on its first use, kept for the thread's
 * next requests), or NULL answered 503. */
catalog *gw_catalog(gw_req *r);
/* The artifact store the scheduler records, kept likewise per thread, or NULL (err). */
struct store *gw_store(gw_req *r, weft_err *err);

/* ---- gw_sched.c: the scheduler ---- */

int gw_sched_open(gw *g, char **why);
void gw_sched_close(gw *g);
/* Sends env for r's caller (with its token) and waits for the reply. Returns the reply's
 * JSON (an empty object when it had none; caller decrefs) with the reply's run id in
 * *run_id (may be NULL), or NULL with r answered (the scheduler's refusal, or 503); a
 * refusal names field about unless it names a parameter. */
json_t *gw_sched_call(gw_req *r, Weft__Envelope *env, const char *about, uint64_t *run_id);
/* Sends env (a query) with token and returns the answer's JSON, or NULL when there is
 * none (nothing answered to the caller). */
json_t *gw_sched_ask(gw *g, Weft__Envelope *env, const char *token);
/* Whether the scheduler answers now (for /readyz). */
int gw_sched_ready(gw *g, char *why, size_t n);

/* ---- handlers ---- */

void gw_runs_list(gw_req *r);
void gw_runs_submit(gw_req *r);
void gw_task_signal(gw_req *r);
void gw_run_show(gw_req *r);
void gw_run_events(gw_req *r);
void gw_run_cancel(gw_req *r);
void gw_run_retry(gw_req *r);
void gw_task_show(gw_req *r);
void gw_task_log(gw_req *r);
void gw_task_output(gw_req *r);
void gw_workflows_list(gw_req *r);
void gw_workflow_show(gw_req *r);
void gw_workflows_register(gw_req *r);
void gw_workflow_execute(gw_req *r);
void gw_schedules_list(gw_req *r);
void gw_schedule_pause(gw_req *r);
void gw_schedule_resume(gw_req *r);
void gw_workers_list(gw_req *r);
void gw_cache_list(gw_req *r);
void gw_whoami(gw_req *r);
void gw_ui(gw_req *r);
void gw_healthz(gw_req *r);
void gw_readyz(gw_req *r);
void gw_openapi(gw_req *r);
void gw_metrics(gw_req *r);

/* Submits body's workflow ({yaml, file} or {workflow}, project, params (files given as
 * gw_inline_files says), labels) for r's
 * caller, waiting up to wait_ms for the run's end (0: not at all): the scheduler's answer
 * (caller decrefs) with the run in *run, or NULL with r answered. */
json_t *gw_submit(gw_req *r, json_t *body, uint32_t wait_ms, uint64_t *run);

/* A run id from a path part: 1..INT64_MAX, or 0 answered 400. */
int64_t gw_run_arg(gw_req *r, const char *s);

#endif
