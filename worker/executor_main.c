/* weft-executor: runs task attempts for one worker slot, one at a time.
 *
 *   weft-executor --describe PATH   print the plugins found on PATH as JSON and exit
 *   weft-executor [--staging FD]    serve: read ExecRequest frames on stdin, write
 *                                   ExecResult frames on stdout, until stdin closes; with
 *                                   FD (a memfd of the slot's staging words), run a staged
 *                                   request only when it claims it (worker/staging.c)
 *
 * The executor is the only weft process that dlopens plugins. Plugins are loaded lazily, on
 * the first task that needs them, and stay loaded (with their open() state) for the life of
 * the executor. During a task, file descriptors 1 and 2 point at the task's log file, so
 * anything a plugin or its child processes print lands in the log; the frame channel uses
 * private duplicates of the original stdin and stdout. Between tasks they point at /dev/null
 * and the executor's own stderr, or still at the slot's log file when the executor holds it
 * (anything that lands there in between goes to its stderr when the next task starts). No
 * libzmq here, by design. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/frame.h"
#include "common/fsutil.h"
#include "common/strmap.h"
#include "catalog/store.h"
#include "common/xmem.h"
#include "weft.pb-c.h"
#include "worker/execio.h"
#include "worker/host.h"
#include "worker/plugload.h"
#include "worker/stageword.h"

#define LOG_CAP (1u << 20) /* the largest task log returned with a result */

typedef struct executor {
    int in_fd, out_fd;   /* frame channel */
    framebuf in;         /* what was read of in_fd */
    int err_fd;          /* the executor's own stderr, restored between tasks */
    int null_fd;         /* /dev/null */
    int log_fd;          /* the slot's log file, held from one attempt to the next, or -1 */
    char *log_path;      /* its path */
    dev_t log_dev;       /* and its identity */
    ino_t log_ino;
    exec_usage usage;    /* what the running attempt has used */
    strmap *plugins;     /* .so path -> plug* */
    strmap *states;      /* task type name -> open() state (NULL values are absent) */
    strmap *opened;      /* task type name -> plug* whose type was opened */
    store *store;        /* the artifact store of the last request */
    stageword *staged;   /* the staging words shared with the worker, or NULL */
} executor;

/* Lets go of the slot's log file: fds 1 and 2 point where they do between attempts. */
static void release_log(executor *ex)
{
    if (ex->log_fd < 0)
        return;
    dup2(ex->null_fd, 1);
    dup2(ex->err_fd, 2);
    close(ex->log_fd);
    ex->log_fd = -1;
    free(ex->log_path);
    ex->log_path = NULL;
}

static void on_sigusr1(int sig)
{
    (void)sig;
    host_request_cancel();
}

/* Limits the address space for one attempt to what the executor uses now plus bytes
 * (resources.mem), so a plugin that allocates past it gets NULL from malloc instead of
 * taking the machine down. Returns 1 when it set a limit, *old then holding the one to
 * restore afterwards. Sanitizer builds reserve terabytes of shadow memory, so there the
 * limit is only logged. */
static int limit_memory(uint64_t bytes, struct rlimit *old)
{
    if (!bytes)
        return 0;
#if defined(__SANITIZE_ADDRESS__)
    (void)old;
    dprintf(2, "weft: memory limit of %llu bytes not enforced in a sanitizer build\n",
            (unsigned long long)bytes);
    return 0;
#else
    getrlimit(RLIMIT_AS, old);
    long pages = 0, page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    struct rlimit lim = *old;
    rlim_t want = (rlim_t)pages * (rlim_t)page + (rlim_t)bytes;
    lim.rlim_cur = old->rlim_max != RLIM_INFINITY && want > old->rlim_max ? old->rlim_max : want;
    if (setrlimit(RLIMIT_AS, &lim) < 0) {
        dprintf(2, "weft: cannot limit memory to %llu bytes: %s\n", (unsigned long long)bytes,
                strerror(errno));
        return 0;
    }
    return 1;
#endif
}

/* The store a request names, opened once and kept while requests name the same one. */
static store *request_store(executor *ex, const char *location)
{
    if (!location || !*location)
        return NULL;
    if (ex->store && strcmp(ex->store->location, location) == 0)
        return ex->store;
    store_close(&ex->store);
    weft_err err = {0};
    if (store_open(location, &ex->store, &err) < 0)
        dprintf(2, "weft: %s\n", err.msg);
    return ex->store;
}

static const weft_task_type *find_type(executor *ex, const char *so, const char *name,
                                       const char **plugin, weft_err *err)
{
    plug *p = strmap_get(ex->plugins, so);
    if (!p) {
        if (plug_load(so, host_table(), &p, err) < 0)
            return NULL;
        strmap_put(ex->plugins, so, p);
    }
    *plugin = p->desc->name;
    const weft_task_type *t = plug_find_type(p, name);
    if (!t)
        err_set(err, WEFT_ENOTFOUND, "plugin '%s' does not provide task type '%s'", so, name);
    return t;
}

/* Tells the worker about a checkpoint while the attempt goes on. */
typedef struct checkpoint_note {
    executor *ex;
    uint64_t attempt_id;
} checkpoint_note;

static void send_checkpoint(void *arg, const char *ref_json)
{
    const checkpoint_note *note = arg;
    Weft__ExecResult res = WEFT__EXEC_RESULT__INIT;
    res.attempt_id = note->attempt_id;
    res.interim = 1;
    res.checkpoint_json = (char *)ref_json;
    size_t n = weft__exec_result__get_packed_size(&res);
    uint8_t *out = xmalloc(n);
    weft__exec_result__pack(&res, out);
    if (frame_write(note->ex->out_fd, out, n) < 0)
        dprintf(note->ex->err_fd, "weft-executor: cannot report a checkpoint to the worker\n");
    free(out);
}

/* Sets name to value in this process's environment (value NULL: removes it), only when it
 * differs: glibc's unsetenv compares every variable, which an attempt that changes nothing
 * need not pay for. */
static void env_put(const char *name, const char *value)
{
    const char *cur = getenv(name);
    if (!value) {
        if (cur)
            unsetenv(name);
    } else if (!cur || strcmp(cur, value)) {
        setenv(name, value, 1);
    }
}

/* The task's secrets go into this process's environment for the task only, where plugins
 * read them (embed.encode's api_key_env) and `shell` passes them to its child (their names
 * join WEFT_PASS_ENV). Returns the WEFT_PASS_ENV to restore (caller passes it back); a task
 * without secrets leaves the environment alone. */
static char *set_secrets(const Weft__ExecRequest *rq)
{
    if (!rq->n_secrets)
        return NULL;
    const char *old = getenv("WEFT_PASS_ENV");
    char *saved = old ? xstrdup(old) : NULL;
    size_t cap = (old ? strlen(old) : 0) + 1;
    for (size_t i = 0; i < rq->n_secrets; i++)
        cap += strlen(rq->secrets[i]->name) + 1;
    char *list = xmalloc(cap);
    size_t off = (size_t)snprintf(list, cap, "%s", old ? old : "");
    for (size_t i = 0; i < rq->n_secrets; i++) {
        setenv(rq->secrets[i]->name, rq->secrets[i]->value, 1);
        off += (size_t)snprintf(list + off, cap - off, "%s%s", off ? "," : "",
                                rq->secrets[i]->name);
    }
    setenv("WEFT_PASS_ENV", list, 1);
    free(list);
    return saved;
}

static void unset_secrets(const Weft__ExecRequest *rq, char *passed)
{
    if (!rq->n_secrets)
        return;
    for (size_t i = 0; i < rq->n_secrets; i++)
        unsetenv(rq->secrets[i]->name);
    env_put("WEFT_PASS_ENV", passed);
    free(passed);
}

/* The attempt sees only its GPUs (none when it asked for none): CUDA_VISIBLE_DEVICES and
 * WEFT_GPUS are its list, WEFT_GPU_SHARE its share of one ("0.25"), if any. They stay until
 * the next attempt sets its own: every attempt sets all three. The processes a task starts
 * honour them; a plugin computing in the executor's own process sees the list its first
 * CUDA initialisation read (CUDA reads it once). */
static void set_gpus(const Weft__ExecRequest *rq)
{
    env_put("CUDA_VISIBLE_DEVICES", rq->gpus);
    env_put("WEFT_GPUS", rq->gpus);
    char share[16] = "";
    if (*rq->gpus && rq->gpu_milli && rq->gpu_milli < 1000) {
        snprintf(share, sizeof share, "0.%03u", rq->gpu_milli);
        while (share[strlen(share) - 1] == '0')
            share[strlen(share) - 1] = '\0';
    }
    env_put("WEFT_GPU_SHARE", *share ? share : NULL);
}

/* Blobs of the outcome as the result's (borrowing them; caller frees *storage and the
 * array). */
static Weft__Blob **result_blobs(const host_outcome *out, Weft__Blob **storage)
{
    Weft__Blob **v = xcalloc(out->nblobs + 1, sizeof *v);
    *storage = xcalloc(out->nblobs + 1, sizeof **storage);
    for (size_t i = 0; i < out->nblobs; i++) {
        Weft__Blob *b = &(*storage)[i];
        weft__blob__init(b);
        b->hash = (char *)out->blobs[i].hex;
        b->data.data = (uint8_t *)out->blobs[i].data;
        b->data.len = out->blobs[i].len;
        v[i] = b;
    }
    return v;
}

/* Whether fd is the held log file; *size then its size. */
static int is_held_log(const executor *ex, int fd, off_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_dev != ex->log_dev || st.st_ino != ex->log_ino)
        return 0;
    *size = st.st_size;
    return 1;
}

/* What reached the held log between attempts (from a thread of a plugin's own) is no
 * attempt's: its last STRAY_MAX bytes go where the executor's own messages go, and the log
 * is empty again. Returns -1 when it could not be emptied. */
#define STRAY_MAX (64u << 10)
static int move_stray_output(executor *ex, off_t size)
{
    if (size == 0)
        return 0;
    off_t at = size > (off_t)STRAY_MAX ? size - (off_t)STRAY_MAX : 0;
    if (at)
        dprintf(ex->err_fd, "weft-executor: %lld bytes a plugin wrote between attempts, "
                "the last %u:\n", (long long)size, STRAY_MAX);
    char buf[4096];
    ssize_t n;
    for (; at < size && (n = pread(ex->log_fd, buf, sizeof buf, at)) > 0; at += n)
        if (write(ex->err_fd, buf, (size_t)n) < 0)
            break;
    return ftruncate(ex->log_fd, 0);
}

/* Points fds 1 and 2 at the slot's log file at path for an attempt: the one held since the
 * last attempt, at which they point still, else the file opened (made when its worker or
 * the executor removed it). Its fd, or -1 when it cannot be opened. */
static int attempt_log(executor *ex, const char *path)
{
    if (ex->log_fd >= 0 && !strcmp(ex->log_path, path)) {
        off_t size, size2;
        if (is_held_log(ex, 1, &size) && is_held_log(ex, 2, &size2) &&
            move_stray_output(ex, size) == 0)
            return ex->log_fd;
        /* A plugin moved fds 1 or 2, or the file could not be emptied: a new one, never
         * this attempt's with what the held one may hold. */
        unlink(ex->log_path);
    }
    release_log(ex);
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    dup2(fd, 1);
    dup2(fd, 2);
    ex->log_fd = fd;
    ex->log_path = xstrdup(path);
    ex->log_dev = st.st_dev;
    ex->log_ino = st.st_ino;
    return fd;
}

/* Whether no process the executor started, or adopted (it is their subreaper), is left.
 * Those that ended are waited for; what they used is no attempt's (nor was it when they
 * went to init), so the next attempt's start reads the children's usage again. */
static int no_children_left(executor *ex)
{
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
        exec_usage_waited(&ex->usage);
    return pid < 0 && errno == ECHILD;
}

/* Runs rq into res, whose strings and blobs point into *outputs_text, *log, msg and out
 * (the caller frees them after sending res). */
static void run_request(executor *ex, const Weft__ExecRequest *rq, Weft__ExecResult *res,
                        char **outputs_text, uint8_t **log, char *msg, size_t msgcap,
                        host_outcome *outcome)
{
    weft_err err = {0};
    host_outcome out = {0};
    int opened = 0; /* an open() ran, which may have made the scratch directory */
    /* The slot's log: empty, held since the last attempt, or emptied (or removed) by the
     * worker for this one. */
    int logfd = attempt_log(ex, rq->log_path);
    const char *plugin = NULL;
    /* Before a plugin is loaded too: one that initialises CUDA as it loads, or in open(),
     * sees only the attempt's GPUs. */
    set_gpus(rq);
    const weft_task_type *type = find_type(ex, rq->plugin, rq->type, &plugin, &err);
    json_error_t jerr;
    json_t *inputs = type ? json_loads(rq->inputs_json, 0, &jerr) : NULL;
    json_t *checkpoint = rq->checkpoint_json && rq->checkpoint_json[0]
                         ? json_loads(rq->checkpoint_json, 0, NULL) : NULL;
    if (!type) {
        out.status = WEFT_FAIL;
        snprintf(out.msg, sizeof out.msg, "%s", err.msg);
    } else if (!json_is_object(inputs)) {
        out.status = WEFT_FAIL;
        snprintf(out.msg, sizeof out.msg, "inputs are not a JSON object: %s", jerr.text);
    } else {
        char run[32], attempt[16];
        snprintf(run, sizeof run, "%llu", (unsigned long long)rq->run_id);
        snprintf(attempt, sizeof attempt, "%u", rq->attempt);
        checkpoint_note note = {ex, rq->attempt_id};
        exec_usage_start(&ex->usage);
        host_task t = {.type = type, .plugin = plugin, .inputs = inputs, .run = run,
                       .task = rq->task, .attempt = attempt, .workdir = rq->workdir,
                       .log_fd = logfd >= 0 ? logfd : 2,
                       .state = strmap_get(ex->states, rq->type),
                       .store = request_store(ex, rq->store), .checkpoint = checkpoint,
                       .inline_max = rq->inline_max,
                       .saved = send_checkpoint, .saved_arg = &note};
        if (type->open && !strmap_get(ex->opened, rq->type)) {
            /* open() runs once per executor; its failure fails this task, and the next task
             * of the type tries again. */
            opened = 1;
            if (host_open(&t, &t.state, out.msg, sizeof out.msg) == WEFT_OK) {
                strmap_put(ex->states, rq->type, t.state);
                strmap_put(ex->opened, rq->type, (void *)type);
            } else {
                out.status = WEFT_FAIL;
            }
        }
        if (out.status == WEFT_OK) {
            struct rlimit old;
            int limited = limit_memory(rq->mem_bytes, &old);
            char *passed = set_secrets(rq);
            host_run(&t, &out);
            unset_secrets(rq, passed);
            if (limited)
                setrlimit(RLIMIT_AS, &old);
        }
        fflush(stdout); /* what a plugin printed is its attempt's log, not a later one's */
        exec_usage_end(&ex->usage, &res->cpu_us, &res->peak_mem_bytes);
    }
    json_decref(inputs);
    json_decref(checkpoint);
    if (out.status != WEFT_OK)
        dprintf(2, "weft: %s\n", out.msg);
    size_t loglen;
    /* The whole log goes with the result: nothing of the attempt is needed on disk any
     * more, and the executor removes its scratch directory (when it made one) here rather
     * than its worker's loop. The log file stays for the slot's next attempt. */
    if (execlog_finish(logfd, LOG_CAP, log, &loglen)) {
        if (out.workdir_made || opened)
            fs_remove_tree(rq->workdir);
        res->removed = 1;
    }
    /* Emptied, and nothing but the executor can write to it: held for the next attempt,
     * fds 1 and 2 pointing at it, which the worker then hands over without emptying it
     * (worker/slotlog.h). Otherwise let go, so its check sees only the processes left. */
    res->log_held = logfd >= 0 && res->removed && no_children_left(ex);
    if (!res->log_held)
        release_log(ex);

    res->attempt_id = rq->attempt_id;
    res->ok = out.status == WEFT_OK;
    res->error_class = out.status == WEFT_OK      ? WEFT__ERROR_CLASS__ERROR_NONE
                       : out.status == WEFT_RETRY ? WEFT__ERROR_CLASS__ERROR_TRANSIENT
                                                  : WEFT__ERROR_CLASS__ERROR_FATAL;
    snprintf(msg, msgcap, "%s", out.msg);
    res->message = msg;
    *outputs_text = out.outputs ? json_dumps(out.outputs, JSON_COMPACT) : xstrdup("{}");
    res->outputs_json = *outputs_text;
    json_decref(out.outputs);
    out.outputs = NULL;
    *outcome = out;
    res->log.data = *log;
    res->log.len = loglen;
}

/* Whether the executor runs a staged request (worker/staging.c): only while it holds the
 * slot's log, as its last result said, and when it takes the request's token from its
 * staging word before the worker does (which took the attempt back). */
static int claim(executor *ex, const Weft__ExecRequest *rq)
{
    return ex->staged && ex->log_fd >= 0 && rq->staged <= STAGE_WORDS && rq->stage_token &&
           stageword_take(ex->staged, rq->staged - 1, rq->stage_token);
}

static int serve(executor *ex)
{
    for (;;) {
        const uint8_t *buf;
        size_t len;
        int rc = frame_read(ex->in_fd, &ex->in, &buf, &len);
        if (rc == 1)
            return 0; /* the worker closed our stdin: exit cleanly */
        if (rc < 0) {
            dprintf(ex->err_fd, "weft-executor: bad frame from worker (%s)\n", err_name(rc));
            return 1;
        }
        Weft__ExecRequest *rq = weft__exec_request__unpack(NULL, len, buf);
        if (!rq) {
            dprintf(ex->err_fd, "weft-executor: undecodable request from worker\n");
            return 1;
        }
        if (rq->staged && !claim(ex, rq)) {
            weft__exec_request__free_unpacked(rq, NULL);
            continue;
        }
        /* A cancel that came before this request is an earlier attempt's, which had ended,
         * and is forgotten; except for a staged one, which the worker may have cancelled
         * already: a cancel since the last attempt ended is its (for the last, the worker
         * signals only after taking the staged one back, which it then is not). */
        if (!rq->staged)
            host_reset_cancel();
        Weft__ExecResult res = WEFT__EXEC_RESULT__INIT;
        char *outputs = NULL, msg[1024];
        uint8_t *log = NULL;
        host_outcome outcome = {0};
        res.started_us = clock_wall_us();
        run_request(ex, rq, &res, &outputs, &log, msg, sizeof msg, &outcome);
        res.finished_us = clock_wall_us();
        host_reset_cancel(); /* (before the result: the worker may cancel the next at once) */
        Weft__Blob *blob_storage;
        res.blobs = result_blobs(&outcome, &blob_storage);
        res.n_blobs = outcome.nblobs;
        size_t n = weft__exec_result__get_packed_size(&res);
        uint8_t *out = xmalloc(n);
        weft__exec_result__pack(&res, out);
        rc = frame_write(ex->out_fd, out, n);
        free(out);
        free(res.blobs);
        free(blob_storage);
        host_outcome_free_blobs(&outcome);
        free(outputs);
        free(log);
        weft__exec_request__free_unpacked(rq, NULL);
        if (rc < 0)
            return 1;
    }
}

static void unload_all(executor *ex)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next(ex->opened, &pos, &k, &v)) {
        const weft_task_type *t = v;
        if (t->close)
            t->close(strmap_get(ex->states, k));
    }
    pos = 0;
    while (strmap_next(ex->plugins, &pos, &k, &v)) {
        plug *p = v;
        plug_unload(&p);
    }
    strmap_destroy(&ex->plugins);
    strmap_destroy(&ex->states);
    strmap_destroy(&ex->opened);
    store_close(&ex->store);
}

static int describe(const char *path)
{
    json_t *d = plug_describe_path(path, host_table());
    char *s = json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(d);
    return 0;
}

/* The staging words in the memfd numbered fd_text (its descriptor closed), or NULL. */
static stageword *map_staging(const char *fd_text)
{
    char *end = (char *)fd_text;
    long fd = isdigit((unsigned char)*fd_text) ? strtol(fd_text, &end, 10) : -1;
    if (*end || fd < 3 || fd > INT32_MAX) {
        errno = EBADF;
        return NULL;
    }
    return stageword_map((int)fd);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--describe") == 0)
        return describe(argv[2]);
    stageword *staged = NULL;
    if (argc == 3 && strcmp(argv[1], "--staging") == 0 && !(staged = map_staging(argv[2]))) {
        fprintf(stderr, "weft-executor: --staging %s: not a shared page: %s\n", argv[2],
                strerror(errno));
        return 2;
    }
    if (argc != 1 && !staged) {
        fprintf(stderr, "usage: weft-executor [--describe PLUGIN_PATH | --staging FD]\n");
        return 2;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* What an attempt's processes leave running comes back to the executor, which can then
     * tell whether any is left (no_children_left). */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGUSR1, on_sigusr1);

    executor ex = {.log_fd = -1, .staged = staged};
    ex.in_fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
    ex.out_fd = fcntl(1, F_DUPFD_CLOEXEC, 3);
    ex.err_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    ex.null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    exec_usage_open(&ex.usage, ex.err_fd);
    if (ex.in_fd < 0 || ex.out_fd < 0 || ex.err_fd < 0 || ex.null_fd < 0) {
        perror("weft-executor: setting up descriptors");
        return 1;
    }
    dup2(ex.null_fd, 0);
    dup2(ex.null_fd, 1);
    framebuf_init(&ex.in, FRAME_MAX);
    ex.plugins = strmap_new();
    ex.states = strmap_new();
    ex.opened = strmap_new();
    int rc = serve(&ex);
    release_log(&ex);
    unload_all(&ex);
    exec_usage_close(&ex.usage);
    stageword_free(ex.staged);
    framebuf_free(&ex.in);
    return rc;
}
