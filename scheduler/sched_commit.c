/* sched_commit: the turn's commit, and what the scheduler does when it fails.
 *
 * A failed commit releases nothing: the turn's writes are rolled back by the catalogue, its
 * replies to clients become refusals ("nothing was done"), its dispatches and stops are
 * dropped, and the core, which had already moved on, is set aside. The scheduler is then
 * degraded until a probe write succeeds (backoff from 100 ms to 5 s); then the runs are
 * rebuilt from the catalogue exactly as after a restart, and the workers, asked to register
 * again, report what they run and resend their results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/xmem.h"
#include "scheduler/recover.h"
#include "scheduler/sched_int.h"

#define PROBE_FIRST_MS 100
#define PROBE_MAX_MS 5000

static void on_probe(uv_timer_t *t);

/* What the turn's queued messages become when it could not commit. */
static void release_nothing(sched *s, const weft_err *why)
{
    char msg[WEFT_ERR_MSG_MAX + 96];
    snprintf(msg, sizeof msg, "the scheduler cannot write its catalogue (%s); nothing was "
             "done: try again", why->msg);
    size_t k = 0;
    for (size_t i = 0; i < s->nout; i++) {
        outmsg *m = &s->out[i];
        if (m->kind == OUT_WORKER) {
            free(m->id);
            free(m->data);
            free(m->worker);
            continue;
        }
        if (m->kind == OUT_REPLY) {
            free(m->data);
            m->data = sched_pack_reply(WEFT_EUNAVAIL, msg, NULL, 0, &m->len);
        }
        s->out[k++] = *m;
    }
    s->nout = k;
}

/* Sets the core aside: a new empty one goes on issuing attempt ids after the old one's. */
static void reset_core(sched *s)
{
    uint64_t next = core_next_attempt_id(s->core);
    core_effects_clear(&s->fx);
    for (size_t i = 0; i < s->nlookups; i++) {
        json_decref(s->lookups[i].outputs);
        free((char *)s->lookups[i].source_task);
    }
    s->nlookups = 0;
    core_destroy(&s->core);
    s->core = core_new(next, (uint64_t)clock_wall_us());
    core_set_attempt_grace(s->core, s->attempt_grace_us);
    core_set_aging(s->core, s->aging_us);
    sched_projects_load(s);
    strmap_destroy(&s->reregister_asked);
    s->reregister_asked = strmap_new();
    sched_backlog_clear(s);
    /* A key added or revoked in the failed turn was not: the catalogue's keys hold. */
    sched_auth_reload(s);
}

static void degrade(sched *s, const weft_err *why)
{
    s->commit_failures++;
    s->degraded_why = *why;
    if (s->degraded)
        return;
    s->degraded = 1;
    s->degraded_since_us = clock_wall_us();
    log_error("degraded: %s; refusing new work and probing the catalogue until it can be "
              "written", why->msg);
    reset_core(s);
    s->probe_ms = PROBE_FIRST_MS;
    uv_timer_stop(&s->timer);
    uv_timer_start(&s->probe, on_probe, s->probe_ms, 0);
}

int sched_commit(sched *s)
{
    weft_err err = {0};
    int writes = catalog_in_turn(s->cat);
    int64_t t0 = clock_mono_us();
    if (catalog_commit(s->cat, &err) == 0) {
        if (writes)
            histo_observe(&s->commit_time, (double)(clock_mono_us() - t0) / 1e6);
        sched_journal_committed(s, 1);
        return 0;
    }
    sched_journal_committed(s, 0);
    release_nothing(s, &err);
    degrade(s, &err);
    return -1;
}

static void on_probe(uv_timer_t *t)
{
    sched *s = t->data;
    weft_err err = {0};
    int64_t now = clock_wall_us();
    if (catalog_probe(s->cat, now, &err) < 0) {
        if (strcmp(err.msg, s->degraded_why.msg) != 0)
            log_error("still degraded: %s", err.msg);
        s->degraded_why = err;
        s->probe_ms = s->probe_ms * 2 > PROBE_MAX_MS ? PROBE_MAX_MS : s->probe_ms * 2;
        uv_timer_start(&s->probe, on_probe, s->probe_ms, 0);
        return;
    }
    char detail[WEFT_ERR_MSG_MAX + 64];
    snprintf(detail, sizeof detail, "the catalogue can be written again after %.1fs: %s",
             (double)(now - s->degraded_since_us) / 1e6, s->degraded_why.msg);
    log_info("%s; rebuilding the runs", detail);
    s->degraded = 0;
    sched_auth_reload(s);
    catalog_event(s->cat, 0, NULL, "recovered", detail, now);
    sched_recover_runs(s);
    /* The loop's prepare handle arms the housekeeping timer again. */
}

void sched_recover_runs(sched *s)
{
    weft_err err = {0};
    json_t *runs = catalog_query_open_runs(s->cat, &err);
    if (!runs)
        log_error("cannot list the runs to resume: %s", err.msg);
    /* Every run is read first, then all are restored at one time: a worker's claim on an
     * attempt that was running counts from when the scheduler can hear it, not from before
     * the reading of a large run. */
    size_t n = json_array_size(runs), i;
    recovered *recs = xcalloc(n + 1, sizeof *recs);
    for (i = 0; i < n; i++) {
        int64_t id = json_integer_value(json_object_get(json_array_get(runs, i), "id"));
        weft_err rerr = {0};
        if (recover_run(s->cat, id, clock_wall_us(), &recs[i], &rerr) < 0) {
            log_error("run %lld cannot be resumed: %s", (long long)id, rerr.msg);
            catalog_finish_run(s->cat, id, "failed", rerr.msg, NULL, clock_wall_us());
        }
    }
    int64_t now = clock_wall_us();
    for (i = 0; i < n; i++) {
        recovered *rec = &recs[i];
        if (!rec->ev.dag)
            continue;
        int64_t id = (int64_t)rec->ev.run_id;
        log_info("run %lld resumed (%zu tasks)", (long long)id, rec->ev.dag->ntasks);
        catalog_event(s->cat, id, NULL, "resumed", "the scheduler restarted", now);
        rec->ev.now_us = now;
        sched_step(s, &rec->ev);
        if (json_integer_value(json_object_get(rec->row, "cancel_requested"))) {
            core_event cancel = {.kind = EV_CANCEL, .now_us = now, .run_id = (uint64_t)id};
            sched_step(s, &cancel);
        }
        recover_free(rec);
    }
    free(recs);
    json_decref(runs);
    /* At start, slots that passed while we were down were missed; after a spell of being
     * degraded, the slots of the spell (and of the turn that failed, a moment before it
     * began) are merely late. */
    int64_t up_us = s->degraded_since_us ? s->degraded_since_us - 1000000 : clock_wall_us();
    sched_schedules_load(s, up_us / 1000000);
    s->degraded_since_us = 0;
    sched_commit(s);
}

void sched_refuse_degraded(sched *s, const zmq_msg_t *id)
{
    char msg[WEFT_ERR_MSG_MAX + 96];
    snprintf(msg, sizeof msg, "the scheduler cannot write its catalogue (%s); refusing new "
             "work until it can", s->degraded_why.msg);
    sched_reply(s, id, WEFT_EUNAVAIL, msg, NULL, 0);
}

json_t *sched_health(sched *s)
{
    if (!s->degraded)
        return json_pack("{s:s, s:I}", "state", "ok", "commit_failures",
                         (json_int_t)s->commit_failures);
    return json_pack("{s:s, s:s, s:I, s:I}", "state", "degraded", "reason", s->degraded_why.msg,
                     "degraded_since_us", (json_int_t)s->degraded_since_us, "commit_failures",
                     (json_int_t)s->commit_failures);
}
