/* slot: a worker's slots, each running one attempt at a time in its long-lived executor
 * process. See worker_int.h.
 *
 * An attempt goes through up to three phases. When the scheduler's store is not on this
 * machine (the directory a dispatch names holds another store, or none), its inputs are
 * fetched into the blob cache first, and the blobs it made (outputs, checkpoint) are pushed
 * to the scheduler before its result, so the scheduler records outputs that are all in its
 * store. A slot whose attempt is fetching or pushing is taken: the scheduler's credit for it
 * comes back with the result. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/errclass.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/xmem.h"
#include "worker/worker_int.h"

#define CACHE_DEFAULT_BYTES (10ull << 30)

static void send_result(worker *w, running *job, int ok, int cls, const char *msg,
                        const char *outputs, const uint8_t *log, size_t loglen)
{
    /* The result's log replaces the streamed one unless it is only the end of a longer
     * one: then the stream's end goes first. */
    if (loglen >= WIRE_LOG_MAX)
        logstream_pump(&job->stream, job->log_path, &job->secrets, job->attempt_id,
                       job->nonce, 1, worker_send_env, w);
    Weft__Result r = WEFT__RESULT__INIT;
    r.attempt_id = job->attempt_id;
    r.ok = ok;
    r.error_class = (Weft__ErrorClass)(ok ? ERRC_NONE : cls);
    r.message = (char *)(msg ? msg : "");
    r.outputs_json = (char *)(outputs ? outputs : "{}");
    if (ok) {
        r.blobs = job->blobs;
        r.n_blobs = job->nblobs;
    }
    r.log.data = (uint8_t *)log;
    r.log.len = loglen;
    /* A secret's value never leaves the worker: masked wherever the task may have put it. */
    char *held[3];
    secrets_mask_result(&job->secrets, &r, held);
    r.started_us = job->started_us;
    r.finished_us = job->finished_us ? job->finished_us : clock_wall_us();
    r.peak_mem_bytes = job->peak_mem_bytes;
    r.cpu_us = job->cpu_us;
    if (job->checkpoint)
        r.checkpoint_json = job->checkpoint;
    if (job->nonce)
        r.nonce = job->nonce;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_RESULT;
    env.result = &r;
    size_t len;
    uint8_t *data = wire_pack(&env, &len);
    worker_send_result_packed(w, job->attempt_id, data, len);
    secrets_release(held);
}

/* ---- jobs ---- */


/* An ended attempt's scratch directory, removed in libuv's thread pool: removing a
 * directory can wait for the disk, and the loop has results to send. (Its log file is its
 * slot's, which the slot's next attempt empties.) */
typedef struct leftovers {
    uv_work_t work;
    char *workdir;
} leftovers;

static void remove_leftovers(uv_work_t *wk)
{
    leftovers *l = wk->data;
    fs_remove_tree(l->workdir);
}

static void leftovers_removed(uv_work_t *wk, int status)
{
    (void)status;
    leftovers *l = wk->data;
    free(l->workdir);
    free(l);
}

static void remove_later(worker *w, running *job)
{
    leftovers *l = xcalloc(1, sizeof *l);
    l->work.data = l;
    l->workdir = job->workdir;
    job->workdir = NULL;
    if (uv_queue_work(&w->loop, &l->work, remove_leftovers, leftovers_removed) != 0) {
        remove_leftovers(&l->work);
        leftovers_removed(&l->work, 0);
    }
}

void slot_free_job(worker *w, running *job)
{
    if (!job)
        return;
    xfer_cancel(job->transfer);
    cg_attempt_end(&job->cg, 0);
    if (w->cache)
        bcache_release(w->cache, job->attempt_id);
    if (!job->removed)
        remove_later(w, job);
    free(job->task);
    free(job->nonce);
    secrets_free(&job->secrets);
    free(job->type);
    free(job->inputs);
    free(job->checkpoint_in);
    free(job->store);
    free(job->workdir);
    free(job->checkpoint);
    free(job->message);
    free(job->outputs);
    free(job->log);
    free(job);
}

static void finish_job(slot *sl)
{
    uv_timer_stop(&sl->timer);
    uv_timer_stop(&sl->beat);
    slot_free_job(sl->w, sl->job);
    sl->job = NULL;
    if (sl->w->cache) /* what the attempt made counts too, and what it held may go now */
        bcache_trim(sl->w->cache, 0);
    stage_promote(sl);
    slot_take_queued(sl->w);
}

/* The pushed outputs are in the scheduler's store (rc 0), or not: the result goes. */
static void on_pushed(void *ud, int rc, const char *why)
{
    slot *sl = ud;
    running *job = sl->job;
    job->transfer = NULL;
    if (rc) {
        char *msg = xasprintf("the attempt's outputs could not be sent to the scheduler: %s",
                              why);
        log_warn("slot %d: %s", sl->index, msg);
        send_result(sl->w, job, 0, ERRC_TRANSIENT, msg, NULL, job->log, job->loglen);
        free(msg);
    } else {
        send_result(sl->w, job, job->ok, job->errclass, job->message, job->outputs, job->log,
                    job->loglen);
    }
    finish_job(sl);
}

/* The attempt ended: its result goes to the scheduler, after the blobs it made when the
 * store is elsewhere. */
void slot_conclude(slot *sl, int ok, int cls, const char *msg, const char *outputs,
                     const uint8_t *log, size_t loglen)
{
    running *job = sl->job;
    uv_timer_stop(&sl->timer);
    uv_timer_stop(&sl->beat);
    weft_err err = {0};
    if (job->remote) {
        json_t *made = json_array();
        json_array_append_new(made, ok && outputs ? json_loads(outputs, 0, NULL) : json_null());
        json_array_append_new(made, job->checkpoint ? json_loads(job->checkpoint, 0, NULL)
                                                    : json_null());
        job->phase = JOB_PUSHING;
        int rc = xfer_push(sl->w->xfers, job->attempt_id, job->nonce, made, on_pushed, sl,
                           &job->transfer, &err);
        json_decref(made);
        if (rc == 0 && job->transfer) {
            job->ok = ok;
            job->errclass = cls;
            job->message = xstrdup(msg ? msg : "");
            job->outputs = outputs ? xstrdup(outputs) : NULL;
            job->log = loglen ? memcpy(xmalloc(loglen), log, loglen) : NULL;
            job->loglen = loglen;
            return;
        }
        if (rc < 0) {
            ok = 0;
            cls = ERRC_TRANSIENT;
            msg = err.msg;
        }
    }
    send_result(sl->w, job, ok, cls, msg, outputs, log, loglen);
    finish_job(sl);
}

static void reject_job(worker *w, running *job, int cls, const char *why);
static void reject(worker *w, const Weft__Dispatch *d, int cls, const char *why);

running *slot_dequeue(worker *w, uint32_t i)
{
    running *job = w->queue[i].job;
    memmove(&w->queue[i], &w->queue[i + 1], (w->nqueued - i - 1) * sizeof *w->queue);
    w->nqueued--;
    return job;
}

/* Takes a queued dispatch out (it never started): 1 when it was there. */
static int unqueue(worker *w, uint64_t attempt_id, const char *why)
{
    for (uint32_t i = 0; i < w->nqueued; i++) {
        if (w->queue[i].job->attempt_id != attempt_id)
            continue;
        if (w->queue[i].on && !stage_retract(w, &w->queue[i])) {
            log_info("slot %d: stopping %s (attempt %llu) as it starts: %s", w->queue[i].on->index,
                     w->queue[i].job->task, (unsigned long long)attempt_id, why);
            w->queue[i].job->cancelled = 1; /* claimed: stopped once it is its slot's */
            return 1;
        }
        running *job = slot_dequeue(w, i);
        char msg[300];
        snprintf(msg, sizeof msg, "%s stopped before it started: %s (attempt %u)", job->type,
                 why, job->attempt);
        reject_job(w, job, ERRC_CANCELLED, msg);
        job->removed = 1; /* it never ran */
        slot_free_job(w, job);
        return 1;
    }
    return 0;
}

void slot_stop(worker *w, const Weft__Stop *st)
{
    if (unqueue(w, st->attempt_id, "its run was cancelled"))
        return;
    for (uint32_t i = 0; i < w->nslots; i++) {
        slot *sl = &w->slots[i];
        running *job = sl->job;
        if (!job || job->attempt_id != st->attempt_id)
            continue;
        log_info("slot %d: stopping %s (attempt %llu): run cancelled", sl->index, job->task,
                 (unsigned long long)st->attempt_id);
        if (job->phase == JOB_FETCHING) {
            xfer_cancel(job->transfer);
            job->transfer = NULL;
            char msg[300];
            snprintf(msg, sizeof msg, "%s stopped before it started: its run was cancelled "
                     "(attempt %u)", job->type, job->attempt);
            job->started_us = 0; /* fetching its inputs: it never started */
            slot_conclude(sl, 0, ERRC_CANCELLED, msg, NULL, NULL, 0);
        } else if (job->phase == JOB_RUNNING && sl->ep) {
            exec_cancel(sl);
        }
        return;
    }
}

/* ---- dispatch ---- */

/* Fails an attempt that never ran. */
static void reject_job(worker *w, running *job, int cls, const char *why)
{
    log_warn("attempt %llu (%s): %s", (unsigned long long)job->attempt_id, job->task, why);
    job->started_us = 0; /* it never started: no start is recorded */
    send_result(w, job, 0, cls, why, NULL, NULL, 0);
}

static void reject(worker *w, const Weft__Dispatch *d, int cls, const char *why)
{
    running job = {.attempt_id = d->attempt_id, .nonce = d->nonce, .task = d->task};
    reject_job(w, &job, cls, why);
}

/* Whether the store a dispatch names is on this machine: the directory holds a store of
 * the same identity. Remembered for the next dispatch naming the same. */
static int store_is_here(worker *w, const Weft__Dispatch *d)
{
    /* --store; a scheduler that names no identity; or object storage, which every worker
     * reaches itself */
    if (w->store || !*d->store_id || !strncmp(d->store, "s3://", 5))
        return 1;
    if (w->seen_store && !strcmp(w->seen_store, d->store) && !strcmp(w->seen_store_id, d->store_id))
        return w->seen_local;
    char *path = xasprintf("%s/store-id", d->store), *id = NULL;
    size_t len = 0;
    int here = fs_read_file(path, 256, &id, &len, NULL) == 0 && len == strlen(d->store_id) &&
               !memcmp(id, d->store_id, len);
    free(path);
    free(id);
    free(w->seen_store);
    free(w->seen_store_id);
    w->seen_store = xstrdup(d->store);
    w->seen_store_id = xstrdup(d->store_id);
    w->seen_local = here;
    log_info("the scheduler's artifact store %s is %s", d->store,
             here ? "on this machine" : "elsewhere: blobs travel over the connection");
    return here;
}

/* The blob cache, opened on first need. NULL with why. */
static bcache *cache_of(worker *w, char *why, size_t n)
{
    if (w->cache)
        return w->cache;
    weft_err err = {0};
    /* Private, like the work directory: it holds what tasks read and made. */
    if (fs_private_dir(w->cache_dir, &err) < 0 ||
        bcache_open(w->cache_dir, w->cache_bytes ? w->cache_bytes : CACHE_DEFAULT_BYTES,
                    &w->cache, &err) < 0)
        snprintf(why, n, "cannot open the blob cache: %s", err.msg);
    else
        w->xfers = xfer_ctx_new(w->cache, worker_send_env, w);
    return w->cache;
}

/* The inputs are in the blob cache (rc 0), or cannot be had. */
static void on_fetched(void *ud, int rc, const char *why)
{
    slot *sl = ud;
    sl->job->transfer = NULL;
    if (!rc) {
        exec_start(sl);
        return;
    }
    char *msg = xasprintf("the attempt's inputs could not be fetched: %s", why);
    log_warn("slot %d: %s", sl->index, msg);
    slot_conclude(sl, 0, ERRC_TRANSIENT, msg, NULL, NULL, 0);
    free(msg);
}

/* Fetches what the slot's attempt reads (inputs, checkpoint) when the store is elsewhere,
 * then runs it. */
static void fetch_inputs(slot *sl)
{
    running *job = sl->job;
    json_t *reads = json_array();
    json_array_append_new(reads, json_loads(job->inputs, 0, NULL));
    if (*job->checkpoint_in)
        json_array_append_new(reads, json_loads(job->checkpoint_in, 0, NULL));
    weft_err err = {0};
    job->phase = JOB_FETCHING;
    int rc = xfer_fetch(sl->w->xfers, job->attempt_id, job->nonce, reads, on_fetched, sl,
                        &job->transfer, &err);
    json_decref(reads);
    if (rc < 0)
        on_fetched(sl, rc, err.msg);
    else if (!job->transfer)
        exec_start(sl);
}

static running *new_job(worker *w, const Weft__Dispatch *d, const char *plugin)
{
    running *job = xcalloc(1, sizeof *job);
    job->attempt_id = d->attempt_id;
    job->run_id = d->run_id;
    job->attempt = d->attempt;
    job->task = xstrdup(d->task);
    job->nonce = xstrdup(d->nonce);
    job->type = xstrdup(d->type);
    job->plugin = plugin;
    job->inputs = xstrdup(d->inputs_json);
    job->checkpoint_in = xstrdup(d->checkpoint_json);
    job->mem_bytes = d->mem_bytes;
    job->gpu_mask = d->gpu_devices;
    job->gpu_milli = d->gpu_milli;
    job->gpus = d->gpus;
    job->cpu_milli = d->cpu_milli;
    job->timeout_ms = d->timeout_ms;
    job->heartbeat_ms = d->heartbeat_ms;
    job->workdir = xasprintf("%s/scratch/%llu", w->work_dir, (unsigned long long)d->attempt_id);
    return job; /* (started_us: when it starts) */
}

static slot *free_slot(worker *w)
{
    for (uint32_t i = 0; i < w->nslots; i++)
        if (!w->slots[i].job && w->slots[i].ep && !w->slots[i].ep->exited)
            return &w->slots[i];
    return NULL;
}

/* Runs job in free slot sl: its inputs fetched first when the store is elsewhere. */
static void start_job(slot *sl, running *job)
{
    job->log_path = sl->log_path; /* its executor reuses the file from one attempt on */
    job->started_us = clock_wall_us();
    sl->job = job;
    if (job->remote)
        fetch_inputs(sl);
    else
        exec_start(sl);
}

/* Starts queued attempts, first come first, while slots are free (one staged on a busy
 * slot is taken back for it, unless that slot's executor claimed it already); then stages
 * what is left. */
void slot_take_queued(worker *w)
{
    uint32_t i = 0;
    slot *sl;
    while (i < w->nqueued && !w->stopping && (sl = free_slot(w))) {
        if (w->queue[i].on && !stage_retract(w, &w->queue[i]))
            i++;
        else
            start_job(sl, slot_dequeue(w, i));
    }
    stage_queued(w);
}

/* Whether the attempt is running here or queued. */
static int holds(const worker *w, uint64_t attempt_id)
{
    for (uint32_t i = 0; i < w->nslots; i++)
        if (w->slots[i].job && w->slots[i].job->attempt_id == attempt_id)
            return 1;
    for (uint32_t i = 0; i < w->nqueued; i++)
        if (w->queue[i].job->attempt_id == attempt_id)
            return 1;
    return 0;
}

/* The attempt of d as a slot runs it, or NULL with why (and its error class). */
static running *make_job(worker *w, const Weft__Dispatch *d, int *cls, char *why, size_t n)
{
    const char *plugin = strmap_get(w->type_plugin, d->type);
    int here = store_is_here(w, d);
    *cls = ERRC_FATAL;
    if (!plugin) {
        snprintf(why, n, "this worker does not provide the task type");
        return NULL;
    }
    if (!here && !cache_of(w, why, n)) {
        *cls = ERRC_TRANSIENT;
        return NULL;
    }
    secret_set secrets;
    if (secrets_resolve(w->secrets_dir, w->env_secrets, d->secrets, d->n_secrets, &secrets, why,
                        n))
        return NULL;
    running *job = new_job(w, d, plugin);
    job->secrets = secrets;
    job->remote = !here;
    job->inline_max = here ? d->inline_max : 0;
    job->store = xstrdup(!here ? bcache_dir(w->cache) : w->store ? w->store : d->store);
    return job;
}

/* A dispatch runs in a free slot, or waits in the queue (at most w->prefetch) behind the
 * ones that came first; beyond that it fails (the scheduler's credits make that happen only
 * when an executor could not be started). What cannot run here fails at once. */
void slot_dispatch(worker *w, const Weft__Dispatch *d)
{
    /* The scheduler sends an attempt again only when we registered without it; a second
     * copy would run it twice. */
    if (holds(w, d->attempt_id)) {
        log_warn("ignored a second dispatch of attempt %llu, which runs here already",
                 (unsigned long long)d->attempt_id);
        return;
    }
    char why[600];
    int cls;
    running *job = make_job(w, d, &cls, why, sizeof why);
    if (!job) {
        reject(w, d, cls, why);
        return;
    }
    slot_take_queued(w);
    slot *sl = free_slot(w);
    if ((!sl || w->nqueued) && w->nqueued < w->prefetch) {
        w->queue[w->nqueued++] = (queued){.job = job};
        slot_take_queued(w); /* a free slot and only claimed ones ahead; else staged */
    } else if (sl) {
        start_job(sl, job);
    } else { /* credits make this impossible unless an executor could not be started */
        reject(w, d, ERRC_FATAL, "no executor available on this worker");
        job->removed = 1;
        slot_free_job(w, job);
    }
}
