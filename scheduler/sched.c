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
#include "common/errclass.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/wire.h"
#include "common/xmem.h"
#include "common/zsock.h"
#include "scheduler/compile.h"
#include "scheduler/core.h"
#include "scheduler/ingest.h"
#include "scheduler/memo.h"
#include "scheduler/recover.h"
#include "scheduler/sched_int.h"
#include "scheduler/typereg.h"

#define REREGISTER_WAIT_MS 10000
#define SCHED_BUSY_WAIT_MS 1000

/* A peer's routing id for the log: printable ids as they are, others in hex. */
static const char *peer_name(zmq_msg_t *id, char *buf, size_t n)
{
    const unsigned char *p = zmq_msg_data(id);
    size_t len = zmq_msg_size(id), i;
    for (i = 0; i < len && p[i] >= 0x20 && p[i] < 0x7f; i++) {
    }
    if (i == len && len && len < n) {
        memcpy(buf, p, len);
        buf[len] = '\0';
        return buf;
    }
    size_t off = 0;
    for (i = 0; i < len && off + 3 < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%02x", p[i]);
    buf[off] = '\0';
    return buf;
}

/* ---- outgoing messages ---- */

/* Queues packed bytes (takes ownership) for peer id. */
static void queue_packed(sched *s, const zmq_msg_t *id, uint8_t *data, size_t len, int kind,
                         const char *worker)
{
    xgrow(&s->out, &s->capout, s->nout + 1, sizeof *s->out);
    outmsg *m = &s->out[s->nout++];
    m->idlen = zmq_msg_size((zmq_msg_t *)id);
    m->id = xmalloc(m->idlen);
    memcpy(m->id, zmq_msg_data((zmq_msg_t *)id), m->idlen);
    m->data = data;
    m->len = len;
    m->kind = kind;
    m->worker = worker ? xstrdup(worker) : NULL;
}

static void queue_msg(sched *s, const zmq_msg_t *id, const Weft__Envelope *env, int kind)
{
    size_t len;
    uint8_t *data = wire_pack(env, &len);
    queue_packed(s, id, data, len, kind, NULL);
}

void sched_queue_to_worker(sched *s, const char *worker, const Weft__Envelope *env)
{
    zmq_msg_t id;
    zmq_msg_init_data(&id, (void *)worker, strlen(worker), NULL, NULL);
    size_t len;
    uint8_t *data = wire_pack(env, &len);
    queue_packed(s, &id, data, len, OUT_WORKER, worker);
    zmq_msg_close(&id);
}

uint8_t *sched_pack_reply(int code, const char *error, const char *json, uint64_t run_id,
                          size_t *len)
{
    Weft__Reply r = WEFT__REPLY__INIT;
    r.code = code;
    r.error = (char *)(error ? error : "");
    r.json = (char *)(json ? json : "");
    r.run_id = run_id;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REPLY;
    env.reply = &r;
    return wire_pack(&env, len);
}

void sched_reply(sched *s, const zmq_msg_t *id, int code, const char *error, const char *json,
                 uint64_t run_id)
{
    size_t len;
    uint8_t *data = sched_pack_reply(code, error, json, run_id, &len);
    queue_packed(s, id, data, len, OUT_REPLY, NULL);
}

void sched_reply_json(sched *s, const zmq_msg_t *id, json_t *j, const weft_err *err)
{
    if (!j) {
        sched_reply(s, id, err->code ? err->code : WEFT_EDB, err->msg, NULL, 0);
        return;
    }
    char *text = json_dumps(j, JSON_COMPACT);
    sched_reply(s, id, 0, NULL, text, 0);
    free(text);
    json_decref(j);
}


/* Sends the queued messages. A worker we cannot reach is gone: its attempts fail as lost,
 * after the loop (the resulting messages wait for the next commit). */
static void flush_out(sched *s)
{
    char **lost = NULL;
    size_t nlost = 0, caplost = 0;
    for (size_t i = 0; i < s->nout; i++) {
        outmsg *m = &s->out[i];
        const void *frames[] = {m->id, m->data};
        size_t lens[] = {m->idlen, m->len};
        int rc = zsock_send(s->router, frames, lens, 2);
        if (rc < 0) {
            zmq_msg_t id;
            char peer[80];
            zmq_msg_init_data(&id, m->id, m->idlen, NULL, NULL);
            /* A client that went away (it gave up, or asked again on a new connection) is
             * not news; a worker that cannot be reached is. */
            log_msg(m->kind == OUT_REPLY ? LOG_DEBUG : LOG_WARN, "cannot send to %s: %s",
                    peer_name(&id, peer, sizeof peer), zmq_strerror(-rc));
            zmq_msg_close(&id);
            if (m->worker) {
                xgrow(&lost, &caplost, nlost + 1, sizeof *lost);
                lost[nlost++] = m->worker;
                m->worker = NULL;
            }
        }
        free(m->id);
        free(m->data);
        free(m->worker);
    }
    s->nout = 0;
    for (size_t i = 0; i < nlost; i++) {
        core_event ev = {.kind = EV_WORKER_LOST, .now_us = clock_wall_us(), .worker = lost[i]};
        sched_step(s, &ev);
        free(lost[i]);
    }
    free(lost);
}

void sched_step(sched *s, core_event *ev)
{
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

/* ---- messages from workers ---- */

/* The type names in a plugin description; caller frees the array (not the strings, which
 * are borrowed from desc). */
static const char **type_names(const json_t *desc, size_t *n)
{
    size_t cap = 0, i, j;
    const char **names = NULL;
    json_t *pl, *t;
    *n = 0;
    json_array_foreach(json_object_get(desc, "plugins"), i, pl)
    {
        json_array_foreach(json_object_get(pl, "types"), j, t)
        {
            const char *name = json_string_value(json_object_get(t, "name"));
            if (name) {
                xgrow(&names, &cap, *n + 1, sizeof *names);
                names[(*n)++] = name;
            }
        }
    }
    return names;
}

/* Tells peer id its registration is refused, and why (it exits). */
static void refuse(sched *s, const zmq_msg_t *id, const char *name, const char *why)
{
    log_warn("worker registration from '%.*s' refused: %s", WIRE_NAME_MAX, name, why);
    Weft__Refused rf = WEFT__REFUSED__INIT;
    rf.reason = (char *)why;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REFUSED;
    env.refused = &rf;
    queue_msg(s, id, &env, OUT_CONTROL);
}

/* Why a registration is outside the bounds every worker must keep (wire.h), or NULL. */
static const char *registration_bounds(const Weft__Register *r, size_t ntypes, char *buf,
                                       size_t n)
{
    size_t len = strlen(r->name), ok = strspn(r->name, "abcdefghijklmnopqrstuvwxyz"
                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    if (len == 0 || len > WIRE_NAME_MAX || ok != len)
        snprintf(buf, n, "worker name must be 1 to %d characters of [A-Za-z0-9._-]",
                 WIRE_NAME_MAX);
    else if (r->slots < 1 || r->slots > WIRE_SLOTS_MAX)
        snprintf(buf, n, "slots %u outside 1..%d", r->slots, WIRE_SLOTS_MAX);
    else if (r->heartbeat_ms &&
             (r->heartbeat_ms < WIRE_HEARTBEAT_MIN_MS || r->heartbeat_ms > WIRE_HEARTBEAT_MAX_MS))
        snprintf(buf, n, "heartbeat interval %u ms outside %d..%d ms", r->heartbeat_ms,
                 WIRE_HEARTBEAT_MIN_MS, WIRE_HEARTBEAT_MAX_MS);
    else if (ntypes > WIRE_TYPES_MAX)
        snprintf(buf, n, "%zu task types; at most %d", ntypes, WIRE_TYPES_MAX);
    else if (r->n_running > r->slots)
        snprintf(buf, n, "reports %zu attempts running on %u slots", r->n_running, r->slots);
    else if (r->n_finished > 2 * (size_t)WIRE_SLOTS_MAX)
        snprintf(buf, n, "reports %zu finished attempts; at most %d", r->n_finished,
                 2 * WIRE_SLOTS_MAX);
    else
        return NULL;
    return buf;
}

static void on_register(sched *s, const zmq_msg_t *id, const Weft__Register *r)
{
    size_t idlen = zmq_msg_size((zmq_msg_t *)id);
    if (strlen(r->name) != idlen || memcmp(r->name, zmq_msg_data((zmq_msg_t *)id), idlen) != 0) {
        refuse(s, id, r->name, "the registration's name differs from the socket's identity");
        return;
    }
    json_t *desc = json_loads(r->types_json, 0, NULL);
    if (!json_is_object(desc)) {
        refuse(s, id, r->name, "unreadable plugin description");
        json_decref(desc);
        return;
    }
    size_t ntypes;
    const char **names = type_names(desc, &ntypes);
    char why[160];
    if (registration_bounds(r, ntypes, why, sizeof why)) {
        refuse(s, id, r->name, why);
        free(names);
        json_decref(desc);
        return;
    }
    typereg_add_description(s->types, desc);
    int64_t now = clock_wall_us();
    strmap_del(s->reregister_asked, r->name);
    catalog_put_worker(s->cat, r->name, r->slots, r->types_json, "up", now);
    core_event ev = {.kind = EV_WORKER_JOINED,
                     .now_us = now,
                     .worker = r->name,
                     .slots = r->slots,
                     .types = names,
                     .ntypes = ntypes,
                     .running = r->running,
                     .nrunning = r->n_running,
                     .finished = r->finished,
                     .nfinished = r->n_finished,
                     .heartbeat_us = (int64_t)r->heartbeat_ms * 1000};
    sched_step(s, &ev);
    free(names);
    json_decref(desc);
}

/* A worker's name is its routing id. Copies it into buf; returns 0 when it does not fit
 * (no worker registers such a name), leaving buf empty. */
static int worker_name(const zmq_msg_t *id, char *buf, size_t n)
{
    size_t len = zmq_msg_size((zmq_msg_t *)id);
    if (len >= n) {
        buf[0] = '\0';
        return 0;
    }
    memcpy(buf, zmq_msg_data((zmq_msg_t *)id), len);
    buf[len] = '\0';
    return 1;
}

static void on_heartbeat(sched *s, const zmq_msg_t *id)
{
    char name[256];
    if (!worker_name(id, name, sizeof name))
        return;
    if (!core_worker_known(s->core, name)) {
        /* A worker we do not know (we restarted, or declared it lost): ask it to register
         * again, with what it is running; once, until it does or the wait is over. */
        uint64_t now_ms = (uint64_t)(clock_wall_us() / 1000);
        uint64_t asked = (uint64_t)(uintptr_t)strmap_get(s->reregister_asked, name);
        if (asked && now_ms - asked < REREGISTER_WAIT_MS)
            return;
        strmap_put(s->reregister_asked, name, (void *)(uintptr_t)now_ms);
        Weft__Reregister rr = WEFT__REREGISTER__INIT;
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        env.body_case = WEFT__ENVELOPE__BODY_REREGISTER;
        env.reregister = &rr;
        queue_msg(s, id, &env, OUT_CONTROL);
        return;
    }
    core_event ev = {.kind = EV_HEARTBEAT, .now_us = clock_wall_us(), .worker = name};
    sched_step(s, &ev);
}

static void on_result(sched *s, const zmq_msg_t *id, const Weft__Result *r)
{
    char sender[256];
    worker_name(id, sender, sizeof sender);
    uint64_t run;
    int task, elem, no;
    int64_t now = clock_wall_us();
    if (core_attempt_info(s->core, r->attempt_id, &run, &task, &elem, &no)) {
        char name[300];
        dag_unit_name(core_run_dag(s->core, run), task, elem, name, sizeof name);
        catalog_write_log(s->cat, (int64_t)run, name, no, r->log.data, r->log.len);
    }
    /* Kept even from a late result: it is what that attempt got done. */
    if (r->checkpoint_json && r->checkpoint_json[0])
        catalog_save_checkpoint(s->cat, r->attempt_id, r->checkpoint_json);
    json_t *outputs = r->ok ? json_loads(r->outputs_json, 0, NULL) : NULL;
    core_event ev = {.kind = EV_RESULT,
                     .now_us = now,
                     .worker = sender[0] ? sender : NULL,
                     .attempt_id = r->attempt_id,
                     .ok = r->ok && json_is_object(outputs),
                     .errclass = (int)r->error_class,
                     .message = r->ok && !json_is_object(outputs)
                                    ? "worker sent outputs that are not a JSON object"
                                    : r->message,
                     .outputs = outputs,
                     .started_us = r->started_us,
                     .finished_us = r->finished_us};
    if (r->ok && !json_is_object(outputs))
        ev.errclass = ERRC_FATAL;
    sched_step(s, &ev);
    json_decref(outputs);
}

/* While degraded: worker messages wait (a worker resends its results when asked to
 * register, once writes succeed again), write requests are refused with the reason unless
 * their idempotency key was answered before. Returns 1 when env was handled here. */
static int on_message_degraded(sched *s, const zmq_msg_t *id, const Weft__Envelope *env)
{
    const char *key = NULL, *kind = NULL;
    switch (env->body_case) {
    case WEFT__ENVELOPE__BODY_REGISTER:
    case WEFT__ENVELOPE__BODY_HEARTBEAT:
    case WEFT__ENVELOPE__BODY_RESULT:
        return 1;
    case WEFT__ENVELOPE__BODY_SUBMIT:
        key = env->submit->idempotency_key, kind = "submit";
        break;
    case WEFT__ENVELOPE__BODY_CANCEL:
        key = env->cancel->idempotency_key, kind = "cancel";
        break;
    case WEFT__ENVELOPE__BODY_RETRY:
        key = env->retry->idempotency_key, kind = "retry";
        break;
    default:
        return 0;
    }
    if (!sched_answered_before(s, id, kind, key))
        sched_refuse_degraded(s, id);
    return 1;
}

static void on_message(void *arg, zmq_msg_t *frames, size_t n)
{
    sched *s = arg;
    char peer[80];
    /* DEALER peers send [identity, payload]; REQ peers add an empty delimiter. */
    if (n < 2 || n > 3) {
        log_warn("dropped a message of %zu frames from %s", n,
                 peer_name(&frames[0], peer, sizeof peer));
        return;
    }
    zmq_msg_t *payload = &frames[n - 1];
    Weft__Envelope *env = wire_unpack(zmq_msg_data(payload), zmq_msg_size(payload));
    if (!env) {
        log_warn("dropped an undecodable message of %zu bytes from %s", zmq_msg_size(payload),
                 peer_name(&frames[0], peer, sizeof peer));
        return;
    }
    if (s->degraded && on_message_degraded(s, &frames[0], env)) {
        weft__envelope__free_unpacked(env, NULL);
        return;
    }
    switch (env->body_case) {
    case WEFT__ENVELOPE__BODY_REGISTER:
        on_register(s, &frames[0], env->register_);
        break;
    case WEFT__ENVELOPE__BODY_HEARTBEAT:
        on_heartbeat(s, &frames[0]);
        break;
    case WEFT__ENVELOPE__BODY_RESULT:
        on_result(s, &frames[0], env->result);
        break;
    case WEFT__ENVELOPE__BODY_SUBMIT:
        sched_on_submit(s, &frames[0], env->submit);
        break;
    case WEFT__ENVELOPE__BODY_QUERY:
        sched_on_query(s, &frames[0], env->query);
        break;
    case WEFT__ENVELOPE__BODY_CANCEL:
        sched_on_cancel(s, &frames[0], env->cancel);
        break;
    case WEFT__ENVELOPE__BODY_RETRY:
        sched_on_retry(s, &frames[0], env->retry);
        break;
    default:
        log_warn("dropped an unexpected message (body %d) from %s", (int)env->body_case,
                 peer_name(&frames[0], peer, sizeof peer));
    }
    weft__envelope__free_unpacked(env, NULL);
}

/* ---- loop plumbing ---- */

static void arm_timer(sched *s);

static void on_timer(uv_timer_t *t)
{
    sched *s = t->data;
    if (s->degraded)
        return;
    /* Every message that arrived first: a scheduler that was stalled hears the heartbeats
     * that queued meanwhile before it looks for lost workers. */
    zsock_drain(s->router);
    core_event ev = {.kind = EV_TICK, .now_us = clock_wall_us()};
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
    uv_timer_start(&s->timer, on_timer, ms, 0);
}

/* Before the loop blocks: commit the turn's writes, then send what they allow, then drain
 * again (sending can consume the ZMQ_FD edge). Repeat until nothing arrives. */
static void on_prepare(uv_prepare_t *p)
{
    sched *s = p->data;
    size_t got;
    do {
        sched_commit(s);
        flush_out(s);
        sched_commit(s);
        got = zsock_drain(s->router);
    } while (got || s->nout);
    if (s->stopping) {
        uv_stop(&s->loop);
        return;
    }
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
    if (fs_mkdir_p(s->state_dir, 0755) < 0)
        return err_set(err, WEFT_EIO, "cannot create state directory %s: %s", s->state_dir,
                       strerror(errno));
    char *path = xasprintf("%s/scheduler.lock", s->state_dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
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

static int open_router(sched *s, const sched_config *cfg, weft_err *err)
{
    s->router = zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, on_message, s);
    if (!s->router)
        return err_set(err, WEFT_EIO, "cannot create the scheduler socket");
    void *z = zsock_handle(s->router);
    int one = 1, hwm = 0;
    int64_t maxsize = WIRE_MAX;
    zmq_setsockopt(z, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(z, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(z, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(z, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
    for (size_t i = 0; i < cfg->nlisten; i++) {
        if (zmq_bind(z, cfg->listen[i]) < 0)
            return err_set(err, WEFT_EIO, "cannot listen on %s: %s", cfg->listen[i],
                           zmq_strerror(errno));
        log_info("listening on %s", cfg->listen[i]);
    }
    return zsock_start(s->router) < 0 ? err_set(err, WEFT_EIO, "cannot watch the socket") : 0;
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
    /* The lock first: a second scheduler must not touch a catalogue in use. */
    int rc = lock_state(s, err);
    if (rc == 0)
        rc = catalog_open(cfg->state_dir, cfg->accept_loss ? CATALOG_ACCEPT_LOSS : 0, &s->cat,
                          err);
    if (rc == 0)
        rc = catalog_check(s->cat, 0, err);
    if (rc == 0) {
        /* Absolute: workers on this machine (or mounting it at the same path) use it as is. */
        char *abs = realpath(cfg->state_dir, NULL);
        char *where = xasprintf("%s/artifacts", abs ? abs : cfg->state_dir);
        rc = store_open(where, &s->store, err);
        free(where);
        free(abs);
    }
    if (rc == 0)
        rc = open_router(s, cfg, err);
    if (rc < 0) {
        sched_destroy(&s);
        return rc;
    }
    s->core = core_new(catalog_max_attempt_id(s->cat) + 1, (uint64_t)clock_wall_us());
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
    catalog_workers_unknown(s->cat);
    sched_recover_runs(s);
    /* From now on a write waits for another connection's lock briefly, then the turn is
     * rolled back and retried by the probe: the loop never blocks for long. */
    catalog_set_busy_wait(s->cat, SCHED_BUSY_WAIT_MS);
    uv_timer_init(&s->loop, &s->probe);
    s->probe.data = s;
    uv_prepare_init(&s->loop, &s->prepare);
    s->prepare.data = s;
    uv_prepare_start(&s->prepare, on_prepare);
    uv_timer_init(&s->loop, &s->timer);
    s->timer.data = s;
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
    flush_out(s);
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
    zsock_close(s->router);
    uv_walk(&s->loop, close_handle, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    for (size_t i = 0; i < s->nout; i++) {
        free(s->out[i].id);
        free(s->out[i].data);
        free(s->out[i].worker);
    }
    free(s->out);
    free(s->lookups);
    core_effects_free(&s->fx);
    core_destroy(&s->core);
    typereg_destroy(&s->types);
    strmap_destroy(&s->reregister_asked);
    catalog_close(&s->cat);
    store_close(&s->store);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->state_dir);
    free(s);
    *sp = NULL;
}
