/* gw_files: what a task wrote: its log (whole, or followed live as Server-Sent Events) and
 * its outputs (a value as JSON; a file streamed from the store; a directory's listing, or
 * one of its files). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/store.h"
#include "common/xmem.h"
#include "gateway/gw.h"

#define FOLLOW_POLL_MS 200
#define SSE_BLOCK (64u << 10)

/* The unit (task or element "task[i]") args[1] of run args[0] with its run, or NULL
 * answered. *run_json is the caller's to decref. */
static const json_t *unit_of(gw_req *r, int64_t *run, json_t **run_json)
{
    char project[80];
    weft_err err = {0};
    *run_json = NULL;
    *run = gw_run_arg(r, r->args[0]);
    if (!*run || !gw_may_see_run(r, *run, project, sizeof project))
        return NULL;
    *run_json = catalog_query_run_unit(r->cat, *run, r->args[1], &err);
    if (!*run_json) {
        gw_weft_error(r, err.code, err.msg);
        return NULL;
    }
    const json_t *u = catalog_run_unit(*run_json, r->args[1]);
    if (!u)
        gw_error(r, 404, "not_found", "task", "run %lld has no task '%.128s'", (long long)*run,
                 r->args[1]);
    return u;
}

void gw_task_show(gw_req *r)
{
    int64_t run;
    json_t *rj;
    const json_t *u = unit_of(r, &run, &rj);
    if (u) {
        /* The unit as a run lists it, with where its run stands. */
        json_t *body = json_deep_copy(u);
        json_object_set(body, "run_state", json_object_get(rj, "state"));
        gw_json(r, 200, body);
    }
    json_decref(rj);
}

/* The number of the attempt asked for (?attempt=N, default the last), or 0 answered. */
static int attempt_of(gw_req *r, const json_t *unit)
{
    size_t n = json_array_size(json_object_get(unit, "attempt_list"));
    const char *a = gw_arg(r, "attempt");
    if (!a)
        return n ? (int)n : (gw_error(r, 404, "not_found", "attempt", "task '%.128s' has not "
                                      "started an attempt", r->args[1]), 0);
    char *end;
    long v = strtol(a, &end, 10);
    if (*end || v < 1 || (size_t)v > n) {
        gw_error(r, n && !*end ? 404 : 400, n && !*end ? "not_found" : "invalid_argument",
                 "attempt", "task '%.128s' has %zu attempt(s); no attempt '%.32s'", r->args[1],
                 n, a);
        return 0;
    }
    return (int)v;
}

/* A followed log: what the stream has sent, and how to look again. */
typedef struct follow {
    catalog *cat;
    int64_t run;
    char *task;
    int attempt;
    uint64_t offset;
    int ended;    /* the attempt ended and its whole log was sent */
    char *pending; /* an event not yet sent in full, and where in it */
    size_t plen, ppos;
} follow;

/* Whether the followed attempt still runs (a catalogue that cannot say: keep following). */
static int still_running(follow *f)
{
    return catalog_attempt_running(f->cat, f->run, f->task, f->attempt) != 0;
}

/* The next event of the stream into f->pending: data the log gained ("log"), an "end"
 * event, or a comment that keeps the connection alive. */
static void next_event(follow *f)
{
    weft_err err = {0};
    int running = still_running(f);
    json_t *tail = catalog_query_log_tail(f->cat, f->run, f->task, f->attempt, f->offset, &err);
    const char *data = json_string_value(json_object_get(tail, "data"));
    if (data && *data) {
        f->offset = (uint64_t)json_integer_value(json_object_get(tail, "next"));
        json_t *ev = json_pack("{s:s, s:I}", "data", data, "offset", (json_int_t)f->offset);
        char *text = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        f->pending = xasprintf("event: log\ndata: %s\n\n", text);
        free(text);
    } else if (!running) {
        f->pending = xstrdup("event: end\ndata: {}\n\n");
        f->ended = 1;
    } else {
        struct timespec ts = {0, FOLLOW_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
        f->pending = xstrdup(": waiting\n\n");
    }
    json_decref(tail);
    f->plen = strlen(f->pending);
    f->ppos = 0;
}

static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    follow *f = cls;
    if (!f->pending) {
        if (f->ended)
            return MHD_CONTENT_READER_END_OF_STREAM;
        next_event(f);
    }
    size_t n = f->plen - f->ppos < max ? f->plen - f->ppos : max;
    memcpy(buf, f->pending + f->ppos, n);
    f->ppos += n;
    if (f->ppos == f->plen) {
        free(f->pending);
        f->pending = NULL;
    }
    return (ssize_t)n;
}

static void follow_free(void *cls)
{
    follow *f = cls;
    catalog_close(&f->cat);
    free(f->task);
    free(f->pending);
    free(f);
}

/* Answers with the attempt's log followed live: Server-Sent Events. */
static void follow_log(gw_req *r, int64_t run, int attempt)
{
    follow *f = xcalloc(1, sizeof *f);
    weft_err err = {0};
    if (catalog_open(r->g->cfg.state, CATALOG_READONLY, &f->cat, &err) < 0) {
        free(f);
        gw_error(r, 503, "unavailable", NULL, "cannot read the catalogue: %s", err.msg);
        return;
    }
    f->run = run;
    f->task = xstrdup(r->args[1]);
    f->attempt = attempt;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK,
                                                                  follow_read, f, follow_free);
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    gw_respond(r, 200, resp);
}

void gw_task_log(gw_req *r)
{
    int64_t run;
    json_t *rj;
    const json_t *u = unit_of(r, &run, &rj);
    int attempt = u ? attempt_of(r, u) : 0;
    const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept");
    if (attempt && ((accept && strstr(accept, "text/event-stream")) ||
                    (gw_arg(r, "follow") && strcmp(gw_arg(r, "follow"), "0")))) {
        follow_log(r, run, attempt);
    } else if (attempt) {
        weft_err err = {0};
        json_t *tail = catalog_query_log_tail(r->cat, run, r->args[1], attempt, 0, &err);
        if (!tail) {
            gw_weft_error(r, err.code, err.msg);
        } else {
            const char *data = json_string_value(json_object_get(tail, "data"));
            struct MHD_Response *resp = MHD_create_response_from_buffer(
                strlen(data), xstrdup(data), MHD_RESPMEM_MUST_FREE);
            MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
            gw_respond(r, 200, resp);
        }
        json_decref(tail);
    }
    json_decref(rj);
}

/* Streams blob hex of st (size bytes) as the answer, named name. */
static void send_blob(gw_req *r, store *st, const char *hex, const char *name)
{
    int fd;
    uint64_t size;
    weft_err err = {0};
    if (store_open_blob(st, hex, &fd, &size, &err) < 0) {
        gw_weft_error(r, err.code == WEFT_ENOTFOUND ? WEFT_EIO : err.code, err.msg);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
    char etag[80], disp[300];
    snprintf(etag, sizeof etag, "\"%s\"", hex);
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    snprintf(disp, sizeof disp, "attachment; filename=\"%.200s\"",
             strpbrk(base, "\"\\\r\n") || !*base ? "artifact" : base);
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    MHD_add_response_header(resp, "Content-Disposition", disp);
    MHD_add_response_header(resp, "ETag", etag);
    MHD_add_response_header(resp, "X-Weft-Blake2b", hex);
    gw_respond(r, 200, resp);
}

/* A directory output: its listing, or the file ?file=PATH of it. */
static void send_dir(gw_req *r, store *st, const json_t *ref)
{
    json_t *entries = NULL;
    weft_err err = {0};
    if (store_dir_entries(st, ref, &entries, &err) < 0) {
        gw_weft_error(r, err.code == WEFT_ENOTFOUND ? WEFT_EIO : err.code, err.msg);
        return;
    }
    const char *want = gw_arg(r, "file");
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *hex = json_string_value(json_object_get(e, "hash"));
        if (want && hex && path && !strcmp(path, want)) {
            send_blob(r, st, hex, path);
            json_decref(entries);
            return;
        }
    }
    if (want)
        gw_error(r, 404, "not_found", "file", "the directory has no file '%.200s'", want);
    else
        gw_json(r, 200, json_pack("{s:O, s:o}", "artifact", ref, "entries", entries));
    if (want)
        json_decref(entries);
}

void gw_task_output(gw_req *r)
{
    int64_t run;
    json_t *rj;
    const json_t *u = unit_of(r, &run, &rj);
    const json_t *outputs = json_object_get(u, "outputs");
    const json_t *v = json_object_get(outputs, r->args[2]);
    if (u && !json_is_object(outputs)) {
        gw_error(r, 404, "not_found", "task", "task '%.128s' has no outputs (it has not "
                 "succeeded)", r->args[1]);
    } else if (u && !v) {
        gw_error(r, 404, "not_found", "output", "task '%.128s' has no output '%.128s'",
                 r->args[1], r->args[2]);
    } else if (v && !artref_hash(v)) {
        gw_json(r, 200, json_pack("{s:O}", "value", v));
    } else if (v) {
        weft_err err = {0};
        store *st = gw_store(r, &err);
        if (!st)
            gw_error(r, 503, "unavailable", NULL, "cannot open the store: %s", err.msg);
        else if (artref_is_dir(v))
            send_dir(r, st, v);
        else if (json_string_value(json_object_get(v, "name")))
            send_blob(r, st, artref_hash(v), json_string_value(json_object_get(v, "name")));
        else
            send_blob(r, st, artref_hash(v), r->args[2]);
    }
    json_decref(rj);
}
