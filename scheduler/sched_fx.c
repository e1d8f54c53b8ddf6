/* sched_fx: applying the run state machine's effects: catalogue writes, dispatches and
 * stops for workers, cache lookups and records. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "common/jsontext.h"
#include "common/log.h"
#include "common/xmem.h"
#include "scheduler/memo.h"
#include "common/wire.h"
#include "scheduler/sched_int.h"

/* Answers a lookup now; the answer is stepped after this step's effects are applied. */
static void answer_lookup(sched *s, const core_effect *e, const dag *g, int64_t now)
{
    xgrow(&s->lookups, &s->caplookups, s->nlookups + 1, sizeof *s->lookups);
    memo_lookup(s->cat, s->store, g, e, now, &s->lookups[s->nlookups++]);
}

/* A task failed after its retries, will be retried, or waits for approval: its
 * notifications. */
static void notify_task(sched *s, const core_effect *e, const dag *g, const char *name)
{
    if (e->state != TS_RETRY_WAIT && e->state != TS_WAITING &&
        (e->state != TS_FAILED || e->elem >= 0))
        return;
    sched_notify_task nt = {.name = name,
                            .errclass = e->errclass ? errclass_name(e->errclass) : NULL,
                            .message = e->message, .seq = e->due_us};
    sched_notify_event(s, g, e->run_id, e->state == TS_FAILED    ? "task_failed"
                                        : e->state == TS_WAITING ? "approval"
                                                                 : "retrying",
                       &nt);
}

/* A task made ready and dispatched by the same effects is written once: the dispatch takes
 * its row straight to running, with the time it became ready (the "ready" event stays). */
enum { PAIR_NONE, PAIR_READY, PAIR_DISPATCH };

typedef struct unit_ref {
    uint64_t run;
    int task, elem;
    size_t at; /* the unit's index among the effects' units (fx_units) */
    int ready; /* a ready state's unit, else a dispatch */
} unit_ref;

static int unit_ref_cmp(const void *a, const void *b)
{
    const unit_ref *x = a, *y = b;
    if (x->run != y->run)
        return x->run < y->run ? -1 : 1;
    if (x->task != y->task)
        return x->task < y->task ? -1 : 1;
    if (x->elem != y->elem)
        return x->elem < y->elem ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

static int is_ready(const core_effect *e)
{
    return e->kind == FX_TASK_STATE && e->state == TS_READY;
}

/* The units an effect is about: a ready state's, with the ones after it (more); else one. */
static size_t fx_units(const core_effect *e)
{
    return is_ready(e) ? 1 + (size_t)e->more : 1;
}

/* For each unit of the effects, in order: PAIR_READY for a unit's ready state whose next
 * effect among readies and dispatches is its dispatch, PAIR_DISPATCH for that dispatch,
 * else PAIR_NONE. */
static uint8_t *pair_ready_dispatch(const core_effects *fx)
{
    size_t units = 0;
    for (size_t i = 0; i < fx->n; i++)
        units += fx_units(&fx->v[i]);
    uint8_t *pair = xcalloc(units + 1, 1);
    unit_ref *refs = xmalloc((units + 1) * sizeof *refs);
    size_t n = 0, at = 0;
    for (size_t i = 0; i < fx->n; i++) {
        const core_effect *e = &fx->v[i];
        for (uint32_t k = 0; is_ready(e) && k <= e->more; k++) {
            core_effect one = core_effect_unit(e, k);
            refs[n++] = (unit_ref){e->run_id, one.task, one.elem, at + k, 1};
        }
        if (e->kind == FX_DISPATCH)
            refs[n++] = (unit_ref){e->run_id, e->task, e->elem, at, 0};
        at += fx_units(e);
    }
    qsort(refs, n, sizeof *refs, unit_ref_cmp);
    for (size_t k = 0; k + 1 < n; k++) {
        const unit_ref *a = &refs[k], *b = &refs[k + 1];
        if (a->run == b->run && a->task == b->task && a->elem == b->elem && a->ready &&
            !b->ready) {
            pair[a->at] = PAIR_READY;
            pair[b->at] = PAIR_DISPATCH;
            k++;
        }
    }
    free(refs);
    return pair;
}

/* A task's new state; end: the end of the attempt that brought it (NULL: none), recorded
 * with it. */
static void apply_task_state(sched *s, const core_effect *e, const dag *g, int paired,
                             const catalog_attempt_end *end, int64_t now)
{
    char *outputs = jsontext_dump(e->json);
    char *inputs = jsontext_dump(e->inputs);
    char reused[300] = "", name[300];
    dag_unit_name(g, e->task, e->elem, name, sizeof name);
    int copied = e->state == TS_SUCCEEDED && e->source != SRC_COMPUTED;
    if (copied) /* the event says where the outputs came from (the row keeps no error) */
        snprintf(reused, sizeof reused, "reused (%s): computed by run %llu, task %s",
                 core_source_name(e->source), (unsigned long long)e->source_run,
                 e->source_task ? e->source_task : "?");
    catalog_task_update u = {
        .run = (int64_t)e->run_id,
        .idx = e->task,
        .elem = e->elem,
        .state = core_task_state_name(e->state),
        .task_name = name,
        .error_class = e->errclass ? errclass_name(e->errclass) : NULL,
        .error = copied ? reused : e->message,
        .outputs = outputs,
        .inputs = inputs,
        .ready_us = e->state == TS_READY || e->state == TS_WAITING ? now : 0,
        .finished_us = e->state >= TS_SUCCEEDED ? now : 0,
        .due_us = e->due_us,
        .end = end,
    };
    if (paired == PAIR_READY) { /* the dispatch that follows writes the row */
        if (end)
            catalog_finish_attempt(s->cat, end);
        catalog_event(s->cat, u.run, name, u.state, u.error, now);
        free(outputs);
        free(inputs);
        return;
    }
    catalog_update_task(s->cat, &u, now);
    free(outputs);
    free(inputs);
    if (copied || e->key)
        memo_task_succeeded(s->cat, e, now);
    notify_task(s, e, g, name);
}

/* A mapped task expanded: a row per element, and the task is running. */
static void apply_map(sched *s, const core_effect *e, const dag *g, int64_t now)
{
    const dag_task *t = &g->tasks[e->task];
    size_t n = json_array_size(e->json);
    char name[300], detail[96];
    for (size_t i = 0; i < n; i++) {
        dag_unit_name(g, e->task, (int)i, name, sizeof name);
        catalog_add_task(s->cat, (int64_t)e->run_id, e->task, (int)i, name, t->type,
                         t->type_version, "pending");
    }
    catalog_task_update u = {.run = (int64_t)e->run_id, .idx = e->task, .elem = -1,
                             .state = "running", .task_name = t->name, .ready_us = now};
    catalog_update_task(s->cat, &u, now);
    snprintf(detail, sizeof detail, "%zu elements", n);
    catalog_event(s->cat, (int64_t)e->run_id, t->name, "map", detail, now);
}

/* Records the attempt (unless it was recorded before: resend) and sends it. */
static void apply_dispatch(sched *s, const core_effect *e, const dag *g, int resend,
                           int paired, int64_t now)
{
    const dag_task *t = &g->tasks[e->task];
    char *inputs = jsontext_dump(e->json), name[300];
    dag_unit_name(g, e->task, e->elem, name, sizeof name);
    catalog_attempt a = {.id = e->attempt_id,
                         .run = (int64_t)e->run_id,
                         .idx = e->task,
                         .elem = e->elem,
                         .task_name = name,
                         .number = e->attempt_no,
                         .worker = e->worker,
                         .inputs = inputs,
                         .ready_us = paired == PAIR_DISPATCH ? e->due_us : 0};
    if (resend) {
        char detail[400];
        snprintf(detail, sizeof detail, "attempt %llu sent again to worker %s, which never got "
                 "it (the scheduler restarted before sending it)",
                 (unsigned long long)e->attempt_id, e->worker);
        catalog_event(s->cat, a.run, name, "redispatched", detail, now);
        log_info("%s: %s", name, detail);
    } else
        catalog_start_attempt(s->cat, &a, now);
    Weft__Dispatch d = WEFT__DISPATCH__INIT;
    d.attempt_id = e->attempt_id;
    d.run_id = e->run_id;
    d.task = name;
    d.type = (char *)t->type; /* packed, never written */
    d.inputs_json = inputs;
    d.attempt = (uint32_t)e->attempt_no;
    d.timeout_ms = (uint64_t)t->timeout_ms;
    d.mem_bytes = t->mem;
    d.gpu_devices = e->gpu_mask;
    d.gpu_milli = e->gpu_milli;
    d.gpus = (uint32_t)__builtin_popcountll(e->gpu_mask);
    d.cpu_milli = (uint32_t)res_get(t->res, t->nres, "cpu");
    d.heartbeat_ms = (uint64_t)t->heartbeat_ms;
    d.store = s->store->location;
    d.inline_max = sched_journal_inline_max(s);
    if (s->store->id)
        d.store_id = s->store->id;
    char nonce[33];
    sched_nonce(s, e->attempt_id, nonce);
    d.nonce = nonce;
    Weft__Param *secrets, **sp = wire_params(t->secret_envs, t->secret_names, t->nsecrets,
                                             &secrets);
    d.secrets = sp;
    d.n_secrets = t->nsecrets;
    char *checkpoint = catalog_resume_checkpoint(s->cat, &a);
    if (checkpoint)
        d.checkpoint_json = checkpoint;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_DISPATCH;
    env.dispatch = &d;
    sched_queue_to_worker(s, e->worker, &env);
    free(secrets);
    free(sp);
    free(checkpoint);
    free(inputs);
}

/* The run's end, with its tasks and map elements by state: final now (the core holds the
 * run until its next step), and read by a client's last look at it instead of its rows. */
static void finish_run(sched *s, const core_effect *e, int64_t now)
{
    size_t counts[TS__COUNT];
    char *text = NULL;
    if (core_run_counts(s->core, e->run_id, counts)) {
        json_t *j = core_counts_json(counts);
        text = jsontext_dump(j);
        json_decref(j);
    }
    catalog_finish_run(s->cat, (int64_t)e->run_id, core_run_state_name(e->state), e->message,
                       text, now);
    free(text);
}

/* Whether effect i + 1 is the new state of effect i's unit alone (an attempt's end is then
 * written with it: one statement for its task's row). */
static int state_follows(const core_effects *fx, size_t i)
{
    const core_effect *e = &fx->v[i], *next = i + 1 < fx->n ? &fx->v[i + 1] : NULL;
    return next && next->kind == FX_TASK_STATE && fx_units(next) == 1 &&
           next->run_id == e->run_id && next->task == e->task && next->elem == e->elem;
}

void sched_apply_effects(sched *s, int64_t now)
{
    uint8_t *pair = pair_ready_dispatch(&s->fx);
    catalog_attempt_end ended; /* an attempt's end, written with the state that follows */
    int ending = 0;
    for (size_t i = 0, at = 0; i < s->fx.n; at += fx_units(&s->fx.v[i]), i++) {
        const core_effect *e = &s->fx.v[i];
        const dag *g = e->run_id ? core_run_dag(s->core, e->run_id) : NULL;
        switch (e->kind) {
        case FX_TASK_STATE:
            for (size_t k = 0; k < fx_units(e); k++) {
                core_effect one = core_effect_unit(e, (uint32_t)k);
                apply_task_state(s, &one, g, pair[at + k], ending ? &ended : NULL, now);
                ending = 0;
            }
            break;
        case FX_DISPATCH:
            histo_observe(&s->queue_wait, (double)(now - e->due_us) / 1e6);
            apply_dispatch(s, e, g, 0, pair[at], now);
            break;
        case FX_REDISPATCH:
            apply_dispatch(s, e, g, 1, PAIR_NONE, now);
            break;
        case FX_ATTEMPT_END:
            if (e->due_us && e->started_us)
                histo_observe(&s->dispatch_latency, (double)(e->started_us - e->due_us) / 1e6);
            sched_blob_forget(s, e->attempt_id);
            sched_attempt_ended(s, e->attempt_id, e->run_id, e->task, e->elem);
            ended = (catalog_attempt_end){
                .id = e->attempt_id, .run = (int64_t)e->run_id, .idx = e->task, .elem = e->elem,
                .state = e->ok ? "succeeded" : "failed",
                .error_class = e->ok ? NULL : errclass_name(e->errclass), .error = e->message,
                .started_us = e->started_us, .finished_us = e->finished_us ? e->finished_us : now,
                .peak_mem_bytes = e->peak_mem_bytes, .cpu_us = e->cpu_us};
            ending = state_follows(&s->fx, i);
            if (!ending)
                catalog_finish_attempt(s->cat, &ended);
            break;
        case FX_STALE: {
            /* Recorded as an event only: the attempt's own row keeps what really ended it. */
            char detail[1200];
            snprintf(detail, sizeof detail,
                     "result of attempt %llu (%s%s%s) ignored: no task "
                     "waits for it",
                     (unsigned long long)e->attempt_id,
                     e->ok ? "succeeded" : errclass_name(e->errclass), e->ok ? "" : ": ",
                     e->ok ? "" : e->message);
            catalog_event(s->cat, 0, NULL, "stale_result", detail, now);
            break;
        }
        case FX_RUN_STATE:
            finish_run(s, e, now);
            log_info("run %llu %s%s%s", (unsigned long long)e->run_id,
                     core_run_state_name(e->state), e->message ? ": " : "",
                     e->message ? e->message : "");
            sched_schedules_kick(s); /* a slot waiting for it may start */
            sched_wait_run_ended(s, g, e->run_id, core_run_state_name(e->state), e->message);
            sched_notify_event(s, g, e->run_id, core_run_state_name(e->state), NULL);
            break;
        case FX_STOP_ATTEMPT: {
            Weft__Stop stop = WEFT__STOP__INIT;
            stop.attempt_id = e->attempt_id;
            Weft__Envelope env = WEFT__ENVELOPE__INIT;
            env.body_case = WEFT__ENVELOPE__BODY_STOP;
            env.stop = &stop;
            sched_queue_to_worker(s, e->worker, &env);
            break;
        }
        case FX_LOOKUP:
            answer_lookup(s, e, g, now);
            break;
        case FX_MAP:
            apply_map(s, e, g, now);
            break;
        case FX_WAITING: {
            char name[300];
            dag_unit_name(g, e->task, e->elem, name, sizeof name);
            catalog_event(s->cat, (int64_t)e->run_id, name, "waiting", e->message, now);
            log_info("run %llu %s waits: %s", (unsigned long long)e->run_id, name, e->message);
            break;
        }
        case FX_WORKER_STATE:
            /* The row of a worker that is up was written when it registered. */
            if (strcmp(e->message, "up") == 0)
                catalog_event(s->cat, 0, NULL, "worker_up", e->worker, now);
            else
                catalog_worker_state(s->cat, e->worker, e->message, now);
            if (strcmp(e->message, "lost") == 0)
                sched_unbind_worker(s, e->worker);
            log_info("worker %s %s", e->worker, e->message);
            break;
        }
    }
    free(pair);
    core_effects_clear(&s->fx);
}

