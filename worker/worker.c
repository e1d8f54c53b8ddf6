/* worker: the worker daemon. See worker.h. */
#include "worker/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/describe.h"
#include "common/errclass.h"
#include "common/frame.h"
#include "common/fsutil.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/wire.h"
#include "common/xmem.h"
#include "common/zsock.h"
#include "common/secrets.h"
#include "worker/logstream.h"

#define KILL_GRACE_MS 2000
#define LOG_CAP (1u << 20)
#define RECENT_MIN 16 /* results kept to resend when the scheduler restarts: at least this
                          many, and twice the slots */

typedef struct slot slot;

/* One executor process and its pipes. Freed when all three handles have closed. */
typedef struct execproc {
    uv_process_t proc;
    uv_pipe_t in, out;
    framebuf fb;
    slot *slot;       /* NULL once detached from its slot */
    int open_handles;
    int exited;
} execproc;

/* The attempt a slot is running. */
typedef struct running {
    uint64_t attempt_id;
    uint64_t run_id;
    uint32_t attempt;
    char *task, *type;
    char *log_path, *workdir;
    char *checkpoint; /* the last checkpoint the attempt saved (a reference), or NULL */
    char *nonce;      /* from its Dispatch; its Result carries it back */
    secret_set secrets; /* the values of the secrets it names, masked in what is sent */
    logstream stream;   /* how much of its log was streamed */
    int64_t started_us;
    int timed_out;  /* stopped because it passed its timeout */
    int cancelled;  /* stopped because its run was cancelled */
    int stopping;   /* escalation: 0 none yet, 1 SIGTERM sent, 2 SIGKILL sent */
} running;

struct slot {
    struct worker *w;
    int index;
    execproc *ep;
    running *job;     /* NULL when free */
    uv_timer_t timer; /* timeout, then kill grace */
};

/* A result as sent (packed), kept to be sent again. */
typedef struct sent_result {
    uint8_t *data;
    size_t len;
    uint64_t attempt_id; /* reported as finished when registering */
} sent_result;

struct worker {
    uv_loop_t loop;
    void *zctx;
    zsock *dealer;
    zsock *monitor;        /* handshake failures with the scheduler, logged */
    const char *last_refusal;
    int64_t last_refusal_us;
    char *name;
    uint32_t nslots;
    slot *slots;
    char *types_json;    /* plugin description sent with Register */
    strmap *type_plugin; /* type name -> .so path (owned strings) */
    char *executor;
    char *work_dir;
    char *store;         /* --store, absolute; NULL: the one each dispatch names */
    char *secrets_dir;   /* --secrets-dir, or NULL */
    const secret_set *env_secrets; /* --secret-env (borrowed), or NULL */
    uint32_t heartbeat_ms;
    uv_timer_t heartbeat;
    uv_prepare_t prepare;
    uv_signal_t sigint, sigterm;
    int stopping;
    /* The last results sent, packed, oldest first: a scheduler that restarted (or rolled
     * back a turn it could not commit) gets them again after we register (attempt ids make
     * it idempotent). A scheduler that cannot commit dispatches nothing, so twice the slots
     * covers every result of such a spell. */
    sent_result *recent;
    size_t nrecent, caprecent;
    char *refused; /* the scheduler refused our registration: why (we exit) */
};

/* ---- messages to the scheduler ---- */

static void send_packed(worker *w, const uint8_t *data, size_t len)
{
    const void *frames[] = {data};
    size_t lens[] = {len};
    int rc = zsock_send(w->dealer, frames, lens, 1);
    if (rc < 0)
        log_warn("cannot send to the scheduler: %s", zmq_strerror(-rc));
}

static void send_env(void *ud, const Weft__Envelope *env)
{
    worker *w = ud;
    size_t len;
    uint8_t *data = wire_pack(env, &len);
    send_packed(w, data, len);
    free(data);
}

/* Keeps a packed result (takes ownership) among the most recent ones. */
static void remember_result(worker *w, uint64_t attempt_id, uint8_t *data, size_t len)
{
    if (w->nrecent == w->caprecent) {
        free(w->recent[0].data);
        memmove(w->recent, w->recent + 1, (w->caprecent - 1) * sizeof *w->recent);
        w->nrecent--;
    }
    w->recent[w->nrecent++] = (sent_result){data, len, attempt_id};
}

static void send_register(worker *w)
{
    Weft__Register r = WEFT__REGISTER__INIT;
    uint64_t *running_ids = xcalloc(w->nslots + 1, sizeof *running_ids);
    size_t n = 0;
    for (uint32_t i = 0; i < w->nslots; i++)
        if (w->slots[i].job)
            running_ids[n++] = w->slots[i].job->attempt_id;
    r.name = w->name;
    r.slots = w->nslots;
    r.types_json = w->types_json;
    r.running = running_ids;
    r.n_running = n;
    uint64_t *finished = xcalloc(w->nrecent + 1, sizeof *finished);
    for (size_t i = 0; i < w->nrecent; i++)
        finished[i] = w->recent[i].attempt_id;
    r.finished = finished; /* sent again right after this */
    r.n_finished = w->nrecent;
    r.heartbeat_ms = w->heartbeat_ms;
    r.cpu = (uint32_t)uv_available_parallelism();
    r.mem = uv_get_total_memory();
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REGISTER;
    env.register_ = &r;
    send_env(w, &env);
    free(running_ids);
    free(finished);
}

static void send_result(worker *w, running *job, int ok, int cls, const char *msg,
                        const char *outputs, const uint8_t *log, size_t loglen)
{
    logstream_pump(&job->stream, job->log_path, &job->secrets, job->attempt_id,
                   job->nonce, 1, send_env, w); /* the log's end, before the result */
    Weft__Result r = WEFT__RESULT__INIT;
    r.attempt_id = job->attempt_id;
    r.ok = ok;
    r.error_class = (Weft__ErrorClass)(ok ? ERRC_NONE : cls);
    r.message = (char *)(msg ? msg : "");
    r.outputs_json = (char *)(outputs ? outputs : "{}");
    r.log.data = (uint8_t *)log;
    r.log.len = loglen;
    /* A secret's value never leaves the worker: masked wherever the task may have put it. */
    char *held[3];
    secrets_mask_result(&job->secrets, &r, held);
    r.started_us = job->started_us;
    r.finished_us = clock_wall_us();
    if (job->checkpoint)
        r.checkpoint_json = job->checkpoint;
    if (job->nonce)
        r.nonce = job->nonce;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_RESULT;
    env.result = &r;
    size_t len;
    uint8_t *data = wire_pack(&env, &len);
    send_packed(w, data, len);
    remember_result(w, job->attempt_id, data, len);
    secrets_release(held);
}

/* ---- executors ---- */

static void spawn_executor(slot *sl);

static void free_job(running *job)
{
    if (!job)
        return;
    fs_remove_tree(job->workdir);
    unlink(job->log_path);
    free(job->task);
    free(job->nonce);
    secrets_free(&job->secrets);
    free(job->type);
    free(job->log_path);
    free(job->workdir);
    free(job->checkpoint);
    free(job);
}

static void on_handle_closed(uv_handle_t *h)
{
    execproc *ep = h->data;
    if (--ep->open_handles == 0) {
        framebuf_free(&ep->fb);
        free(ep);
    }
}

static void close_execproc(execproc *ep)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&ep->in, (uv_handle_t *)&ep->out,
                         (uv_handle_t *)&ep->proc};
    for (int i = 0; i < 3; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], on_handle_closed);
}

static void finish_job(slot *sl)
{
    uv_timer_stop(&sl->timer);
    free_job(sl->job);
    sl->job = NULL;
}

static void on_exec_result(slot *sl, const uint8_t *data, size_t len)
{
    Weft__ExecResult *res = weft__exec_result__unpack(NULL, len, data);
    if (!res || !sl->job || res->attempt_id != sl->job->attempt_id) {
        log_error("slot %d: executor sent an unexpected result; replacing it", sl->index);
        if (res)
            weft__exec_result__free_unpacked(res, NULL);
        uv_process_kill(&sl->ep->proc, SIGKILL);
        return;
    }
    if (res->interim) {
        /* A checkpoint, already stored: reported with the attempt's result, even when the
         * executor dies before it ends. */
        free(sl->job->checkpoint);
        sl->job->checkpoint = res->checkpoint_json[0] ? xstrdup(res->checkpoint_json) : NULL;
        weft__exec_result__free_unpacked(res, NULL);
        return;
    }
    int cls = sl->job->cancelled && !res->ok ? ERRC_CANCELLED : (int)res->error_class;
    send_result(sl->w, sl->job, res->ok, cls, res->message, res->outputs_json, res->log.data,
                res->log.len);
    weft__exec_result__free_unpacked(res, NULL);
    finish_job(sl);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = xmalloc(suggested);
    buf->len = suggested;
}

static void on_exec_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    execproc *ep = s->data;
    if (n > 0 && ep->slot) {
        framebuf_feed(&ep->fb, buf->base, (size_t)n);
        const uint8_t *frame;
        size_t len;
        int rc;
        while (ep->slot && (rc = framebuf_next(&ep->fb, &frame, &len)) == 1)
            on_exec_result(ep->slot, frame, len);
        if (ep->slot && rc < 0) {
            log_error("slot %d: oversized frame from executor; replacing it", ep->slot->index);
            uv_process_kill(&ep->proc, SIGKILL);
        }
    } else if (n < 0) {
        uv_read_stop(s);
    }
    free(buf->base);
}

static void on_exec_exit(uv_process_t *p, int64_t status, int sig)
{
    execproc *ep = p->data;
    ep->exited = 1;
    slot *sl = ep->slot;
    close_execproc(ep);
    if (!sl)
        return;
    sl->ep = NULL;
    ep->slot = NULL;
    worker *w = sl->w;
    if (sl->job) {
        char msg[512];
        int cls = sl->job->cancelled   ? ERRC_CANCELLED
                  : sl->job->timed_out ? ERRC_TIMEOUT
                                       : ERRC_CRASH;
        if (sl->job->cancelled)
            snprintf(msg, sizeof msg, "%s stopped: its run was cancelled (attempt %u)",
                     sl->job->type, sl->job->attempt);
        else if (sl->job->timed_out)
            snprintf(msg, sizeof msg, "%s timed out; executor killed (attempt %u)",
                     sl->job->type, sl->job->attempt);
        else if (sig)
            snprintf(msg, sizeof msg, "executor killed by %s running %s, attempt %u",
                     strsignal(sig), sl->job->type, sl->job->attempt);
        else
            snprintf(msg, sizeof msg, "executor exited with status %lld running %s, attempt %u",
                     (long long)status, sl->job->type, sl->job->attempt);
        log_warn("slot %d: %s", sl->index, msg);
        /* The log the executor that died had written. */
        char *log = NULL;
        size_t loglen = 0;
        if (fs_read_file(sl->job->log_path, LOG_CAP, &log, &loglen, NULL) < 0)
            loglen = 0;
        send_result(w, sl->job, 0, cls, msg, NULL, (uint8_t *)log, loglen);
        free(log);
        finish_job(sl);
    } else if (!w->stopping) {
        log_warn("slot %d: idle executor exited (status %lld, signal %d); replacing it",
                 sl->index, (long long)status, sig);
    }
    if (!w->stopping)
        spawn_executor(sl);
}

static void spawn_executor(slot *sl)
{
    worker *w = sl->w;
    execproc *ep = xcalloc(1, sizeof *ep);
    framebuf_init(&ep->fb, FRAME_MAX);
    ep->slot = sl;
    ep->proc.data = ep->in.data = ep->out.data = ep;
    uv_pipe_init(&w->loop, &ep->in, 0);
    uv_pipe_init(&w->loop, &ep->out, 0);
    ep->open_handles = 3;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&ep->in},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ep->out},
        {.flags = UV_INHERIT_FD, .data.fd = 2}};
    char *args[] = {w->executor, NULL};
    uv_process_options_t opt = {.exit_cb = on_exec_exit, .file = w->executor, .args = args,
                                .stdio = stdio, .stdio_count = 3};
    int rc = uv_spawn(&w->loop, &ep->proc, &opt);
    if (rc < 0) {
        log_error("cannot start %s: %s", w->executor, uv_strerror(rc));
        /* The process handle must still be closed. */
        close_execproc(ep);
        sl->ep = NULL;
        return;
    }
    uv_read_start((uv_stream_t *)&ep->out, alloc_cb, on_exec_read);
    sl->ep = ep;
}

typedef struct write_req {
    uv_write_t req;
    uint8_t *data;
} write_req;

static void on_written(uv_write_t *req, int status)
{
    write_req *wr = (write_req *)req;
    if (status < 0)
        log_warn("write to executor failed: %s", uv_strerror(status));
    free(wr->data);
    free(wr);
}

/* Escalates the stop of a slot's attempt: SIGTERM, then SIGKILL after a grace period. */
static void kill_step(uv_timer_t *t)
{
    slot *sl = t->data;
    if (!sl->job || !sl->ep)
        return;
    if (!sl->job->cancelled && !sl->job->timed_out) {
        sl->job->timed_out = 1;
        log_warn("slot %d: %s (attempt %llu) passed its timeout; stopping it", sl->index,
                 sl->job->task, (unsigned long long)sl->job->attempt_id);
    }
    if (sl->job->stopping++ == 0) {
        uv_process_kill(&sl->ep->proc, SIGTERM);
        uv_timer_start(&sl->timer, kill_step, KILL_GRACE_MS, 0);
    } else {
        uv_process_kill(&sl->ep->proc, SIGKILL);
    }
}

/* The scheduler cancelled the run of an attempt: ask the plugin to stop (weft_cancelled),
 * then escalate if it does not. */
static void on_stop(worker *w, const Weft__Stop *st)
{
    for (uint32_t i = 0; i < w->nslots; i++) {
        slot *sl = &w->slots[i];
        if (!sl->job || sl->job->attempt_id != st->attempt_id || !sl->ep)
            continue;
        log_info("slot %d: stopping %s (attempt %llu): run cancelled", sl->index, sl->job->task,
                 (unsigned long long)st->attempt_id);
        sl->job->cancelled = 1;
        uv_process_kill(&sl->ep->proc, SIGUSR1);
        uv_timer_start(&sl->timer, kill_step, KILL_GRACE_MS, 0);
        return;
    }
}

/* ---- dispatch ---- */

static void reject(worker *w, const Weft__Dispatch *d, const char *why)
{
    running job = {.attempt_id = d->attempt_id, .nonce = d->nonce,
                   .started_us = clock_wall_us()};
    log_warn("attempt %llu (%s): %s", (unsigned long long)d->attempt_id, d->task, why);
    send_result(w, &job, 0, ERRC_FATAL, why, NULL, NULL, 0);
}

static void on_dispatch(worker *w, const Weft__Dispatch *d)
{
    slot *sl = NULL;
    for (uint32_t i = 0; i < w->nslots && !sl; i++)
        if (!w->slots[i].job && w->slots[i].ep)
            sl = &w->slots[i];
    const char *plugin = strmap_get(w->type_plugin, d->type);
    if (!plugin) {
        reject(w, d, "this worker does not provide the task type");
        return;
    }
    if (!sl) {
        /* Credits make this impossible unless an executor could not be started. */
        reject(w, d, "no executor available on this worker");
        return;
    }
    secret_set secrets;
    char why[300];
    if (secrets_resolve(w->secrets_dir, w->env_secrets, d->secrets, d->n_secrets, &secrets, why,
                        sizeof why)) {
        reject(w, d, why);
        return;
    }
    running *job = xcalloc(1, sizeof *job);
    job->secrets = secrets;
    job->attempt_id = d->attempt_id;
    job->run_id = d->run_id;
    job->attempt = d->attempt;
    job->task = xstrdup(d->task);
    job->nonce = xstrdup(d->nonce);
    job->type = xstrdup(d->type);
    job->log_path = xasprintf("%s/logs/%llu.log", w->work_dir, (unsigned long long)d->attempt_id);
    job->workdir = xasprintf("%s/scratch/%llu", w->work_dir, (unsigned long long)d->attempt_id);
    job->started_us = clock_wall_us();
    sl->job = job;

    Weft__ExecRequest rq = WEFT__EXEC_REQUEST__INIT;
    rq.attempt_id = d->attempt_id;
    rq.type = d->type;
    rq.plugin = (char *)plugin;
    rq.inputs_json = d->inputs_json;
    rq.log_path = job->log_path;
    rq.run_id = d->run_id;
    rq.task = d->task;
    rq.attempt = d->attempt;
    rq.workdir = job->workdir;
    rq.mem_bytes = d->mem_bytes;
    rq.store = w->store ? w->store : d->store;
    rq.checkpoint_json = d->checkpoint_json;
    Weft__Param *values, **vp = secrets_params(&job->secrets, &values);
    rq.secrets = vp;
    rq.n_secrets = job->secrets.n;
    size_t n = weft__exec_request__get_packed_size(&rq);
    write_req *wr = xcalloc(1, sizeof *wr);
    wr->data = xmalloc(n + 4);
    wr->data[0] = (uint8_t)(n >> 24);
    wr->data[1] = (uint8_t)(n >> 16);
    wr->data[2] = (uint8_t)(n >> 8);
    wr->data[3] = (uint8_t)n;
    weft__exec_request__pack(&rq, wr->data + 4);
    free(values);
    free(vp);
    uv_buf_t buf = uv_buf_init((char *)wr->data, (unsigned)(n + 4));
    int rc = uv_write(&wr->req, (uv_stream_t *)&sl->ep->in, &buf, 1, on_written);
    if (rc < 0) {
        free(wr->data);
        free(wr);
        log_error("slot %d: cannot write to executor: %s", sl->index, uv_strerror(rc));
        uv_process_kill(&sl->ep->proc, SIGKILL); /* on_exec_exit reports the crash */
        return;
    }
    if (d->timeout_ms)
        uv_timer_start(&sl->timer, kill_step, d->timeout_ms, 0);
}

static void on_message(void *arg, zmq_msg_t *frames, size_t n)
{
    worker *w = arg;
    zmq_msg_t *payload = &frames[n - 1];
    Weft__Envelope *env = wire_unpack(zmq_msg_data(payload), zmq_msg_size(payload));
    if (!env) {
        log_warn("dropped an undecodable message of %zu bytes", zmq_msg_size(payload));
        return;
    }
    switch (env->body_case) {
    case WEFT__ENVELOPE__BODY_DISPATCH:
        on_dispatch(w, env->dispatch);
        break;
    case WEFT__ENVELOPE__BODY_STOP:
        on_stop(w, env->stop);
        break;
    case WEFT__ENVELOPE__BODY_REREGISTER:
        log_info("the scheduler asked us to register again; resending %zu recent results",
                 w->nrecent);
        send_register(w);
        for (size_t i = 0; i < w->nrecent; i++)
            send_packed(w, w->recent[i].data, w->recent[i].len);
        break;
    case WEFT__ENVELOPE__BODY_SHUTDOWN:
        log_info("shutdown requested by the scheduler");
        w->stopping = 1;
        uv_stop(&w->loop);
        break;
    case WEFT__ENVELOPE__BODY_REFUSED:
        log_error("the scheduler refused this worker: %s", env->refused->reason);
        free(w->refused);
        w->refused = xstrdup(env->refused->reason);
        w->stopping = 1;
        uv_stop(&w->loop);
        break;
    default:
        log_warn("dropped an unexpected message (body %d)", (int)env->body_case);
    }
    weft__envelope__free_unpacked(env, NULL);
}

/* ---- loop plumbing ---- */

/* A refused handshake (wrong key, revoked key, no CURVE) is logged when it first happens
 * and then at most every 30 s: ZeroMQ goes on reconnecting, and a key added meanwhile
 * works. */
static void on_monitor(void *arg, zmq_msg_t *frames, size_t n)
{
    worker *w = arg;
    const char *why = n == 2 ? keys_handshake_why(zmq_msg_data(&frames[0]),
                                                  zmq_msg_size(&frames[0]), 0)
                             : NULL;
    int64_t now = clock_wall_us();
    if (!why || (why == w->last_refusal && now - w->last_refusal_us < 30000000))
        return;
    w->last_refusal = why;
    w->last_refusal_us = now;
    log_error("cannot connect to the scheduler: %s", why);
}

static void on_heartbeat(uv_timer_t *t)
{
    worker *w = t->data;
    Weft__Heartbeat hb = WEFT__HEARTBEAT__INIT;
    for (uint32_t i = 0; i < w->nslots; i++)
        hb.free_slots += !w->slots[i].job;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    send_env(w, &env);
    for (uint32_t i = 0; i < w->nslots; i++) {
        running *job = w->slots[i].job;
        if (job)
            logstream_pump(&job->stream, job->log_path, &job->secrets, job->attempt_id,
                           job->nonce, 0, send_env, w);
    }
}

static void on_prepare(uv_prepare_t *p)
{
    worker *w = p->data;
    zsock_drain(w->dealer);
    zsock_drain(w->monitor);
}

static void on_signal(uv_signal_t *h, int sig)
{
    worker *w = h->data;
    log_info("signal %d: stopping", sig);
    w->stopping = 1;
    uv_stop(&w->loop);
}

static int load_types(worker *w, const worker_config *cfg, weft_err *err)
{
    json_t *desc = NULL;
    int rc = describe_plugins(cfg->executor, cfg->plugin_path, &desc, err);
    if (rc < 0)
        return rc;
    describe_index(desc, w->type_plugin);
    w->types_json = json_dumps(desc, JSON_COMPACT);
    log_info("%zu task types from %s", strmap_count(w->type_plugin), cfg->plugin_path);
    json_decref(desc);
    if (!strmap_count(w->type_plugin))
        return err_set(err, WEFT_EPLUGIN, "no usable plugin on %s", cfg->plugin_path);
    return 0;
}

int worker_new(const worker_config *cfg, worker **out, weft_err *err)
{
    worker *w = xcalloc(1, sizeof *w);
    uv_loop_init(&w->loop);
    w->name = xstrdup(cfg->name);
    w->executor = xstrdup(cfg->executor);
    w->work_dir = xstrdup(cfg->work_dir);
    w->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 1000;
    w->type_plugin = strmap_new();
    w->zctx = zmq_ctx_new();
    int rc = load_types(w, cfg, err);
    char *logs = xasprintf("%s/logs", w->work_dir), *scratch = xasprintf("%s/scratch", w->work_dir);
    /* Private, and ours: nobody else can read a task's log or plant a link in it. */
    if (rc == 0)
        rc = fs_private_dir(w->work_dir, err);
    if (rc == 0 && (fs_mkdir_p(logs, 0700) < 0 || fs_mkdir_p(scratch, 0700) < 0))
        rc = err_set(err, WEFT_EIO, "cannot create work directory %s: %s", w->work_dir,
                     strerror(errno));
    free(logs);
    free(scratch);
    if (rc == 0 && cfg->store &&
        (fs_mkdir_p(cfg->store, 0755) < 0 || !(w->store = realpath(cfg->store, NULL))))
        rc = err_set(err, WEFT_EIO, "cannot create artifact store %s: %s", cfg->store,
                     strerror(errno));
    w->env_secrets = cfg->env_secrets;
    if (rc == 0 && cfg->secrets_dir && !(w->secrets_dir = realpath(cfg->secrets_dir, NULL)))
        rc = err_set(err, WEFT_EIO, "secrets directory %s: %s", cfg->secrets_dir,
                     strerror(errno));
    if (rc == 0) {
        w->dealer = zsock_new(&w->loop, w->zctx, ZMQ_DEALER, on_message, w);
        void *z = w->dealer ? zsock_handle(w->dealer) : NULL;
        int64_t maxsize = WIRE_MAX;
        int hwm = 0;
        keys_conn kc;
        if (z && keys_conn_setup(&kc, cfg->scheduler, cfg->key_file, cfg->server_key,
                                 cfg->insecure, err) < 0) {
            worker_destroy(&w);
            return WEFT_EINVAL;
        }
        if (z) {
            keys_conn_apply(&kc, z);
            zmq_setsockopt(z, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
            zmq_setsockopt(z, ZMQ_SNDHWM, &hwm, sizeof hwm);
            zmq_setsockopt(z, ZMQ_RCVHWM, &hwm, sizeof hwm);
        }
        if (z)
            w->monitor = zsock_monitor(w->dealer, w->zctx, "inproc://weft-worker-monitor",
                                       KEYS_HANDSHAKE_EVENTS, on_monitor, w);
        if (!z || !w->monitor || zmq_connect(z, cfg->scheduler) < 0 ||
            zsock_start(w->dealer) < 0)
            rc = err_set(err, WEFT_EUNREACH, "cannot connect to %s: %s", cfg->scheduler,
                         zmq_strerror(errno));
    }
    if (rc < 0) {
        worker_destroy(&w);
        return rc;
    }
    w->nslots = cfg->slots ? cfg->slots : (uint32_t)uv_available_parallelism();
    w->caprecent = 2 * (size_t)w->nslots > RECENT_MIN ? 2 * (size_t)w->nslots : RECENT_MIN;
    w->recent = xcalloc(w->caprecent, sizeof *w->recent);
    w->slots = xcalloc(w->nslots, sizeof *w->slots);
    for (uint32_t i = 0; i < w->nslots; i++) {
        slot *sl = &w->slots[i];
        sl->w = w;
        sl->index = (int)i;
        uv_timer_init(&w->loop, &sl->timer);
        sl->timer.data = sl;
        spawn_executor(sl);
    }
    uv_timer_init(&w->loop, &w->heartbeat);
    w->heartbeat.data = w;
    uv_timer_start(&w->heartbeat, on_heartbeat, w->heartbeat_ms, w->heartbeat_ms);
    uv_prepare_init(&w->loop, &w->prepare);
    w->prepare.data = w;
    uv_prepare_start(&w->prepare, on_prepare);
    uv_signal_init(&w->loop, &w->sigint);
    uv_signal_init(&w->loop, &w->sigterm);
    w->sigint.data = w->sigterm.data = w;
    uv_signal_start(&w->sigint, on_signal, SIGINT);
    uv_signal_start(&w->sigterm, on_signal, SIGTERM);
    send_register(w);
    log_info("worker %s: %u slots, connected to %s", w->name, w->nslots, cfg->scheduler);
    *out = w;
    return 0;
}

int worker_run(worker *w, weft_err *err)
{
    uv_run(&w->loop, UV_RUN_DEFAULT);
    if (w->refused)
        return err_set(err, WEFT_EINVAL, "the scheduler refused this worker: %s", w->refused);
    return 0;
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_PROCESS || h->type == UV_NAMED_PIPE ? on_handle_closed : NULL);
}

static void on_grace_expired(uv_timer_t *t)
{
    worker *w = t->data;
    for (uint32_t i = 0; i < w->nslots; i++)
        if (w->slots[i].ep) {
            log_warn("slot %d: executor did not exit within %d ms; killing it", (int)i,
                     KILL_GRACE_MS);
            uv_process_kill(&w->slots[i].ep->proc, SIGKILL);
        }
}

/* Ends every executor: closing its stdin lets an idle one finish (running plugins' close
 * hooks) and exit; a busy one is killed. Waits up to KILL_GRACE_MS, then kills the rest. */
static void stop_executors(worker *w)
{
    int alive = 0;
    for (uint32_t i = 0; i < w->nslots; i++) {
        execproc *ep = w->slots[i].ep;
        if (!ep)
            continue;
        alive = 1;
        if (w->slots[i].job)
            uv_process_kill(&ep->proc, SIGKILL);
        if (!uv_is_closing((uv_handle_t *)&ep->in))
            uv_close((uv_handle_t *)&ep->in, on_handle_closed);
    }
    if (!alive)
        return;
    uv_timer_stop(&w->heartbeat);
    uv_timer_start(&w->heartbeat, on_grace_expired, KILL_GRACE_MS, 0);
    for (;;) {
        alive = 0;
        for (uint32_t i = 0; i < w->nslots; i++)
            alive |= w->slots[i].ep != NULL;
        if (!alive)
            break;
        uv_run(&w->loop, UV_RUN_ONCE);
    }
}

void worker_destroy(worker **wp)
{
    if (!wp || !*wp)
        return;
    worker *w = *wp;
    w->stopping = 1;
    /* Teardown has begun: a late SIGTERM must not kill us halfway. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    if (w->slots)
        stop_executors(w);
    for (uint32_t i = 0; i < w->nslots; i++) {
        free_job(w->slots[i].job);
        w->slots[i].job = NULL;
    }
    zsock_monitor_close(w->dealer, w->monitor);
    zsock_close(w->dealer);
    uv_walk(&w->loop, close_handle, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    size_t pos = 0;
    const char *k;
    void *v;
    while (w->type_plugin && strmap_next(w->type_plugin, &pos, &k, &v))
        free(v);
    strmap_destroy(&w->type_plugin);
    for (size_t i = 0; i < w->nrecent; i++)
        free(w->recent[i].data);
    free(w->recent);
    free(w->refused);
    free(w->slots);
    free(w->types_json);
    free(w->name);
    free(w->executor);
    free(w->work_dir);
    free(w->store);
    free(w->secrets_dir);
    free(w);
    *wp = NULL;
}
