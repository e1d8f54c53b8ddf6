/* sched_exec: workflows kept by name, and runs answered when they end.
 *
 * Registering (SubmitRequest mode "register") compiles the workflow as a submit would,
 * parameters without a default standing in by their type, takes the paths its defaults
 * name into the store (a remote client uploads them first, as for any submit), and keeps
 * the workflow with those references under its name in the project. A submit naming the
 * workflow (rq->workflow) compiles its kept text with the kept references, so its defaults
 * are never read from the scheduler's disk again.
 *
 * A submit with wait_ms is answered when its run ends, with the last task's name and
 * outputs (the synchronous execution of the HTTP API), or when wait_ms passes, saying it
 * still runs.
 * The waiting requests are held here with the connection to answer on; a scheduler that
 * restarts forgets them (the client's request times out, and the run goes on). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

#define WAIT_MAX 4096 /* requests waiting at once; more are answered at once */

typedef struct waiter {
    uint8_t id[256];  /* the requester's routing id on via */
    size_t idlen;
    listener *via;
    uint64_t run;
    int64_t deadline_us;
} waiter;

struct waits {
    waiter *v;
    size_t n, cap;
    uv_timer_t timer;
};

/* ---- registering ---- */

json_t *sched_registration(sched *s, const char *project, const char *name, weft_err *err)
{
    return catalog_registration_get(s->cat, project, name, err);
}

void sched_register(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                    const Weft__SubmitRequest *rq, const char *project)
{
    const char *file = *rq->file_name ? rq->file_name : "workflow.yaml";
    compile_param *params = sched_wire_params(rq->params, rq->n_params);
    diag *d = diag_new(file);
    ingest_ctx ic = {.pinned = json_object()};
    sched_sent sent = SCHED_SENT(rq);
    char why[300];
    int64_t now = clock_wall_us();
    if (sched_ingest_begin(s, &ic, peer, rq->cwd, &sent, project, why, sizeof why) < 0) {
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
        sched_ingest_end(&ic);
        free(params);
        diag_destroy(&d);
        return;
    }
    compile_input in = {.file = file, .text = rq->yaml, .len = strlen(rq->yaml),
                        .types = s->types, .params = params, .nparams = rq->n_params,
                        .ingest = ingest_path, .ingest_ud = &ic, .now_s = now / 1000000,
                        .placeholders = 1};
    dag *g = compile_workflow(&in, d);
    free(params);
    if (!g) {
        char *errors = diag_render(d);
        sched_reply_compile_errors(s, id, &ic, errors, WEFT_ECOMPILE);
        free(errors);
    } else {
        json_t *desc = compile_describe_params(file, rq->yaml, strlen(rq->yaml));
        char *desc_text = json_dumps(desc, JSON_COMPACT);
        char *pinned = json_dumps(ic.pinned, JSON_COMPACT | JSON_SORT_KEYS);
        catalog_registration r = {.project = project, .name = g->name, .file = file,
                                  .spec = rq->yaml, .params = desc_text, .artifacts = pinned,
                                  .by = peer->name};
        int64_t version = catalog_register(s->cat, &r, now);
        if (version < 0) {
            sched_reply(s, id, WEFT_EDB, "the catalogue refused the registration", NULL, 0);
            json_decref(desc);
        } else {
            log_info("workflow %s registered in project %s (version %lld) by %s", g->name,
                     project, (long long)version, peer->name);
            json_t *j = json_pack("{s:s, s:s, s:I, s:o}", "project", project, "name",
                                  g->name, "version", (json_int_t)version, "params", desc);
            char *text = json_dumps(j, JSON_COMPACT);
            sched_remember_answer(s, peer, rq->idempotency_key, "submit", text, 0, now);
            free(text);
            sched_reply_json(s, id, j, NULL);
        }
        free(desc_text);
        free(pinned);
        dag_free(g);
    }
    diag_destroy(&d);
    sched_ingest_end(&ic);
}

/* ---- waiting for a run's end ---- */

static void answer(sched *s, const waiter *w, const char *json)
{
    zmq_msg_t id;
    zmq_msg_init_data(&id, (void *)w->id, w->idlen, NULL, NULL);
    listener *cur = s->cur;
    s->cur = w->via;
    sched_reply(s, &id, 0, NULL, json, w->run);
    s->cur = cur;
    zmq_msg_close(&id);
}

static void drop(struct waits *ws, size_t i)
{
    ws->v[i] = ws->v[--ws->n];
}

static void arm(sched *s);

static void on_deadline(uv_timer_t *t)
{
    sched *s = t->data;
    struct waits *ws = s->waits;
    int64_t now = clock_wall_us();
    for (size_t i = 0; i < ws->n;) {
        if (ws->v[i].deadline_us > now) {
            i++;
            continue;
        }
        char json[96];
        snprintf(json, sizeof json, "{\"run_id\": %llu, \"state\": \"running\"}",
                 (unsigned long long)ws->v[i].run);
        answer(s, &ws->v[i], json);
        drop(ws, i);
    }
    arm(s);
}

static void arm(sched *s)
{
    struct waits *ws = s->waits;
    if (!ws->n) {
        uv_timer_stop(&ws->timer);
        return;
    }
    int64_t first = ws->v[0].deadline_us;
    for (size_t i = 1; i < ws->n; i++)
        if (ws->v[i].deadline_us < first)
            first = ws->v[i].deadline_us;
    int64_t ms = (first - clock_wall_us()) / 1000 + 1;
    uv_timer_start(&ws->timer, on_deadline, ms > 0 ? (uint64_t)ms : 0, 0);
}

void sched_wait_for_run(sched *s, const zmq_msg_t *id, uint64_t run, uint32_t wait_ms,
                        int64_t now)
{
    struct waits *ws = s->waits;
    size_t len = zmq_msg_size(id);
    if (ws->n >= WAIT_MAX || len > sizeof ws->v[0].id) {
        char json[96];
        snprintf(json, sizeof json, "{\"run_id\": %llu, \"state\": \"running\"}",
                 (unsigned long long)run);
        sched_reply(s, id, 0, NULL, json, run);
        return;
    }
    xgrow(&ws->v, &ws->cap, ws->n + 1, sizeof *ws->v);
    waiter *w = &ws->v[ws->n++];
    memcpy(w->id, zmq_msg_data((zmq_msg_t *)id), len);
    w->idlen = len;
    w->via = s->cur;
    w->run = run;
    w->deadline_us = now + (int64_t)wait_ms * 1000;
    arm(s);
    if (!core_run_active(s->core, run)) {
        /* It ended in the turn that made it (every task memoized, say). */
        weft_err err = {0};
        json_t *row = catalog_query_run_row(s->cat, (int64_t)run, &err);
        sched_wait_run_ended(s, core_run_dag(s->core, run), run,
                             row ? json_string_value(json_object_get(row, "state")) : "unknown",
                             row ? json_string_value(json_object_get(row, "error")) : err.msg);
        json_decref(row);
    }
}

void sched_wait_run_ended(sched *s, const dag *g, uint64_t run, const char *state,
                          const char *error)
{
    struct waits *ws = s->waits;
    char *text = NULL;
    for (size_t i = 0; i < ws->n;) {
        if (ws->v[i].run != run) {
            i++;
            continue;
        }
        if (!text) {
            int last = g && g->ntasks ? (int)g->ntasks - 1 : -1;
            const json_t *out = last >= 0 ? core_task_outputs(s->core, run, last) : NULL;
            json_t *j = json_pack("{s:I, s:s, s:s?, s:s?, s:O?}", "run_id", (json_int_t)run,
                                  "state", state, "error", error, "task",
                                  last >= 0 ? g->tasks[last].name : NULL, "outputs",
                                  (json_t *)out);
            text = json_dumps(j, JSON_COMPACT);
            json_decref(j);
        }
        answer(s, &ws->v[i], text);
        drop(ws, i);
    }
    free(text);
    arm(s);
}

void sched_waits_init(sched *s)
{
    s->waits = xcalloc(1, sizeof *s->waits);
    uv_timer_init(&s->loop, &s->waits->timer);
    s->waits->timer.data = s;
}

void sched_waits_free(sched *s)
{
    if (!s->waits)
        return;
    free(s->waits->v);
    free(s->waits);
    s->waits = NULL;
}
