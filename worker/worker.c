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
#include "worker/slotlog.h"
#include "worker/worker_int.h"

#define RECV_BATCH 16
#define RECENT_MIN 16 /* results kept to resend when the scheduler restarts: at least this
                          many, and twice the slots */
#define LIVENESS_MIN_MS 3000 /* a silent connection is dropped after at least this long */

/* ---- messages to the scheduler ---- */

static void send_now(worker *w, const uint8_t *data, size_t len)
{
    const void *frames[] = {data};
    size_t lens[] = {len};
    int rc = zsock_send(w->dealer, frames, lens, 1);
    if (rc < 0)
        log_warn("cannot send to the scheduler: %s", zmq_strerror(-rc));
}

/* Sends a packed message, or keeps a copy of it in the outbox while batches are on. */
static void send_packed(worker *w, const uint8_t *data, size_t len)
{
    if (!w->batches) {
        send_now(w, data, len);
        return;
    }
    xgrow(&w->outbox, &w->capout, w->nout + 1, sizeof *w->outbox);
    xgrow(&w->outlens, &w->capoutlens, w->nout + 1, sizeof *w->outlens);
    w->outbox[w->nout] = xmalloc(len ? len : 1);
    memcpy(w->outbox[w->nout], data, len);
    w->outlens[w->nout++] = len;
}

void worker_flush(worker *w)
{
    size_t i = 0;
    while (i < w->nout) {
        /* As many as one Batch takes; a large message goes alone. */
        size_t n = 0, bytes = 0;
        while (w->batches && i + n < w->nout && wire_batch_fits(n, bytes, w->outlens[i + n]))
            bytes += w->outlens[i + n++];
        if (n <= 1) {
            send_now(w, w->outbox[i], w->outlens[i]);
            n = 1;
        } else {
            size_t len;
            uint8_t *b = wire_batch((const uint8_t *const *)(w->outbox + i), w->outlens + i, n,
                                    &len);
            send_now(w, b, len);
            free(b);
        }
        for (size_t k = i; k < i + n; k++)
            free(w->outbox[k]);
        i += n;
    }
    w->nout = 0;
    w->nout_results = 0;
    uv_timer_stop(&w->hold);
}

void worker_send_env(void *ud, const Weft__Envelope *env)
{
    worker *w = ud;
    size_t len;
    uint8_t *data = wire_pack(env, &len);
    send_packed(w, data, len);
    free(data);
}

void worker_send_result_packed(worker *w, uint64_t attempt_id, uint8_t *data, size_t len)
{
    send_packed(w, data, len);
    if (w->batches)
        w->nout_results++;
    if (w->nrecent == w->caprecent) {
        free(w->recent[0].data);
        memmove(w->recent, w->recent + 1, (w->caprecent - 1) * sizeof *w->recent);
        w->nrecent--;
    }
    w->recent[w->nrecent++] = (sent_result){data, len, attempt_id};
}

/* Its GPUs, as CUDA names them: the entries of CUDA_VISIBLE_DEVICES when it is set ("" and
 * "-1": none), else 0 .. n-1 for the devices nvidia-smi -L lists (or --gpus declares). */
static int set_gpus(worker *w, const worker_config *cfg, weft_err *err)
{
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
    int given = res_has_name(cfg->capacity, cfg->ncapacity, "gpu");
    uint64_t n = res_get(cfg->capacity, cfg->ncapacity, "gpu");
    if (n % 1000)
        return err_set(err, WEFT_EINVAL, "--gpus takes whole devices, not a share of one");
    n /= 1000;
    if (cvd && *cvd && strcmp(cvd, "-1")) {
        for (const char *p = cvd; *p; p += strcspn(p, ","), p += *p == ',') {
            if (strcspn(p, ",") == 0)
                continue;
            xgrow(&w->gpu_ids, &w->capgpus, w->ngpus + 1, sizeof *w->gpu_ids);
            w->gpu_ids[w->ngpus++] = xstrndup(p, strcspn(p, ","));
        }
        if (given && n != w->ngpus)
            return err_set(err, WEFT_EINVAL, "--gpus %llu, but CUDA_VISIBLE_DEVICES names %zu "
                           "(%s)", (unsigned long long)n, w->ngpus, cvd);
    } else if (!cvd) {
        if (!given) {
            FILE *f = popen("nvidia-smi -L 2>/dev/null", "r");
            char line[512];
            while (f && fgets(line, sizeof line, f))
                n += strncmp(line, "GPU ", 4) == 0;
            if (f)
                pclose(f);
        }
        for (uint64_t i = 0; i < n && i < WORKER_GPUS_MAX; i++) {
            xgrow(&w->gpu_ids, &w->capgpus, w->ngpus + 1, sizeof *w->gpu_ids);
            w->gpu_ids[w->ngpus++] = xasprintf("%llu", (unsigned long long)i);
        }
    } else if (given && n)
        return err_set(err, WEFT_EINVAL, "--gpus %llu, but CUDA_VISIBLE_DEVICES is '%s' (none)",
                       (unsigned long long)n, cvd);
    if (w->ngpus > WORKER_GPUS_MAX || n > WORKER_GPUS_MAX)
        return err_set(err, WEFT_EINVAL, "at most %d GPUs per worker", WORKER_GPUS_MAX);
    res_set(&w->capacity, &w->ncapacity, "gpu", 1000 * (uint64_t)w->ngpus);
    return 0;
}

/* What the worker offers: the amounts given, its cores, memory and GPUs unless given. */
static int set_capacity(worker *w, const worker_config *cfg, weft_err *err)
{
    int full = 0;
    for (size_t i = 0; i < cfg->ncapacity; i++)
        full |= res_set(&w->capacity, &w->ncapacity, cfg->capacity[i].name,
                        cfg->capacity[i].amount) < 0;
    if (!res_has_name(cfg->capacity, cfg->ncapacity, "cpu"))
        full |= res_set(&w->capacity, &w->ncapacity, "cpu",
                        1000 * (uint64_t)uv_available_parallelism()) < 0;
    if (!res_has_name(cfg->capacity, cfg->ncapacity, "mem"))
        full |= res_set(&w->capacity, &w->ncapacity, "mem", uv_get_total_memory()) < 0;
    if (full || (w->ncapacity == RES_MAX && !res_has_name(w->capacity, w->ncapacity, "gpu")))
        return err_set(err, WEFT_EINVAL, "at most %d resources with cpu, mem and gpu; "
                       "--resource names %zu", RES_MAX, cfg->ncapacity);
    w->labels = xcalloc(cfg->nlabels + 1, sizeof *w->labels);
    for (size_t i = 0; i < cfg->nlabels; i++)
        w->labels[w->nlabels++] = xstrdup(cfg->labels[i]);
    return set_gpus(w, cfg, err);
}

static void send_register(worker *w)
{
    Weft__Register r = WEFT__REGISTER__INIT;
    uint64_t *running_ids = xcalloc(w->nslots + w->nqueued + 1, sizeof *running_ids);
    uint64_t *gpus = xcalloc(w->nslots + w->nqueued + 1, sizeof *gpus);
    uint32_t *gpu_milli = xcalloc(w->nslots + w->nqueued + 1, sizeof *gpu_milli);
    size_t n = 0;
    for (uint32_t i = 0; i < w->nslots; i++)
        if (w->slots[i].job) {
            gpus[n] = w->slots[i].job->gpu_mask;
            gpu_milli[n] = w->slots[i].job->gpu_milli;
            running_ids[n++] = w->slots[i].job->attempt_id;
        }
    for (uint32_t i = 0; i < w->nqueued; i++) { /* held too: they start as slots free */
        gpus[n] = w->queue[i].job->gpu_mask;
        gpu_milli[n] = w->queue[i].job->gpu_milli;
        running_ids[n++] = w->queue[i].job->attempt_id;
    }
    r.name = w->name;
    r.slots = w->nslots;
    r.prefetch = w->prefetch;
    r.types_json = w->types_json;
    r.running = running_ids;
    r.n_running = n;
    r.running_gpus = gpus; /* where the scheduler placed them, for one that restarted */
    r.n_running_gpus = n;
    r.running_gpu_milli = gpu_milli;
    r.n_running_gpu_milli = n;
    uint64_t *finished = xcalloc(w->nrecent + 1, sizeof *finished);
    for (size_t i = 0; i < w->nrecent; i++)
        finished[i] = w->recent[i].attempt_id;
    r.finished = finished; /* sent again right after this */
    r.n_finished = w->nrecent;
    r.heartbeat_ms = w->heartbeat_ms;
    r.cpu = (uint32_t)(res_get(w->capacity, w->ncapacity, "cpu") / 1000);
    r.mem = res_get(w->capacity, w->ncapacity, "mem");
    r.gpu = (uint32_t)(res_get(w->capacity, w->ncapacity, "gpu") / 1000);
    Weft__Resource *cap = xcalloc(w->ncapacity + 1, sizeof *cap);
    Weft__Resource **capp = xcalloc(w->ncapacity + 1, sizeof *capp);
    for (size_t i = 0; i < w->ncapacity; i++) {
        weft__resource__init(&cap[i]);
        cap[i].name = w->capacity[i].name;
        cap[i].amount = w->capacity[i].amount;
        capp[i] = &cap[i];
    }
    r.capacity = capp;
    r.n_capacity = w->ncapacity;
    r.labels = w->labels;
    r.n_labels = w->nlabels;
    r.again = w->registered;
    r.batches = 1;
    w->registered = 1;
    /* Until the scheduler sends a Batch: it may be one that does not take them. This and
     * what waits go one at a time. */
    w->batches = 0;
    worker_flush(w);
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REGISTER;
    env.register_ = &r;
    worker_send_env(w, &env);
    free(running_ids);
    free(gpus);
    free(gpu_milli);
    free(finished);
    free(cap);
    free(capp);
}

static void on_envelope(worker *w, const Weft__Envelope *env);

/* A Batch from the scheduler: it takes them too; each message in order (none is a Batch:
 * wire_unpack refuses one inside another). */
static void on_batch(worker *w, const Weft__Batch *b)
{
    if (b->n_items > WIRE_BATCH_MAX) {
        log_warn("dropped a batch of %zu messages from the scheduler, more than %d",
                 b->n_items, WIRE_BATCH_MAX);
        return;
    }
    w->batches = 1;
    for (size_t i = 0; i < b->n_items && !w->stopping; i++)
        on_envelope(w, b->items[i]);
}

static void on_envelope(worker *w, const Weft__Envelope *env)
{
    switch (env->body_case) {
    case WEFT__ENVELOPE__BODY_BATCH:
        on_batch(w, env->batch);
        break;
    case WEFT__ENVELOPE__BODY_DISPATCH:
        slot_dispatch(w, env->dispatch);
        break;
    case WEFT__ENVELOPE__BODY_STOP:
        slot_stop(w, env->stop);
        break;
    case WEFT__ENVELOPE__BODY_BLOB_REPLY:
        if (w->xfers)
            xfer_on_reply(w->xfers, env->blob_reply);
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
}

static void on_message(void *arg, zmq_msg_t *frames, size_t n)
{
    worker *w = arg;
    zmq_msg_t *payload = &frames[n - 1];
    /* Nothing of a message is kept once it is handled. */
    Weft__Envelope *env = wire_inbox_take(&w->inbox, zmq_msg_data(payload),
                                          zmq_msg_size(payload));
    if (env)
        on_envelope(w, env);
    else
        log_warn("dropped an undecodable message of %zu bytes", zmq_msg_size(payload));
    wire_inbox_done(&w->inbox);
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

/* Whether the attempt's log grew past what was streamed of it (logstream.h). */
static int log_grew(const running *job)
{
    struct stat st;
    return !job->stream.stopped && stat(job->log_path, &st) == 0 &&
           (uint64_t)st.st_size > job->stream.in;
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
    worker_send_env(w, &env);
    if (w->xfers)
        xfer_tick(w->xfers, clock_wall_us());
    for (uint32_t i = 0; i < w->nslots; i++) {
        running *job = w->slots[i].job;
        /* (not when the executor claimed what was staged: it writes the same file) */
        if (job && job->phase == JOB_RUNNING && log_grew(job) && stage_clear(&w->slots[i]) == 0)
            logstream_pump(&job->stream, job->log_path, &job->secrets, job->attempt_id,
                           job->nonce, 0, worker_send_env, w);
    }
}

/* A connection the scheduler stopped answering is dropped and dialled again, so a worker
 * whose link was cut rejoins within seconds of its return rather than whenever TCP next
 * retransmits into it (its backoff reaches a minute): ZeroMQ pings every heartbeat interval,
 * any traffic answers, and silence for three intervals (the scheduler's own patience before
 * it calls the worker lost), at least LIVENESS_MIN_MS, closes the connection; a dial that
 * takes as long is given up and tried again. */
static void set_liveness(void *z, uint32_t heartbeat_ms)
{
    int ivl = (int)heartbeat_ms;
    int timeout = 3 * ivl > LIVENESS_MIN_MS ? 3 * ivl : LIVENESS_MIN_MS;
    zmq_setsockopt(z, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(z, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    zmq_setsockopt(z, ZMQ_CONNECT_TIMEOUT, &timeout, sizeof timeout);
}

#define HOLD_MS 1 /* the longest a result waits for more to go with it */

static void on_hold(uv_timer_t *t)
{
    worker_flush(t->data);
}

/* Whether the results in the outbox may wait for more: only results wait, the worker's
 * queue still holds at least half its places (its slots stay fed while the scheduler hears
 * a moment later), and fewer results wait than half the queue. The first to wait starts a
 * timer that sends them all after HOLD_MS, however long the running attempts take. Fewer,
 * larger Batches cost every process fewer wake-ups per task; a result while the queue runs
 * low (a chain's) goes at once. */
static int hold_results(worker *w)
{
    if (!w->nout || w->nout != w->nout_results || w->stopping ||
        2 * w->nqueued < w->prefetch || 2 * w->nout_results >= w->prefetch)
        return 0;
    if (!uv_is_active((uv_handle_t *)&w->hold))
        uv_timer_start(&w->hold, on_hold, HOLD_MS, 0);
    return 1;
}

static void on_spin(uv_idle_t *h)
{
    (void)h;
}

/* Before the loop blocks: what arrived, at most RECV_BATCH messages; when there may be more
 * (a transfer's pieces keep coming), the loop goes round without blocking, serving its
 * timers (heartbeats) in between, and comes back here. */
static void on_prepare(uv_prepare_t *p)
{
    worker *w = p->data;
    size_t got;
    int rounds = 0;
    /* What waits goes out, then what arrived is read (a send can take the socket's edge);
     * what reading made (a fetch, a refusal) goes out before we block. */
    do {
        if (!hold_results(w))
            worker_flush(w);
        got = zsock_drain(w->dealer);
        zsock_drain(w->monitor);
    } while (w->nout && !hold_results(w) && got < RECV_BATCH && ++rounds < 8);
    if (got == RECV_BATCH || (w->nout && !hold_results(w)))
        uv_idle_start(&w->spin, on_spin);
    else
        uv_idle_stop(&w->spin);
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

/* Where attempts with a budget get their cgroup, or why they cannot. */
static void open_cgroups(worker *w, int off)
{
    weft_err err = {0};
    if (!off && (w->cgroups = cg_host_open(0, &err))) {
        log_info("attempts with a mem or cpu budget run in a %s group each",
                 cg_host_kind(w->cgroups));
        return;
    }
    log_warn("%s%s: a task's mem budget limits only its executor's address space "
             "(RLIMIT_AS), not the processes it starts, and cpu budgets are not enforced",
             off ? "cgroups are off (--no-cgroups)" : "cannot make cgroups: ", off ? "" : err.msg);
}

int worker_new(const worker_config *cfg, worker **out, weft_err *err)
{
    worker *w = xcalloc(1, sizeof *w);
    uv_loop_init(&w->loop);
    slotlog_init();
    w->name = xstrdup(cfg->name);
    w->executor = xstrdup(cfg->executor);
    w->work_dir = xstrdup(cfg->work_dir);
    w->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 1000;
    w->cache_bytes = cfg->cache_bytes;
    w->cache_dir = cfg->cache_dir ? xstrdup(cfg->cache_dir) : xasprintf("%s/cache", w->work_dir);
    /* Executors keep what they read from object storage beside the blob cache. */
    char *s3cache = xasprintf("%s/s3", w->cache_dir);
    setenv("WEFT_S3_CACHE", s3cache, 0);
    free(s3cache);
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
    if (rc == 0)
        rc = set_capacity(w, cfg, err);
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
            set_liveness(z, w->heartbeat_ms);
        }
        if (z)
            zsock_set_batch(w->dealer, RECV_BATCH);
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
    w->prefetch = cfg->prefetch;
    w->queue = xcalloc(w->prefetch + 1, sizeof *w->queue);
    w->caprecent = 2 * (size_t)w->nslots > RECENT_MIN ? 2 * (size_t)w->nslots : RECENT_MIN;
    w->recent = xcalloc(w->caprecent, sizeof *w->recent);
    w->slots = xcalloc(w->nslots, sizeof *w->slots);
    open_cgroups(w, cfg->no_cgroups);
    slots_start(w);
    uv_timer_init(&w->loop, &w->heartbeat);
    w->heartbeat.data = w;
    uv_timer_start(&w->heartbeat, on_heartbeat, w->heartbeat_ms, w->heartbeat_ms);
    uv_timer_init(&w->loop, &w->hold);
    w->hold.data = w;
    uv_idle_init(&w->loop, &w->spin);
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
        slot_close_handle(h);
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
        slots_stop(w);
    if (w->dealer)
        worker_flush(w);
    free(w->outbox);
    free(w->outlens);
    wire_inbox_free(&w->inbox);
    cg_host_close(&w->cgroups);
    xfer_ctx_free(&w->xfers);
    bcache_close(&w->cache);
    zsock_monitor_close(w->dealer, w->monitor);
    zsock_close(w->dealer);
    uv_walk(&w->loop, close_handle, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    if (w->zctx)
        zmq_ctx_term(w->zctx);
    strmap_destroy_free(&w->type_plugin);
    for (size_t i = 0; i < w->nrecent; i++)
        free(w->recent[i].data);
    free(w->recent);
    free(w->refused);
    for (uint32_t i = 0; w->slots && i < w->nslots; i++)
        free(w->slots[i].log_path);
    free(w->slots);
    free(w->queue);
    free(w->types_json);
    res_free(&w->capacity, &w->ncapacity);
    for (size_t i = 0; i < w->ngpus; i++)
        free(w->gpu_ids[i]);
    free(w->gpu_ids);
    for (size_t i = 0; i < w->nlabels; i++)
        free(w->labels[i]);
    free(w->labels);
    free(w->name);
    free(w->executor);
    free(w->work_dir);
    free(w->store);
    free(w->cache_dir);
    free(w->seen_store);
    free(w->seen_store_id);
    free(w->secrets_dir);
    free(w);
    *wp = NULL;
}
