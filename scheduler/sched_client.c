/* sched_client: requests from clients: submit, cancel, retry and queries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xmem.h"
#include "compiler/compile.h"
#include "scheduler/ingest.h"
#include "scheduler/memo.h"
#include "scheduler/recover.h"
#include "scheduler/retry.h"
#include "scheduler/sched_int.h"

#define QUERY_LIMIT_MAX 10000
#define KEY_MAX 128

/* An idempotency key as stored: within its principal's own namespace ("NAME/KEY"; names
 * hold no '/'), so one principal's key never answers another's request. Caller frees. */
static char *scoped_key(const auth_peer *peer, const char *key)
{
    return xasprintf("%s/%s", peer->name, key);
}

int sched_answered_before(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                          const char *kind, const char *key)
{
    if (!key || !*key)
        return 0;
    if (strlen(key) > KEY_MAX) {
        sched_reply(s, id, WEFT_EINVAL, "idempotency key longer than 128 bytes", NULL, 0);
        return 1;
    }
    catalog_answer a;
    char *stored = scoped_key(peer, key);
    int found = catalog_request_get(s->cat, stored, &a);
    free(stored);
    if (found <= 0)
        return 0;
    if (strcmp(a.kind, kind) != 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "idempotency key '%s' was used for a %s; a %s needs a key "
                 "of its own", key, a.kind, kind);
        sched_reply(s, id, WEFT_EINVAL, msg, NULL, 0);
        catalog_answer_free(&a);
        return 1;
    }
    log_info("request with idempotency key %s answered again (%s)", key, a.kind);
    sched_reply(s, id, a.code, a.error, a.json, (uint64_t)a.run_id);
    catalog_answer_free(&a);
    return 1;
}

void sched_remember_answer(sched *s, const auth_peer *peer, const char *key, const char *kind,
                           const char *json, uint64_t run_id, int64_t now)
{
    if (!key || !*key)
        return;
    catalog_answer a = {.code = 0, .json = (char *)json, .run_id = (int64_t)run_id};
    snprintf(a.kind, sizeof a.kind, "%s", kind);
    char *stored = scoped_key(peer, key);
    catalog_request_put(s->cat, stored, &a, now);
    free(stored);
}

compile_param *sched_wire_params(Weft__Param *const *wire, size_t n)
{
    compile_param *params = xcalloc(n + 1, sizeof *params);
    for (size_t i = 0; i < n; i++)
        params[i] = (compile_param){.name = wire[i]->name, .value = wire[i]->value};
    return params;
}

int64_t sched_create_run(sched *s, const dag *g, const sched_new_run *nr, int64_t now)
{
    char *params_json = json_dumps(g->params, JSON_COMPACT | JSON_SORT_KEYS);
    const char **names = xcalloc(g->ntasks, sizeof *names);
    for (size_t i = 0; i < g->ntasks; i++)
        names[i] = g->tasks[i].type;
    char *types_json = typereg_subset(s->types, names, g->ntasks);
    free(names);
    char *pinned_json = json_dumps(nr->pinned, JSON_COMPACT | JSON_SORT_KEYS);
    char *vars_json = json_dumps(g->schedule_vars, JSON_COMPACT | JSON_SORT_KEYS);
    int64_t wf = catalog_put_workflow(s->cat, g->name, g->version, g->hash, nr->file,
                                      nr->yaml);
    catalog_run cr = {.workflow_id = wf, .params = params_json, .types = types_json,
                      .artifacts = pinned_json, .ntasks = g->ntasks, .retry_of = nr->retry_of,
                      .project = nr->project, .labels = nr->labels,
                      .schedule_id = nr->schedule_id, .logical_s = nr->logical_s,
                      .schedule_vars = vars_json};
    int64_t run = wf > 0 ? catalog_create_run(s->cat, &cr, now) : wf;
    free(params_json);
    free(types_json);
    free(pinned_json);
    free(vars_json);
    for (size_t i = 0; run > 0 && i < g->ntasks; i++) {
        const dag_task *t = &g->tasks[i];
        if (catalog_add_task(s->cat, run, (int)i, -1, t->name, t->type, t->type_version,
                             "pending") < 0)
            run = WEFT_EDB;
        for (size_t k = 0; run > 0 && k < t->nparents; k++)
            if (catalog_add_edge(s->cat, run, (int)i, t->parents[k]) < 0)
                run = WEFT_EDB;
    }
    return run;
}

#define LABELS_MAX 32
#define LABEL_KEY_MAX 63
#define LABEL_VALUE_MAX 256

char *sched_labels_json(Weft__Param *const *labels, size_t n, char *why, size_t wn)
{
    if (n > LABELS_MAX) {
        snprintf(why, wn, "at most %d labels", LABELS_MAX);
        return NULL;
    }
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *k = labels[i]->name, *v = labels[i]->value;
        size_t kl = strlen(k);
        int ok = kl && kl <= LABEL_KEY_MAX && strlen(v) <= LABEL_VALUE_MAX &&
                 strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789_.-/") == kl;
        for (const char *p = v; ok && *p; p++)
            ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
        if (!ok) {
            snprintf(why, wn, "label '%.64s': a key is 1 to %d characters of [A-Za-z0-9_./-], a "
                     "value at most %d printable bytes", k, LABEL_KEY_MAX, LABEL_VALUE_MAX);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, k, json_string(v));
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

/* Stores a client's inline file f, records it as uploaded for ic's project and adds it to
 * up (path -> {"artifact", "kind"}): 0, or -1 with why. */
static int take_inline(sched *s, ingest_ctx *ic, const Weft__InlineFile *f, json_t *up,
                       char *why, size_t wn)
{
    if (f->data.len > SCHED_INLINE_MAX) {
        snprintf(why, wn, "%.200s: a file sent with the request holds at most %u bytes",
                 f->path, SCHED_INLINE_MAX);
        return -1;
    }
    char hex[HASH_HEX_LEN + 1];
    weft_err err = {0};
    int rc = sched_journal_put(s, f->data.data, f->data.len, hex, &err);
    if (rc == 0 &&
        catalog_put_upload(s->cat, ic->project, hex, f->data.len, clock_wall_us()) < 0)
        rc = err_set(&err, WEFT_EDB, "cannot record the upload");
    if (rc) {
        snprintf(why, wn, "%.200s: %s", f->path, err.msg);
        return -1;
    }
    json_object_set_new(up, f->path, json_pack("{s:s, s:s}", "artifact", hex, "kind", "file"));
    return 0;
}

int sched_ingest_begin(sched *s, ingest_ctx *ic, const auth_peer *peer, const char *cwd,
                       const sched_sent *sent, const char *project, char *why, size_t wn)
{
    ic->store = s->store;
    ic->remote = !peer->local;
    ic->cwd = !ic->remote && *cwd ? cwd : NULL;
    ic->cat = s->cat;
    ic->project = project;
    ic->missing = json_array();
    json_t *up = json_object();
    ic->uploaded = up;
    for (size_t i = 0; i < sent->nuploads; i++) {
        json_t *v = json_loads(sent->uploads[i]->value, 0, NULL);
        if (json_is_object(v))
            json_object_set(up, sent->uploads[i]->name, v);
        json_decref(v);
    }
    if (sent->nfiles > SCHED_INLINE_FILES) {
        snprintf(why, wn, "at most %d files travel with a request", SCHED_INLINE_FILES);
        return -1;
    }
    for (size_t i = 0; i < sent->nfiles; i++)
        if (take_inline(s, ic, sent->files[i], up, why, wn) < 0)
            return -1;
    return 0;
}

void sched_ingest_end(ingest_ctx *ic)
{
    json_decref((json_t *)ic->uploaded);
    json_decref(ic->missing);
    json_decref(ic->pinned);
}

void sched_reply_compile_errors(sched *s, const zmq_msg_t *id, const ingest_ctx *ic,
                                const char *errors, int code)
{
    if (!json_array_size(ic->missing)) {
        sched_reply(s, id, code, errors, NULL, 0);
        return;
    }
    json_t *j = json_pack("{s:O, s:s}", "upload", ic->missing, "project", ic->project);
    char *text = json_dumps(j, JSON_COMPACT);
    sched_reply(s, id, WEFT_ENOTFOUND, errors, text, 0);
    free(text);
    json_decref(j);
}

/* The tasks of a new run no registered worker could ever run: each an "unplaceable" event,
 * and the submit's answer {"warnings": ["task 'x': why", ...]} (malloc'd), or NULL. */
static char *unplaceable_warnings(sched *s, int64_t run, int64_t now)
{
    json_t *bad = core_run_unplaceable(s->core, (uint64_t)run), *v;
    const char *name;
    char *text = NULL;
    if (json_object_size(bad)) {
        json_t *list = json_array();
        json_object_foreach(bad, name, v) {
            catalog_event(s->cat, run, name, "unplaceable", json_string_value(v), now);
            json_array_append_new(list, json_sprintf("task '%s': %s", name,
                                                     json_string_value(v)));
        }
        log_warn("run %lld: %zu tasks no registered worker could run", (long long)run,
                 json_array_size(list));
        json_t *answer = json_pack("{s:o}", "warnings", list);
        text = json_dumps(answer, JSON_COMPACT);
        json_decref(answer);
    }
    json_decref(bad);
    return text;
}

void sched_on_submit(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                     const Weft__SubmitRequest *rq)
{
    const char *project = *rq->project ? rq->project : CATALOG_DEFAULT_PROJECT;
    if (!sched_may_use(s, id, peer, project, "a submit") ||
        sched_answered_before(s, id, peer, "submit", rq->idempotency_key))
        return;
    if (!strcmp(rq->mode, "register")) {
        sched_register(s, id, peer, rq, project);
        return;
    }
    char why[300];
    weft_err err = {0};
    json_t *reg = *rq->workflow ? sched_registration(s, project, rq->workflow, &err) : NULL;
    if (*rq->workflow && !reg) {
        sched_reply(s, id, err.code, err.msg, NULL, 0);
        return;
    }
    char *labels = sched_labels_json(rq->labels, rq->n_labels, why, sizeof why);
    if (!labels) {
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
        json_decref(reg);
        return;
    }
    const char *yaml = reg ? json_string_value(json_object_get(reg, "spec")) : rq->yaml;
    compile_param *params = sched_wire_params(rq->params, rq->n_params);
    const char *file = reg ? json_string_value(json_object_get(reg, "file"))
                     : *rq->file_name ? rq->file_name : "workflow.yaml";
    diag *d = diag_new(file);
    /* A registered workflow's defaults are the references taken when it was registered. */
    ingest_ctx ic = {.pinned = reg ? json_deep_copy(json_object_get(reg, "artifacts"))
                                   : json_object()};
    sched_sent sent = SCHED_SENT(rq);
    if (sched_ingest_begin(s, &ic, peer, rq->cwd, &sent, project, why, sizeof why) < 0) {
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
        sched_ingest_end(&ic);
        free(params);
        free(labels);
        diag_destroy(&d);
        json_decref(reg);
        return;
    }
    int64_t now = clock_wall_us();
    compile_input in = {.file = file,
                        .text = yaml,
                        .len = strlen(yaml),
                        .types = s->types,
                        .params = params,
                        .nparams = rq->n_params,
                        .ingest = ingest_path,
                        .ingest_ud = &ic,
                        .now_s = now / 1000000};
    dag *g = compile_workflow(&in, d);
    free(params);
    if (!g) {
        char *errors = diag_render(d);
        sched_reply_compile_errors(s, id, &ic, errors, WEFT_ECOMPILE);
        sched_ingest_end(&ic);
        free(errors);
        free(labels);
        diag_destroy(&d);
        json_decref(reg);
        return;
    }
    diag_destroy(&d);
    sched_new_run nr = {.file = file, .yaml = yaml, .pinned = ic.pinned,
                        .project = project, .labels = labels};
    if (*rq->mode) {
        sched_schedule_submit(s, id, peer, g, &nr, rq, now);
        g = NULL;
    } else if (sched_within_limits(s, id, project, g->ntasks)) {
        int64_t run = sched_start_run(s, g, &nr, g->name, now);
        g = NULL;
        if (run < 0) {
            sched_reply(s, id, WEFT_EDB, "the catalogue refused the run (see the scheduler "
                        "log)", NULL, 0);
        } else {
            char *warn = unplaceable_warnings(s, run, now);
            sched_remember_answer(s, peer, rq->idempotency_key, "submit", warn, (uint64_t)run,
                                  now);
            if (rq->wait_ms)
                sched_wait_for_run(s, id, (uint64_t)run, rq->wait_ms, now);
            else
                sched_reply(s, id, 0, NULL, warn, (uint64_t)run);
            free(warn);
        }
    }
    dag_free(g);
    sched_ingest_end(&ic);
    free(labels);
    json_decref(reg);
}

int64_t sched_start_run(sched *s, dag *g, const sched_new_run *nr, const char *detail,
                        int64_t now)
{
    int64_t run = sched_create_run(s, g, nr, now);
    if (run < 0) {
        dag_free(g);
        return run;
    }
    catalog_event(s->cat, run, NULL, "submitted", detail, now);
    log_info("run %lld: workflow %s, %zu tasks, project %s%s%s", (long long)run, g->name,
             g->ntasks, nr->project, nr->schedule_id ? ", " : "",
             nr->schedule_id ? detail : "");
    sched_notify_event(s, g, (uint64_t)run, "started", NULL);
    core_event ev = {.kind = EV_RUN_SUBMITTED, .now_us = now, .run_id = (uint64_t)run, .dag = g,
                     .project = nr->project};
    sched_step(s, &ev);
    return run;
}

int sched_refuse_ended_run(sched *s, const zmq_msg_t *id, uint64_t run)
{
    if (core_run_active(s->core, run))
        return 0;
    weft_err err = {0};
    json_t *r = catalog_query_run_row(s->cat, (int64_t)run, &err);
    char msg[300];
    if (r)
        snprintf(msg, sizeof msg, "run %llu is not running (it %s)", (unsigned long long)run,
                 json_string_value(json_object_get(r, "state")));
    sched_reply(s, id, r ? WEFT_EINVAL : WEFT_ENOTFOUND, r ? msg : err.msg, NULL, 0);
    json_decref(r);
    return 1;
}

void sched_on_cancel(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                     const Weft__CancelRequest *rq)
{
    if (!sched_may_see_run(s, id, peer, rq->run_id, "a cancel") ||
        sched_answered_before(s, id, peer, "cancel", rq->idempotency_key) ||
        sched_refuse_ended_run(s, id, rq->run_id))
        return;
    int64_t now = clock_wall_us();
    catalog_request_cancel(s->cat, (int64_t)rq->run_id, now);
    sched_remember_answer(s, peer, rq->idempotency_key, "cancel", "{}", rq->run_id, now);
    log_info("run %llu: cancel requested", (unsigned long long)rq->run_id);
    core_event ev = {.kind = EV_CANCEL, .now_us = now, .run_id = rq->run_id};
    sched_step(s, &ev);
    sched_reply(s, id, 0, NULL, "{}", rq->run_id);
}

json_t *sched_metrics(sched *s)
{
    size_t slots, free_slots;
    core_slots(s->core, &slots, &free_slots);
    uint64_t by_thread, by_commit;
    catalog_checkpoints(s->cat, &by_thread, &by_commit);
    return json_pack("{s:o, s:I, s:I, s:I, s:I, s:b, s:o, s:o, s:o, s:{s:I, s:I}}",
                     "ready_by_type",
                     core_ready_by_type(s->core), "workers", (json_int_t)core_nworkers(s->core),
                     "slots", (json_int_t)slots, "free_slots", (json_int_t)free_slots,
                     "runs_active", (json_int_t)core_nruns(s->core), "degraded", s->degraded,
                     "queue_wait", histo_json(&s->queue_wait), "dispatch_latency",
                     histo_json(&s->dispatch_latency), "commit_time",
                     histo_json(&s->commit_time), "checkpoints", "thread",
                     (json_int_t)by_thread, "commit", (json_int_t)by_commit);
}

/* The runs peer may list: those of q's project (when it names one), of the projects peer
 * may use. */
static void list_runs(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                      const Weft__QueryRequest *q, int limit)
{
    weft_err err = {0};
    if (*q->project && !sched_may_use(s, id, peer, q->project, "a list"))
        return;
    char why[300];
    char *labels = q->n_labels ? sched_labels_json(q->labels, q->n_labels, why, sizeof why)
                               : NULL;
    if (q->n_labels && !labels) {
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
        return;
    }
    char *within = auth_projects_json(peer);
    catalog_runs_filter f = {.project = *q->project ? q->project : NULL, .within = within,
                             .workflow = *q->workflow ? q->workflow : NULL,
                             .state = *q->state ? q->state : NULL, .since_us = q->since_us,
                             .until_us = q->until_us, .labels = labels,
                             .before_run = (int64_t)q->before_run, .limit = limit,
                             .schedule = *q->schedule ? q->schedule : NULL};
    sched_reply_json(s, id, catalog_query_runs(s->cat, &f, &err), &err);
    free(within);
    free(labels);
}

/* The catalogue's progress of a run, counted by the core while it holds the run (a count
 * over the catalogue's rows of a large run, at every poll, costs more than the run). */
static json_t *progress(sched *s, uint64_t run, uint64_t after_seq, weft_err *err)
{
    size_t counts[TS__COUNT];
    int held = core_run_counts(s->core, run, counts);
    json_t *j = catalog_query_progress(s->cat, (int64_t)run, (int64_t)after_seq, !held, err);
    if (j && held)
        json_object_set_new(j, "counts", core_counts_json(counts));
    return j;
}

void sched_on_query(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                    const Weft__QueryRequest *q)
{
    weft_err err = {0};
    int limit = q->limit && q->limit < QUERY_LIMIT_MAX ? (int)q->limit : 0;
    if (q->kind != WEFT__QUERY_KIND__QUERY_LIST && q->kind != WEFT__QUERY_KIND__QUERY_SHUTDOWN &&
        !sched_may_see_run(s, id, peer, q->run_id, "a query"))
        return;
    /* Readers see the committed state plus this turn's writes: same connection. */
    switch (q->kind) {
    case WEFT__QUERY_KIND__QUERY_STATUS:
        if (q->run_id) {
            /* limit: elements listed per mapped task (all are counted); tasks: of a larger
             * run, tasks listed (all are counted); 0: every one. */
            int most = q->limit > QUERY_LIMIT_MAX ? QUERY_LIMIT_MAX : (int)q->limit;
            int most_tasks = q->tasks > QUERY_LIMIT_MAX ? QUERY_LIMIT_MAX : (int)q->tasks;
            json_t *run = *q->task ? catalog_query_run_unit(s->cat, (int64_t)q->run_id,
                                                            q->task, &err)
                                   : catalog_query_run_some(s->cat, (int64_t)q->run_id, most,
                                                            most_tasks, &err);
            json_t *waiting = core_run_waiting(s->core, q->run_id);
            if (run && json_object_size(waiting))
                json_object_set(run, "waiting", waiting);
            json_decref(waiting);
            sched_reply_json(s, id, run, &err);
        } else {
            json_t *j = json_pack("{s:I, s:I, s:I, s:o}", "runs_active",
                                  (json_int_t)core_nruns(s->core), "workers",
                                  (json_int_t)core_nworkers(s->core), "tasks_ready",
                                  (json_int_t)core_nready(s->core), "scheduler",
                                  sched_health(s));
            sched_reply_json(s, id, j, &err);
        }
        break;
    case WEFT__QUERY_KIND__QUERY_LIST:
        list_runs(s, id, peer, q, limit);
        break;
    case WEFT__QUERY_KIND__QUERY_LOGS:
        sched_reply_json(s, id,
                   catalog_query_logs(s->cat, (int64_t)q->run_id, *q->task ? q->task : NULL, &err),
                   &err);
        break;
    case WEFT__QUERY_KIND__QUERY_EVENTS:
        sched_reply_text(s, id,
                         catalog_query_events_text(s->cat, (int64_t)q->run_id,
                                                   (int64_t)q->after_seq, limit, &err),
                         &err);
        break;
    case WEFT__QUERY_KIND__QUERY_PROGRESS:
        sched_reply_json(s, id, progress(s, q->run_id, q->after_seq, &err), &err);
        break;
    case WEFT__QUERY_KIND__QUERY_LOG_TAIL:
        sched_reply_json(s, id, catalog_query_log_tail(s->cat, (int64_t)q->run_id, q->task,
                                                       (int)q->attempt, q->offset, &err),
                         &err);
        break;
    case WEFT__QUERY_KIND__QUERY_NOTIFICATIONS: {
        char *within = auth_projects_json(peer);
        sched_reply_json(s, id, catalog_query_notifications(s->cat, (int64_t)q->run_id, within,
                                                            limit, &err), &err);
        free(within);
        break;
    }
    case WEFT__QUERY_KIND__QUERY_METRICS:
        sched_reply_json(s, id, sched_metrics(s), &err);
        break;
    case WEFT__QUERY_KIND__QUERY_WORKERS:
        sched_reply_json(s, id, core_workers_json(s->core), &err);
        break;
    case WEFT__QUERY_KIND__QUERY_SHUTDOWN:
        log_info("shutdown requested by a client");
        sched_reply(s, id, 0, NULL, "{}", 0);
        s->stopping = 1;
        break;
    default:
        sched_reply(s, id, WEFT_EPROTO, "unknown query kind", NULL, 0);
    }
}

/* ---- retry ---- */

/* retry_usable_fn: every artifact the outputs reference still verifies. */
static int outputs_usable(void *ud, const json_t *outputs, char *why, size_t n)
{
    weft_err err = {0};
    if (memo_outputs_usable(ud, outputs, &err) == 0)
        return 0;
    snprintf(why, n, "%s", err.msg);
    return -1;
}

/* Marks a reused task or element of the new run succeeded, with the outputs and inputs
 * it reuses and where they were computed. */
static void record_unit(sched *s, const dag *g, int64_t run, int task, int elem,
                        const retry_unit *ru, int64_t now)
{
    char name[300], detail[400];
    dag_unit_name(g, task, elem, name, sizeof name);
    char *outputs = json_dumps(ru->outputs, JSON_COMPACT);
    char *inputs = ru->inputs ? json_dumps(ru->inputs, JSON_COMPACT) : NULL;
    snprintf(detail, sizeof detail, "reused (retry): computed by run %llu, task %s",
             (unsigned long long)ru->source_run, ru->source_task);
    catalog_task_update u = {.run = run, .idx = task, .elem = elem, .state = "succeeded",
                             .task_name = name, .error = detail, .outputs = outputs,
                             .finished_us = now};
    catalog_update_task(s->cat, &u, now);
    catalog_task_lookup(s->cat, run, task, elem, NULL, NULL, inputs);
    catalog_task_source(s->cat, run, task, elem, "retry", (int64_t)ru->source_run,
                        ru->source_task);
    free(outputs);
    free(inputs);
}

/* Writes what the new run reuses: reused tasks succeeded; a mapped task that was planned
 * element by element gets its element rows, the reused ones succeeded, and is running
 * when some elements execute again. */
static void record_reused(sched *s, const dag *g, int64_t run, const retry_plan *p, int64_t now)
{
    char name[300];
    for (size_t i = 0; i < p->ntasks; i++) {
        const retry_task *t = &p->t[i];
        const dag_task *dt = &g->tasks[i];
        for (size_t e = 0; t->elems && e < t->nelems; e++) {
            dag_unit_name(g, (int)i, (int)e, name, sizeof name);
            catalog_add_task(s->cat, run, (int)i, (int)e, name, dt->type, dt->type_version,
                             "pending");
            if (t->elems[e].reuse)
                record_unit(s, g, run, (int)i, (int)e, &t->elems[e], now);
        }
        if (t->action == RETRY_REUSE) {
            record_unit(s, g, run, (int)i, -1, &t->u, now);
        } else if (t->action == RETRY_PARTIAL) {
            catalog_task_update u = {.run = run, .idx = (int)i, .elem = -1, .state = "running",
                                     .task_name = dt->name, .ready_us = now};
            catalog_update_task(s->cat, &u, now);
        }
    }
}

/* Starts the new run from the plan: the core gets it as a restored run whose reused tasks
 * have succeeded. */
static void start_retry(sched *s, dag *g, int64_t run, const retry_plan *p,
                        const char *project, int64_t now)
{
    core_task_snapshot *snap = xcalloc(g->ntasks + 1, sizeof *snap);
    core_task_snapshot *elems = xcalloc(retry_plan_nelems(p) + 1, sizeof *elems);
    retry_plan_snapshot(p, snap, elems);
    record_reused(s, g, run, p, now);
    catalog_event(s->cat, run, NULL, "submitted", g->name, now);
    sched_notify_event(s, g, (uint64_t)run, "started", NULL);
    log_info("run %lld: retry of run %llu, %zu units reused, %zu to execute", (long long)run,
             (unsigned long long)p->old_run, p->nreuse, p->nexec);
    core_event ev = {.kind = EV_RUN_RESTORED, .now_us = now, .run_id = (uint64_t)run,
                     .dag = g, .snapshot = snap, .started_us = now, .project = project};
    sched_step(s, &ev);
    free(snap);
    free(elems);
}

/* The old run's element rows, read from the catalogue one at a time for the planner. */
typedef struct element_feed {
    catalog *cat;
    int64_t run;
    retry_row_fn fn;
    void *fnud;
    int failed; /* a read failed: the plan's error is the catalogue's, not the request's */
} element_feed;

static int feed_element(void *ud, const catalog_unit *u)
{
    element_feed *f = ud;
    retry_row row = {.name = u->name, .state = u->state, .error = u->error,
                     .source = u->source, .source_run = u->source_run,
                     .source_task = u->source_task,
                     .inputs = catalog_unit_json(u->inputs),
                     .outputs = catalog_unit_json(u->outputs)};
    int rc = f->fn(f->fnud, &row);
    json_decref(row.inputs);
    json_decref(row.outputs);
    return rc;
}

static int catalog_elements(void *ud, int task, retry_row_fn fn, void *fnud, char *why,
                            size_t n)
{
    element_feed *f = ud;
    f->fn = fn;
    f->fnud = fnud;
    weft_err err = {0};
    if (catalog_each_unit(f->cat, f->run, task, feed_element, f, &err) < 0) {
        snprintf(why, n, "cannot read run %lld's elements: %s", (long long)f->run, err.msg);
        f->failed = 1;
        return -1;
    }
    return 0;
}

void sched_on_retry(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                    const Weft__RetryRequest *rq)
{
    if (!sched_may_see_run(s, id, peer, rq->run_id, "a retry") ||
        (!rq->dry_run && sched_answered_before(s, id, peer, "retry", rq->idempotency_key)))
        return;
    weft_err err = {0};
    char why[600], *errors = NULL;
    if (core_run_active(s->core, rq->run_id)) {
        snprintf(why, sizeof why, "run %llu is still running; cancel it or wait for it to end",
                 (unsigned long long)rq->run_id);
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
        return;
    }
    json_t *row = catalog_query_recovery(s->cat, (int64_t)rq->run_id, &err);
    /* Its tasks; the elements of its maps are read as the plan needs them. */
    json_t *old = row ? catalog_query_task_rows(s->cat, (int64_t)rq->run_id, &err) : NULL;
    if (!old) {
        json_decref(row);
        sched_reply(s, id, err.code ? err.code : WEFT_EDB, err.msg, NULL, 0);
        return;
    }
    /* The new run belongs to the old run's project. */
    const char *project = json_string_value(json_object_get(row, "project"));
    ingest_ctx ic = {.pinned = json_deep_copy(json_object_get(row, "artifacts"))};
    sched_sent sent = SCHED_SENT(rq);
    if (sched_ingest_begin(s, &ic, peer, rq->cwd, &sent, project, why, sizeof why) < 0) {
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
        sched_ingest_end(&ic);
        json_decref(row);
        json_decref(old);
        return;
    }
    /* The old run's workflow with its parameters and the request's overrides; its paths
     * come from the old run's pins (new -p paths are taken from the client's cwd, or from
     * what a remote client uploaded). */
    compile_param *params = sched_wire_params(rq->params, rq->n_params);
    dag *g = recover_compile(row, s->types, params, rq->n_params, &ic, &errors);
    free(params);
    int from = -1;
    for (size_t i = 0; g && *rq->from_task && i < g->ntasks; i++)
        if (!strcmp(g->tasks[i].name, rq->from_task))
            from = (int)i;
    retry_plan *p = NULL;
    element_feed feed = {.cat = s->cat, .run = (int64_t)rq->run_id};
    retry_source src = {.tasks = old, .elements = catalog_elements,
                        .ud = &feed};
    if (g && *rq->from_task && from < 0)
        errors = xasprintf("--from %s: run %llu's workflow has no task '%s'", rq->from_task,
                           (unsigned long long)rq->run_id, rq->from_task);
    else if (g && !(p = retry_plan_make(g, rq->run_id, &src, from, outputs_usable, s->store,
                                        why, sizeof why)))
        errors = xstrdup(why);
    if (!p && feed.failed) {
        sched_reply(s, id, WEFT_EDB, errors, NULL, 0);
    } else if (!p) {
        sched_reply_compile_errors(s, id, &ic, errors, g ? WEFT_EINVAL : WEFT_ECOMPILE);
    } else if (rq->dry_run || sched_within_limits(s, id, project, g->ntasks)) {
        json_t *plan = retry_plan_json(p, g);
        char *text = json_dumps(plan, JSON_COMPACT);
        int64_t now = clock_wall_us(), run = 0;
        if (!rq->dry_run) {
            const char *file = json_string_value(json_object_get(row, "file"));
            const char *spec = json_string_value(json_object_get(row, "spec"));
            char *labels = json_dumps(json_object_get(row, "labels"), JSON_COMPACT);
            sched_new_run nr = {
                .file = file, .yaml = spec, .pinned = ic.pinned,
                .retry_of = (int64_t)rq->run_id, .project = project, .labels = labels,
                .schedule_id = json_integer_value(json_object_get(row, "schedule_id")),
                .logical_s = json_integer_value(json_object_get(row, "logical_s"))};
            run = sched_create_run(s, g, &nr, now);
            free(labels);
        }
        if (run < 0) {
            sched_reply(s, id, WEFT_EDB, "the catalogue refused the run (see the scheduler log)",
                        NULL, 0);
        } else {
            if (run > 0) {
                sched_remember_answer(s, peer, rq->idempotency_key, "retry", text,
                                      (uint64_t)run, now);
                start_retry(s, g, run, p, project, now);
                g = NULL; /* the core owns it */
            }
            sched_reply(s, id, 0, NULL, text, (uint64_t)run);
        }
        free(text);
        json_decref(plan);
    }
    retry_plan_free(p);
    dag_free(g);
    free(errors);
    sched_ingest_end(&ic);
    json_decref(old);
    json_decref(row);
}
