/* sched: the scheduler daemon's shell. See sched.h. */
#include "scheduler/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <uv.h>
#include <zmq.h>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/describe.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/wire.h"
#include "common/xmem.h"
#include "common/zsock.h"
#include "compiler/compile.h"
#include "scheduler/core.h"
#include "scheduler/ingest.h"
#include "scheduler/memo.h"
#include "scheduler/recover.h"
#include "scheduler/sched_int.h"
#include "compiler/typereg.h"

#define SCHED_BUSY_WAIT_MS 1000
#define PREPARE_SLICE_US 20000
/* Messages at most in one turn (one transaction), and the time it may take receiving, so
 * that its first message's effects wait for few others before they leave. */
#define TURN_MESSAGES 64
#define TURN_SLICE_US 5000

void sched_step(sched *s, core_event *ev)
{
    ev->wall_us = clock_wall_us();
    ev->mono_us = clock_mono_us();
    core_step(s->core, ev, &s->fx);
    sched_apply_effects(s, ev->now_us);
    /* Lookups answered while applying effects, in order; answering one may ask more. */
    for (size_t i = 0; i < s->nlookups; i++) {
        core_event la = s->lookups[i];
        core_step(s->core, &la, &s->fx);
        sched_apply_effects(s, la.now_us);
        json_decref(la.outputs);
        free((char *)la.source_task);
    }
    s->nlookups = 0;
}

/* While degraded: worker messages wait (a worker resends its results when asked to
 * register, once writes succeed again), write requests are refused with the reason unless
 * their idempotency key was answered before. Returns 1 when env was handled here. */
static int on_message_degraded(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                               const Weft__Envelope *env)
{
    const char *key = NULL, *kind = NULL;
    switch (env->body_case) {
    case WEFT__ENVELOPE__BODY_REGISTER:
    case WEFT__ENVELOPE__BODY_HEARTBEAT:
    case WEFT__ENVELOPE__BODY_RESULT:
    case WEFT__ENVELOPE__BODY_LOG_CHUNK:
    case WEFT__ENVELOPE__BODY_BATCH:
        return 1;
    case WEFT__ENVELOPE__BODY_SUBMIT:
        key = env->submit->idempotency_key, kind = "submit";
        break;
    case WEFT__ENVELOPE__BODY_CANCEL:
        key = env->cancel->idempotency_key, kind = "cancel";
        break;
    case WEFT__ENVELOPE__BODY_SIGNAL:
        key = env->signal->idempotency_key, kind = "signal";
        break;
    case WEFT__ENVELOPE__BODY_RETRY:
        key = env->retry->idempotency_key, kind = "retry";
        break;
    case WEFT__ENVELOPE__BODY_KEYS:
        if (env->keys->op == WEFT__KEYS_OP__KEYS_LIST)
            return 0;
        sched_refuse_degraded(s, id);
        return 1;
    case WEFT__ENVELOPE__BODY_PROJECT:
        if (env->project->op == WEFT__PROJECT_OP__PROJECT_LIST)
            return 0;
        sched_refuse_degraded(s, id);
        return 1;
    case WEFT__ENVELOPE__BODY_UPLOAD:
        sched_refuse_degraded(s, id);
        return 1;
    case WEFT__ENVELOPE__BODY_SCHEDULE:
        if (env->schedule->op == WEFT__SCHEDULE_OP__SCHEDULE_LIST)
            return 0;
        sched_refuse_degraded(s, id);
        return 1;
    default:
        return 0;
    }
    if (!sched_answered_before(s, id, peer, kind, key))
        sched_refuse_degraded(s, id);
    return 1;
}

static void on_envelope(sched *s, zmq_msg_t *id, const char *user, Weft__Envelope *env);

/* A Batch: each message in it as if it had come alone from the same peer, in order (none
 * is a Batch: wire_unpack refuses one inside another). */
static void on_batch(sched *s, zmq_msg_t *id, const char *user, const Weft__Batch *b)
{
    char peer[80];
    if (b->n_items > WIRE_BATCH_MAX) {
        log_warn("dropped a batch of %zu messages, more than %d, from %s", b->n_items,
                 WIRE_BATCH_MAX, sched_peer_name(id, peer, sizeof peer));
        return;
    }
    for (size_t i = 0; i < b->n_items; i++)
        on_envelope(s, id, user, b->items[i]);
}

/* One message from peer id, admitted as user. */
static void on_envelope(sched *s, zmq_msg_t *id, const char *user, Weft__Envelope *env)
{
    char peer[80];
    auth_peer who;
    if (!sched_authorize(s, id, user, env, &who))
        return;
    if (s->degraded && on_message_degraded(s, id, &who, env))
        return;
    const char *sender;
    switch (env->body_case) {
    case WEFT__ENVELOPE__BODY_BATCH:
        on_batch(s, id, user, env->batch);
        break;
    case WEFT__ENVELOPE__BODY_REGISTER:
        sched_on_register(s, id, env->register_, &who, user);
        break;
    case WEFT__ENVELOPE__BODY_HEARTBEAT:
        sched_on_heartbeat(s, id, user);
        break;
    case WEFT__ENVELOPE__BODY_RESULT:
        sched_on_result(s, id, user, env->result);
        break;
    case WEFT__ENVELOPE__BODY_LOG_CHUNK:
        sched_on_log_chunk(s, id, user, env->log_chunk);
        break;
    case WEFT__ENVELOPE__BODY_BLOB_FETCH:
        if ((sender = sched_known_worker(s, id, user)))
            sched_on_blob_fetch(s, id, sender, env->blob_fetch);
        break;
    case WEFT__ENVELOPE__BODY_BLOB_PUSH:
        if ((sender = sched_known_worker(s, id, user)))
            sched_on_blob_push(s, id, sender, env->blob_push);
        break;
    case WEFT__ENVELOPE__BODY_SUBMIT:
        sched_on_submit(s, id, &who, env->submit);
        break;
    case WEFT__ENVELOPE__BODY_QUERY:
        sched_on_query(s, id, &who, env->query);
        break;
    case WEFT__ENVELOPE__BODY_CANCEL:
        sched_on_cancel(s, id, &who, env->cancel);
        break;
    case WEFT__ENVELOPE__BODY_SIGNAL:
        sched_on_signal(s, id, &who, env->signal);
        break;
    case WEFT__ENVELOPE__BODY_RETRY:
        sched_on_retry(s, id, &who, env->retry);
        break;
    case WEFT__ENVELOPE__BODY_KEYS:
        sched_on_keys(s, id, env->keys);
        break;
    case WEFT__ENVELOPE__BODY_PROJECT:
        sched_on_project(s, id, &who, env->project);
        break;
    case WEFT__ENVELOPE__BODY_UPLOAD:
        sched_on_upload(s, id, &who, env->upload);
        break;
    case WEFT__ENVELOPE__BODY_SCHEDULE:
        sched_on_schedule(s, id, &who, env->schedule);
        break;
    case WEFT__ENVELOPE__BODY_DOWNLOAD:
        sched_on_download(s, id, &who, env->download);
        break;
    default:
        log_warn("dropped an unexpected message (body %d) from %s", (int)env->body_case,
                 sched_peer_name(id, peer, sizeof peer));
    }
}

void sched_on_message(void *arg, zmq_msg_t *frames, size_t n)
{
    listener *l = arg;
    sched *s = l->s;
    s->cur = l;
    char peer[80];
    /* DEALER peers send [identity, payload]; REQ peers add an empty delimiter. */
    if (n < 2 || n > 3) {
        log_warn("dropped a message of %zu frames from %s", n,
                 sched_peer_name(&frames[0], peer, sizeof peer));
        return;
    }
    zmq_msg_t *payload = &frames[n - 1];
    /* Nothing of a message is kept once it is handled. */
    Weft__Envelope *env = wire_inbox_take(&s->inbox, zmq_msg_data(payload),
                                          zmq_msg_size(payload));
    if (env) /* who sent it: the identity its connection was admitted with by ZAP */
        on_envelope(s, &frames[0], zmq_msg_gets(payload, "User-Id"), env);
    else
        log_warn("dropped an undecodable message of %zu bytes from %s", zmq_msg_size(payload),
                 sched_peer_name(&frames[0], peer, sizeof peer));
    wire_inbox_done(&s->inbox);
}

/* ---- loop plumbing ---- */

static void arm_timer(sched *s);

static void on_timer(uv_timer_t *t)
{
    sched *s = t->data;
    if (s->degraded)
        return;
    int64_t late = clock_mono_us() - s->tick_due_us;
    /* The messages that arrived first: a scheduler that was stalled hears the heartbeats
     * that queued meanwhile before it looks for lost workers. For a slice of time at most:
     * ZeroMQ reads the connections in turn, so a peer that floods us delays the others'
     * messages but cannot hold the tick back. */
    int64_t until = clock_mono_us() + PREPARE_SLICE_US;
    while (sched_drain(s) && clock_mono_us() < until) {
    }
    core_event ev = {.kind = EV_TICK, .now_us = clock_wall_us(), .late_us = late > 0 ? late : 0};
    sched_step(s, &ev);
}

static void arm_timer(sched *s)
{
    int64_t next = core_next_deadline(s->core);
    uint64_t ms = 1000; /* housekeeping at least once a second */
    if (next >= 0) {
        int64_t d = (next - clock_wall_us()) / 1000 + 1;
        if (d < (int64_t)ms)
            ms = d > 0 ? (uint64_t)d : 0;
    }
    s->tick_due_us = clock_mono_us() + (int64_t)ms * 1000;
    uv_timer_start(&s->timer, on_timer, ms, 0);
}

static void on_spin(uv_idle_t *h)
{
    (void)h;
}

/* Receives the messages of one turn: rounds of sched_drain (each a batch per listener, with
 * the ZAP handler in between) until nothing more waits, TURN_MESSAGES arrived or the turn
 * took TURN_SLICE_US. One commit then covers them all: under load a turn holds many
 * results, and the catalogue's pages and its fsync are paid once for all of them; a lone
 * message is committed at once, and costly ones (a large run's status) are not held back
 * behind many others. */
static size_t drain_turn(sched *s)
{
    size_t got = 0, n;
    int64_t until = clock_mono_us() + TURN_SLICE_US;
    while (got < TURN_MESSAGES && (n = sched_drain(s)) > 0) {
        got += n;
        if (clock_mono_us() >= until)
            break;
    }
    return got;
}

/* Before the loop blocks: commit the turn's writes, then send what they allow, then drain
 * again (sending can consume the ZMQ_FD edge). Repeat until nothing arrives, or for at most
 * PREPARE_SLICE_US: then the loop goes round without blocking (an idle handle), so that
 * timers and signals are served while a peer floods us, and comes back here. */
static void on_prepare(uv_prepare_t *p)
{
    sched *s = p->data;
    size_t got;
    int64_t until = clock_mono_us() + PREPARE_SLICE_US;
    do {
        sched_journal_tick(s);
        sched_commit(s);
        sched_flush(s);
        sched_commit(s);
        catalog_write_marks(s->cat); /* after the sends: only a restart reads it */
        got = drain_turn(s);
    } while ((got || s->nout) && clock_mono_us() < until && !s->stopping);
    if (s->stopping) {
        uv_stop(&s->loop);
        return;
    }
    if (got || s->nout)
        uv_idle_start(&s->spin, on_spin);
    else
        uv_idle_stop(&s->spin);
    if (!s->degraded)
        arm_timer(s);
}

static void on_signal(uv_signal_t *h, int sig)
{
    sched *s = h->data;
    log_info("signal %d: stopping", sig);
    s->stopping = 1;
    uv_stop(&s->loop);
}

static int lock_state(sched *s, weft_err *err)
{
    if (fs_private_dir(s->state_dir, err) < 0)
        return err->code;
    char *path = xasprintf("%s/scheduler.lock", s->state_dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        char pid[32] = "?";
        if (s->lock_fd >= 0) {
            ssize_t n = pread(s->lock_fd, pid, sizeof pid - 1, 0);
            pid[n > 0 ? n : 0] = '\0';
        }
        err_set(err, WEFT_EBUSY, "%s is in use by another scheduler (pid %s): %s", s->state_dir,
                pid, strerror(e));
        free(path);
        return WEFT_EBUSY;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (ftruncate(s->lock_fd, 0) < 0 || pwrite(s->lock_fd, pid, (size_t)n, 0) < 0)
        log_warn("cannot write %s", path);
    free(path);
    return 0;
}

int sched_new(const sched_config *cfg, sched **out, weft_err *err)
{
    sched *s = xcalloc(1, sizeof *s);
    s->lock_fd = -1;
    s->state_dir = xstrdup(cfg->state_dir);
    uv_loop_init(&s->loop);
    s->zctx = zmq_ctx_new();
    s->types = typereg_new();
    s->reregister_asked = strmap_new();
    s->wconns = strmap_new();
    s->wnames = strmap_new();
    /* The lock first: a second scheduler must not touch a catalogue in use. */
    int rc = lock_state(s, err);
    if (rc == 0)
        rc = catalog_open(cfg->state_dir, cfg->accept_loss ? CATALOG_ACCEPT_LOSS : 0, &s->cat,
                          err);
    if (rc == 0)
        rc = catalog_check(s->cat, 0, err);
    if (rc == 0) /* a full WAL is checkpointed off the loop */
        rc = catalog_checkpoint_in_background(s->cat, err);
    if (rc == 0) {
        /* Absolute: workers on this machine (or mounting it at the same path) use it as is.
         * Blobs read from object storage are kept in STATE/s3-cache. */
        char *abs = realpath(cfg->state_dir, NULL);
        char *where = cfg->store ? xstrdup(cfg->store)
                                 : xasprintf("%s/artifacts", abs ? abs : cfg->state_dir);
        char *s3cache = xasprintf("%s/s3-cache", abs ? abs : cfg->state_dir);
        setenv("WEFT_S3_CACHE", s3cache, 0);
        rc = store_open(where, &s->store, err);
        if (rc == 0)
            rc = store_record_location(cfg->state_dir, where, err);
        if (rc == 0)
            rc = sched_journal_open(s, err);
        free(s3cache);
        free(where);
        free(abs);
    }
    if (rc == 0)
        rc = sched_auth_open(s, err);
    if (rc == 0)
        rc = sched_listen(s, cfg, err);
    if (rc < 0) {
        sched_destroy(&s);
        return rc;
    }
    s->core = core_new(catalog_max_attempt_id(s->cat) + 1, (uint64_t)clock_wall_us());
    s->attempt_grace_us = cfg->attempt_grace_ms > 0 ? cfg->attempt_grace_ms * 1000
                                                    : CORE_ATTEMPT_GRACE_US;
    core_set_attempt_grace(s->core, s->attempt_grace_us);
    s->aging_us = cfg->priority_aging_ms > 0 ? cfg->priority_aging_ms * 1000 : CORE_AGING_US;
    core_set_aging(s->core, s->aging_us);
    s->uploads = strmap_new();
    s->max_upload = cfg->max_upload ? cfg->max_upload : 16ull << 30;
    histo_init_latency(&s->queue_wait);
    histo_init_latency(&s->dispatch_latency);
    histo_init_latency(&s->commit_time);
    if (sched_projects_load(s) < 0) {
        sched_destroy(&s);
        return err_set(err, WEFT_EDB, "cannot read the projects from the catalogue");
    }
    if (cfg->plugin_path && cfg->executor) {
        json_t *desc = NULL;
        weft_err derr = {0};
        if (describe_plugins(cfg->executor, cfg->plugin_path, &desc, &derr) == 0) {
            log_info("%zu task types from %s", typereg_add_description(s->types, desc),
                     cfg->plugin_path);
            json_decref(desc);
        } else {
            log_warn("cannot describe plugins: %s", derr.msg);
        }
    }
    /* Before the first commit: one that fails (the disk full, the catalogue locked while the
     * runs are recovered) degrades, which stops s->timer and starts s->probe. */
    uv_timer_init(&s->loop, &s->probe);
    s->probe.data = s;
    uv_timer_init(&s->loop, &s->timer);
    s->timer.data = s;
    sched_waits_init(s);
    if (sched_notify_open(s, cfg) < 0) {
        sched_destroy(&s);
        return err_set(err, WEFT_EDB, "libcurl cannot start (notifications)");
    }
    catalog_workers_unknown(s->cat);
    sched_recover_runs(s);
    /* From now on a write waits for another connection's lock briefly, then the turn is
     * rolled back and retried by the probe: the loop never blocks for long. */
    catalog_set_busy_wait(s->cat, SCHED_BUSY_WAIT_MS);
    uv_prepare_init(&s->loop, &s->prepare);
    s->prepare.data = s;
    uv_prepare_start(&s->prepare, on_prepare);
    uv_timer_init(&s->loop, &s->backlog_timer);
    uv_idle_init(&s->loop, &s->spin);
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    *out = s;
    return 0;
}

int sched_run(sched *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    sched_commit(s);
    sched_flush(s);
    return 0;
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void sched_destroy(sched **sp)
{
    if (!sp || !*sp)
        return;
    sched *s = *sp;
    /* Teardown has begun: a late SIGTERM must not kill us halfway (the uv handlers that
     * caught it are being closed). */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    s->stopping = 1; /* a sync of the blob journal that ends now starts no other */
    sched_listeners_close(s);
    sched_notify_close(s);
    zsock_close(s->zap);
    s->zap = NULL;
    uv_walk(&s->loop, close_handle, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    sched_out_free(s);
    wire_inbox_free(&s->inbox);
    free(s->lookups);
    free(s->ended);
    core_effects_free(&s->fx);
    core_destroy(&s->core);
    typereg_destroy(&s->types);
    strmap_destroy(&s->reregister_asked);
    json_decref(s->project_limits);
    sched_uploads_free(s);
    sched_blobs_free(s);
    sched_schedules_free(s);
    sched_waits_free(s);
    sched_journal_free(s);
    sched_conns_free(s);
    sched_auth_close(s);
    if (s->cat)
        catalog_write_marks(s->cat);
    catalog_close(&s->cat);
    store_close(&s->store);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->state_dir);
    free(s);
    *sp = NULL;
}
