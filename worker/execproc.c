/* execproc: a slot's executor process: started with the worker and again whenever it dies,
 * handed one attempt at a time (in its own cgroup when the attempt has a budget and the
 * worker can make one, worker/cgroup.h), stopped on timeout or cancel, and its result or
 * death turned into the attempt's end. See worker_int.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errclass.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/resource.h"
#include "common/units.h"
#include "common/xmem.h"
#include "worker/slotlog.h"
#include "worker/worker_int.h"

#define KILL_GRACE_MS 2000
#define LOG_CAP (1u << 20)

/* ---- executors ---- */

static void on_handle_closed(uv_handle_t *h)
{
    execproc *ep = h->data;
    if (--ep->open_handles == 0) {
        framebuf_free(&ep->fb);
        stageword_free(ep->staged);
        free(ep);
    }
}

void slot_close_handle(uv_handle_t *h)
{
    uv_close(h, h->type == UV_PROCESS || h->type == UV_NAMED_PIPE ? on_handle_closed : NULL);
}

static void close_execproc(execproc *ep)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&ep->in, (uv_handle_t *)&ep->out,
                         (uv_handle_t *)&ep->proc};
    for (int i = 0; i < 3; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], on_handle_closed);
}

/* Ends the cgroup of job (pid: its executor, which goes back to the idle group; 0 when it
 * is gone), taking what the attempt used from it. Returns how many of its processes the
 * memory budget's OOM killer ended. */
static uint64_t leave_cgroup(running *job, pid_t pid)
{
    if (!job->cg)
        return 0;
    cg_usage u;
    cg_attempt_usage(job->cg, &u);
    cg_attempt_end(&job->cg, pid);
    if (u.peak_bytes)
        job->peak_mem_bytes = u.peak_bytes;
    if (u.cpu_known)
        job->cpu_us = u.cpu_us;
    return job->mem_bytes ? u.oom_kills : 0;
}

/* Why an attempt that its memory budget's OOM killer ended failed: "out of memory (limit
 * 64M): " and what it said itself. */
static char *oom_message(const running *job, const char *said)
{
    char limit[32];
    return xasprintf("out of memory (limit %s): %s",
                     res_format("mem", job->mem_bytes, limit, sizeof limit), said);
}

static void on_exec_result(slot *sl, const uint8_t *data, size_t len)
{
    Weft__ExecResult *res = weft__exec_result__unpack(NULL, len, data);
    if (!res || !sl->job || sl->job->phase != JOB_RUNNING ||
        res->attempt_id != sl->job->attempt_id) {
        log_error("slot %d: executor sent an unexpected result; replacing it", sl->index);
        if (res)
            weft__exec_result__free_unpacked(res, NULL);
        if (!sl->ep->exited)
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
    running *job = sl->job;
    job->peak_mem_bytes = res->peak_mem_bytes;
    job->cpu_us = res->cpu_us;
    if (res->started_us && res->finished_us >= res->started_us) {
        job->started_us = res->started_us;
        job->finished_us = res->finished_us;
    }
    int cls = job->cancelled && !res->ok ? ERRC_CANCELLED : (int)res->error_class;
    char *oom = NULL;
    /* Cancelled, then timed out, then out of memory, then what the plugin said. */
    pid_t pid = sl->ep->exited ? 0 : sl->ep->proc.pid; /* (a pid reaped may be reused) */
    if (leave_cgroup(job, pid) && !res->ok && !job->cancelled && !job->timed_out) {
        cls = ERRC_CRASH;
        oom = oom_message(job, res->message);
    }
    /* Only when the dispatch asked for them: blobs it did not are left out, and the
     * outputs then name blobs the scheduler lacks, failing the result. */
    sl->job->blobs = res->blobs;
    sl->job->nblobs = sl->job->inline_max ? res->n_blobs : 0;
    sl->job->removed = res->removed;
    sl->ep->log_held = res->log_held;
    slot_conclude(sl, res->ok, cls, oom ? oom : res->message, res->outputs_json, res->log.data,
                  res->log.len);
    free(oom);
    if (sl->job) { /* still pushing its outputs (remote: nothing was kept out) */
        sl->job->blobs = NULL;
        sl->job->nblobs = 0;
    }
    weft__exec_result__free_unpacked(res, NULL);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = xmalloc(suggested);
    buf->len = suggested;
}

/* Handles the frames in n bytes the executor wrote. */
static void feed_frames(execproc *ep, const char *data, size_t n)
{
    framebuf_feed(&ep->fb, data, n);
    const uint8_t *frame;
    size_t len;
    int rc;
    while (ep->slot && (rc = framebuf_next(&ep->fb, &frame, &len)) == 1) {
        if (!ep->slot->job && ep->claimed) { /* dead: what follows is the claimed one's */
            ep->slot->job = ep->claimed;
            ep->claimed = NULL;
        }
        on_exec_result(ep->slot, frame, len);
    }
    if (ep->slot && rc < 0 && !ep->exited) {
        log_error("slot %d: oversized frame from executor; replacing it", ep->slot->index);
        uv_process_kill(&ep->proc, SIGKILL);
    }
}

static void on_exec_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    execproc *ep = s->data;
    if (n > 0 && ep->slot)
        feed_frames(ep, buf->base, (size_t)n);
    else if (n < 0)
        uv_read_stop(s);
    free(buf->base);
}

/* What the executor, now dead, wrote and the loop has not read yet (its exit can be seen
 * first): a result written before it died is its attempt's end, not the death. */
static void drain_output(execproc *ep)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&ep->out, &fd) < 0)
        return;
    char buf[16384];
    ssize_t n;
    while (ep->slot && (n = read(fd, buf, sizeof buf)) > 0) /* (non-blocking) */
        feed_frames(ep, buf, (size_t)n);
}

/* Why the executor running job died, for its result. */
static int death_message(const running *job, int64_t status, int sig, char *msg, size_t n)
{
    char beat[32];
    if (job->cancelled)
        snprintf(msg, n, "%s stopped: its run was cancelled (attempt %u)", job->type,
                 job->attempt);
    else if (job->hung)
        snprintf(msg, n, "no heartbeat for %s from %s; executor killed (attempt %u)",
                 units_format_ms((int64_t)job->heartbeat_ms, beat, sizeof beat), job->type,
                 job->attempt);
    else if (job->timed_out)
        snprintf(msg, n, "%s timed out; executor killed (attempt %u)", job->type, job->attempt);
    else if (sig)
        snprintf(msg, n, "executor killed by %s running %s, attempt %u", strsignal(sig),
                 job->type, job->attempt);
    else
        snprintf(msg, n, "executor exited with status %lld running %s, attempt %u",
                 (long long)status, job->type, job->attempt);
    return job->cancelled                  ? ERRC_CANCELLED
           : job->timed_out || job->hung ? ERRC_TIMEOUT
                                           : ERRC_CRASH;
}

/* The slot's attempt died with its executor. */
static void conclude_death(slot *sl, int64_t status, int sig)
{
    char msg[512];
    int cls = death_message(sl->job, status, sig, msg, sizeof msg);
    char *oom = NULL;
    if (leave_cgroup(sl->job, 0) && cls == ERRC_CRASH)
        oom = oom_message(sl->job, msg);
    log_warn("slot %d: %s", sl->index, oom ? oom : msg);
    /* The log the executor that died had written. */
    char *log = NULL;
    size_t loglen = 0;
    if (fs_read_file(sl->job->log_path, LOG_CAP, &log, &loglen, NULL) < 0)
        loglen = 0;
    slot_conclude(sl, 0, cls, oom ? oom : msg, NULL, (uint8_t *)log, loglen);
    free(log);
    free(oom);
}

static void on_exec_exit(uv_process_t *p, int64_t status, int sig)
{
    execproc *ep = p->data;
    ep->exited = 1;
    slot *sl = ep->slot;
    /* What was staged on it first, which it claimed only after writing its running
     * attempt's result, then that result. */
    if (sl) {
        ep->claimed = stage_executor_died(sl, ep);
        drain_output(ep);
    }
    running *claimed = ep->claimed; /* (its result did not come) */
    ep->claimed = NULL;
    close_execproc(ep);
    if (!sl)
        return;
    sl->ep = NULL;
    ep->slot = NULL;
    worker *w = sl->w;
    if (sl->job && sl->job->phase == JOB_RUNNING)
        conclude_death(sl, status, sig);
    else if (!w->stopping && !claimed)
        log_warn("slot %d: idle executor exited (status %lld, signal %d); replacing it",
                 sl->index, (long long)status, sig);
    if (claimed) { /* the staged attempt it had started after the last */
        sl->job = claimed;
        conclude_death(sl, status, sig);
    }
    if (!w->stopping)
        exec_spawn(sl);
}

void exec_spawn(slot *sl)
{
    worker *w = sl->w;
    execproc *ep = xcalloc(1, sizeof *ep);
    framebuf_init(&ep->fb, FRAME_MAX);
    ep->slot = sl;
    ep->proc.data = ep->in.data = ep->out.data = ep;
    uv_pipe_init(&w->loop, &ep->in, 0);
    uv_pipe_init(&w->loop, &ep->out, 0);
    ep->open_handles = 3;
    uv_stdio_container_t stdio[4] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&ep->in},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ep->out},
        {.flags = UV_INHERIT_FD, .data.fd = 2},
        {.flags = UV_INHERIT_FD, .data.fd = -1}};
    int word_fd;
    if (!(ep->staged = stageword_new(&word_fd)))
        log_warn("slot %d: cannot share a page with its executor (%s): it takes no staged "
                 "attempts", sl->index, strerror(errno));
    stdio[3].data.fd = word_fd;
    char *args[] = {w->executor, "--staging", "3", NULL};
    if (!ep->staged)
        args[1] = NULL;
    uv_process_options_t opt = {.exit_cb = on_exec_exit, .file = w->executor, .args = args,
                                .stdio = stdio, .stdio_count = ep->staged ? 4 : 3};
    int rc = uv_spawn(&w->loop, &ep->proc, &opt);
    if (word_fd >= 0)
        close(word_fd);
    if (rc < 0) {
        log_error("cannot start %s: %s", w->executor, uv_strerror(rc));
        /* The process handle must still be closed. */
        close_execproc(ep);
        sl->ep = NULL;
        return;
    }
    uv_read_start((uv_stream_t *)&ep->out, alloc_cb, on_exec_read);
    sl->ep = ep;
    slot_take_queued(w);
}

void slots_start(worker *w)
{
    for (uint32_t i = 0; i < w->nslots; i++) {
        slot *sl = &w->slots[i];
        sl->w = w;
        sl->index = (int)i;
        sl->log_path = xasprintf("%s/logs/slot-%d.log", w->work_dir, sl->index);
        uv_timer_init(&w->loop, &sl->timer);
        sl->timer.data = sl;
        uv_timer_init(&w->loop, &sl->beat);
        sl->beat.data = sl;
        exec_spawn(sl);
    }
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
    if (!sl->job || !sl->ep || sl->job->phase != JOB_RUNNING || stage_clear(sl) < 0)
        return; /* (claimed what was staged: the attempt has ended) */
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

int exec_gpu_names(const worker *w, const running *job, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    if ((uint32_t)__builtin_popcountll(job->gpu_mask) != job->gpus)
        return -1;
    for (size_t i = 0; i < 64 && job->gpu_mask >> i && off < n; i++) {
        if (!(job->gpu_mask & (UINT64_C(1) << i)))
            continue;
        if (i >= w->ngpus)
            return -1;
        off += (size_t)snprintf(buf + off, n - off, "%s%s", off ? "," : "", w->gpu_ids[i]);
    }
    return off < n ? 0 : -1;
}

/* ---- heartbeats ---- */

/* Whether job's log changed since it was last looked at: the attempt wrote to it, or its
 * plugin touched it (weft_heartbeat). */
static int log_changed(running *job)
{
    struct stat st;
    if (stat(job->log_path, &st) < 0)
        return 0;
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (st.st_size == job->log_size && mtime == job->log_mtime_ns)
        return 0;
    job->log_size = st.st_size;
    job->log_mtime_ns = mtime;
    return 1;
}

/* A running attempt whose log stayed unchanged for its heartbeat interval is hung: killed
 * at once (a hung plugin would not heed SIGTERM), it fails as timeout. */
static void beat_check(uv_timer_t *t)
{
    slot *sl = t->data;
    running *job = sl->job;
    if (!job || job->phase != JOB_RUNNING || !sl->ep || job->stopping || job->hung)
        return;
    uint64_t now = uv_now(t->loop);
    if (log_changed(job)) {
        job->alive_ms = now;
    } else if (now - job->alive_ms >= job->heartbeat_ms && stage_clear(sl) == 0) {
        job->hung = 1;
        log_warn("slot %d: %s (attempt %llu) gave no sign of life for %llu ms; killing it",
                 sl->index, job->task, (unsigned long long)job->attempt_id,
                 (unsigned long long)job->heartbeat_ms);
        uv_timer_stop(t);
        uv_process_kill(&sl->ep->proc, SIGKILL);
    }
}

/* Watches the slot's attempt's log, four times per heartbeat interval (every 25 ms to 1 s),
 * when it has one. */
static void beat_start(slot *sl)
{
    running *job = sl->job;
    if (!job->heartbeat_ms)
        return;
    job->alive_ms = uv_now(&sl->w->loop);
    log_changed(job);
    uint64_t every = job->heartbeat_ms / 4;
    every = every < 25 ? 25 : every > 1000 ? 1000 : every;
    uv_timer_start(&sl->beat, beat_check, every, every);
}

/* Puts the slot's executor in a cgroup of its attempt's budget, when it has one and the
 * worker makes them. -1 when that failed (the attempt has failed then). */
static int enter_cgroup(slot *sl)
{
    running *job = sl->job;
    if (!sl->w->cgroups || (!job->mem_bytes && !job->cpu_milli))
        return 0;
    weft_err err = {0};
    job->cg = cg_attempt_new(sl->w->cgroups, job->attempt_id, job->mem_bytes, job->cpu_milli,
                             &err);
    if (job->cg && cg_attempt_enter(job->cg, sl->ep->proc.pid, &err) == 0)
        return 0;
    cg_attempt_end(&job->cg, sl->ep->proc.pid);
    char *msg = xasprintf("cannot give the attempt its cgroup on worker %s: %s", sl->w->name,
                          err.msg);
    slot_conclude(sl, 0, ERRC_TRANSIENT, msg, NULL, NULL, 0);
    free(msg);
    return -1;
}

int exec_write(slot *sl, running *job, const char *gpus, const queued *staged)
{
    Weft__ExecRequest rq = WEFT__EXEC_REQUEST__INIT;
    rq.attempt_id = job->attempt_id;
    rq.type = job->type;
    rq.plugin = (char *)job->plugin;
    rq.inputs_json = job->inputs;
    rq.log_path = (char *)job->log_path;
    rq.run_id = job->run_id;
    rq.task = job->task;
    rq.attempt = job->attempt;
    rq.workdir = job->workdir;
    rq.store = job->store;
    rq.inline_max = job->inline_max;
    rq.checkpoint_json = job->checkpoint_in;
    if (staged) {
        rq.staged = staged->word + 1;
        rq.stage_token = staged->token;
    }
    rq.gpus = (char *)gpus;
    rq.gpu_milli = job->gpu_milli;
    /* A cgroup holds the whole process tree to the budget; without one, the executor
     * limits its own address space. */
    rq.mem_bytes = job->cg ? 0 : job->mem_bytes;
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
        return -1;
    }
    return 0;
}

void exec_watch(slot *sl)
{
    sl->job->begun_ms = uv_now(&sl->w->loop);
    if (sl->job->timeout_ms)
        uv_timer_start(&sl->timer, kill_step, sl->job->timeout_ms, 0);
    beat_start(sl);
}

void exec_start(slot *sl)
{
    running *job = sl->job;
    job->phase = JOB_RUNNING;
    if (!sl->ep) {
        slot_conclude(sl, 0, ERRC_CRASH, "no executor available on this worker", NULL, NULL, 0);
        return;
    }
    char gpus[EXEC_GPU_NAMES_MAX];
    if (exec_gpu_names(sl->w, job, gpus, sizeof gpus) < 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "the scheduler gave %u GPUs as devices 0x%llx, and worker %s "
                 "has %zu", job->gpus, (unsigned long long)job->gpu_mask, sl->w->name,
                 sl->w->ngpus);
        slot_conclude(sl, 0, ERRC_TRANSIENT, msg, NULL, NULL, 0);
        return;
    }
    if (enter_cgroup(sl) < 0)
        return;
    /* Nothing of an earlier attempt is streamed or reported as this one's log. */
    int rc = sl->ep->log_held ? 0 : slotlog_reset(job->log_path);
    if (rc < 0)
        log_warn("slot %d: cannot empty its log file %s: %s", sl->index, job->log_path,
                 strerror(-rc));
    sl->ep->log_held = 0;
    if (exec_write(sl, job, gpus, NULL) < 0) {
        uv_process_kill(&sl->ep->proc, SIGKILL); /* on_exec_exit reports the crash */
        return;
    }
    exec_watch(sl);
}

void exec_cancel(slot *sl)
{
    if (stage_clear(sl) < 0)
        return; /* the attempt has ended: its result is on the way */
    sl->job->cancelled = 1;
    uv_process_kill(&sl->ep->proc, SIGUSR1);
    uv_timer_start(&sl->timer, kill_step, KILL_GRACE_MS, 0);
}

/* ---- teardown ---- */

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

void slots_stop(worker *w)
{
    int alive = 0;
    for (uint32_t i = 0; i < w->nslots; i++) {
        execproc *ep = w->slots[i].ep;
        if (!ep)
            continue;
        alive = 1;
        if (w->slots[i].job && w->slots[i].job->phase == JOB_RUNNING)
            uv_process_kill(&ep->proc, SIGKILL);
        if (!uv_is_closing((uv_handle_t *)&ep->in))
            uv_close((uv_handle_t *)&ep->in, on_handle_closed);
    }
    if (alive) {
        uv_timer_stop(&w->heartbeat);
        uv_timer_start(&w->heartbeat, on_grace_expired, KILL_GRACE_MS, 0);
    }
    for (;;) {
        alive = 0;
        for (uint32_t i = 0; i < w->nslots; i++)
            alive |= w->slots[i].ep != NULL;
        if (!alive)
            break;
        uv_run(&w->loop, UV_RUN_ONCE);
    }
    for (uint32_t i = 0; i < w->nslots; i++) {
        slot_free_job(w, w->slots[i].job);
        w->slots[i].job = NULL;
    }
    /* Queued ones never started: the scheduler fails them with the worker. */
    for (uint32_t i = 0; i < w->nqueued; i++) {
        w->queue[i].job->removed = 1; /* it never ran */
        slot_free_job(w, w->queue[i].job);
    }
    w->nqueued = 0;
}
