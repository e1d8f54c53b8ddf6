/* shell: run a program from an argv list, never through a shell unless the user writes
 * ["sh", "-c", ...] themselves.
 *
 * The child's environment is built from an allow-list, never the worker's whole environment
 * (which may hold credentials): PATH, HOME, LANG, LC_ALL, TZ, TMPDIR, and the attempt's GPUs
 * (CUDA_VISIBLE_DEVICES, WEFT_GPUS, WEFT_GPU_SHARE for a share of one) from the executor's,
 * the variables the worker's operator names in WEFT_PASS_ENV (weft-worker --pass-env),
 * then `env` and WEFT_RUN, WEFT_TASK, WEFT_ATTEMPT, WEFT_OUT. An `env` value that is an
 * artifact (a file or dir parameter or output) arrives as the local path of its verified,
 * read-only content. With `outputs_dir: true`, the
 * files the command leaves in $WEFT_OUT become the `files` output (a dir artifact). Its
 * stderr goes straight to the task log; its stdout is copied to the task log and captured
 * (first 1 MiB, trailing newlines removed) as the `stdout` output. With `stdout: json` or
 * `stdout: lines`, the task's declared outputs (outputs: {name: type}, which arrive as the
 * `outputs` input) are made from it: json takes each from the member of the same name of the
 * object printed; lines makes the one list<string> declared of its lines. Exit status
 * 0 succeeds; 75 (EX_TEMPFAIL) is a transient failure; any other status or a signal is fatal.
 * `timeout` kills the child's whole process group and reports a transient failure. */
#include "plugins/builtin/shell.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define STDOUT_CAP (1u << 20)
#define MAX_ARGS 4096

extern char **environ;

/* A NULL-terminated vector of owned strings. */
typedef struct strv {
    char **v;
    size_t n, cap;
} strv;

/* v in its shortest form that reads back as the same double, into buf. */
static const char *shortest(double v, char *buf, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

static void strv_push(strv *s, char *str)
{
    if (s->n + 2 > s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            abort();
    }
    s->v[s->n++] = str;
    s->v[s->n] = NULL;
}

static void strv_free(strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static char *dup_or_die(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

/* Sets NAME=value in env, replacing an existing NAME. */
static void env_set(strv *env, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    char *kv = malloc(nl + vl + 2);
    if (!kv)
        abort();
    memcpy(kv, name, nl);
    kv[nl] = '=';
    memcpy(kv + nl + 1, value, vl + 1);
    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->v[i], name, nl) == 0 && env->v[i][nl] == '=') {
            free(env->v[i]);
            env->v[i] = kv;
            return;
        }
    }
    strv_push(env, kv);
}

/* Whether the executor's variable NAME=... (kv) may reach the child: one of the few every
 * program needs, or one the worker's operator listed in WEFT_PASS_ENV (comma-separated). */
static int passed_on(const char *kv)
{
    static const char *const always[] = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR",
                                         "CUDA_VISIBLE_DEVICES", "WEFT_GPUS", "WEFT_GPU_SHARE"};
    size_t n = strcspn(kv, "=");
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
        if (strlen(always[i]) == n && !strncmp(kv, always[i], n))
            return 1;
    const char *list = getenv("WEFT_PASS_ENV");
    for (const char *p = list; p && *p; p += strcspn(p, ","), p += *p == ',') {
        size_t len = strcspn(p, ",");
        if (len == n && !strncmp(kv, p, n))
            return 1;
    }
    return 0;
}

/* Builds the child's environment. Returns WEFT_OK or fails the task. */
static int build_env(weft_ctx *ctx, strv *env, const char *outdir)
{
    for (char **e = environ; *e; e++)
        if (passed_on(*e))
            strv_push(env, dup_or_die(*e));
    env_set(env, "WEFT_RUN", weft_info(ctx, "run"));
    env_set(env, "WEFT_TASK", weft_info(ctx, "task"));
    env_set(env, "WEFT_ATTEMPT", weft_info(ctx, "attempt"));
    env_set(env, "WEFT_OUT", outdir);
    const char *text;
    if (weft_input_json(ctx, "env", &text) != WEFT_OK)
        return WEFT_OK;
    json_t *obj = json_loads(text, 0, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return weft_fail(ctx, "shell: 'env' must be an object of NAME: value");
    }
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char num[64];
        const char *val = NULL;
        if (json_is_object(v) && json_object_get(v, "artifact")) {
            char *ref = json_dumps(v, JSON_COMPACT);
            int got = ref ? weft_artifact_path(ctx, ref, &val) : WEFT_E_INVAL;
            free(ref);
            if (got != WEFT_OK) {
                int rc = weft_fail(ctx, "shell: env '%s': the artifact cannot be read", key);
                json_decref(obj);
                return rc;
            }
        } else if (json_is_string(v))
            val = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), val = num;
        else if (json_is_real(v))
            val = shortest(json_real_value(v), num, sizeof num);
        else if (json_is_boolean(v))
            val = json_is_true(v) ? "true" : "false";
        if (!val || !*key || strchr(key, '=')) {
            int rc = weft_fail(ctx, "shell: env '%s' must be a scalar with a name without '='",
                               key);
            json_decref(obj); /* key points into obj */
            return rc;
        }
        env_set(env, key, val);
    }
    json_decref(obj);
    return WEFT_OK;
}

static int build_argv(weft_ctx *ctx, strv *argv)
{
    size_t n;
    if (weft_input_len(ctx, "argv", &n) != WEFT_OK || n == 0)
        return weft_fail(ctx, "shell: 'argv' must be a non-empty list of strings");
    if (n > MAX_ARGS)
        return weft_fail(ctx, "shell: 'argv' has %zu elements; the limit is %d", n, MAX_ARGS);
    for (size_t i = 0; i < n; i++) {
        const char *a;
        if (weft_input_string_at(ctx, "argv", i, &a) != WEFT_OK)
            return weft_fail(ctx, "shell: argv[%zu] is not a string", i);
        strv_push(argv, dup_or_die(a));
    }
    return WEFT_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The I/O state of a running child. */
typedef struct child_io {
    int in_fd, out_fd;      /* our ends; -1 once closed */
    const char *stdin_data; /* remaining bytes to write */
    size_t stdin_left;
    char *captured;         /* first STDOUT_CAP bytes of stdout */
    size_t ncaptured;
    int truncated;          /* stdout was longer than STDOUT_CAP */
} child_io;

/* Pumps stdin and stdout until stdout closes or the deadline passes. Returns 0, or 1 when
 * the deadline passed or the task was cancelled. */
static int pump(weft_ctx *ctx, child_io *io, int64_t deadline)
{
    char buf[65536];
    while (io->out_fd >= 0) {
        if (weft_cancelled(ctx) || (deadline && now_ms() >= deadline))
            return 1;
        struct pollfd fds[2];
        int nfds = 0;
        fds[nfds++] = (struct pollfd){.fd = io->out_fd, .events = POLLIN};
        if (io->in_fd >= 0)
            fds[nfds++] = (struct pollfd){.fd = io->in_fd, .events = POLLOUT};
        int r = poll(fds, (nfds_t)nfds, 100);
        if (r < 0 && errno != EINTR)
            return 0;
        if (r <= 0)
            continue;
        if (nfds > 1 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = io->stdin_left ? write(io->in_fd, io->stdin_data, io->stdin_left) : 0;
            if (w > 0) {
                io->stdin_data += w;
                io->stdin_left -= (size_t)w;
            }
            if (w < 0 || io->stdin_left == 0) {
                close(io->in_fd);
                io->in_fd = -1;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(io->out_fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                close(io->out_fd);
                io->out_fd = -1;
                break;
            }
            if (write(1, buf, (size_t)n) < 0) {
                /* the task log is best effort */
            }
            size_t room = STDOUT_CAP - io->ncaptured;
            size_t take = (size_t)n < room ? (size_t)n : room;
            memcpy(io->captured + io->ncaptured, buf, take);
            io->ncaptured += take;
            io->truncated |= take < (size_t)n;
        }
    }
    return 0;
}

static int spawn_child(weft_ctx *ctx, strv *argv, strv *env, const char *cwd, int in_rd,
                       int out_wr, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, in_rd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_wr, 1);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&fa, cwd);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    int rc = posix_spawnp(pid, argv->v[0], &fa, &at, argv->v, env->v);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0)
        return weft_fail(ctx, "shell: cannot start '%s'%s%s: %s", argv->v[0],
                         cwd ? " in " : "", cwd ? cwd : "", strerror(rc));
    return WEFT_OK;
}

/* Waits for pid, killing its process group first when kill_it is set. */
static int reap(pid_t pid, int kill_it)
{
    int status = 0;
    if (kill_it)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

/* The outputs the task declares, made from text as lines: one list<string>. */
static int outputs_from_lines(weft_ctx *ctx, const char *prog, json_t *decl, char *text)
{
    const char *name = json_object_size(decl) == 1 ? json_object_iter_key(
                                                         json_object_iter(decl))
                                                   : NULL;
    if (!name || strcmp(json_string_value(json_object_get(decl, name)), "list<string>") != 0)
        return weft_fail(ctx, "shell: stdout: lines makes one output of type list<string>; "
                         "declare outputs: { NAME: list<string> }");
    json_t *list = json_array();
    for (char *line = text, *end; *text && line; line = end ? end + 1 : NULL) {
        end = strchr(line, '\n');
        json_array_append_new(list, json_stringn(line, end ? (size_t)(end - line)
                                                          : strlen(line)));
    }
    char *dump = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    int rc = dump ? weft_output_json(ctx, name, dump) : WEFT_E_INVAL;
    free(dump);
    return rc == WEFT_OK ? WEFT_OK
                         : weft_fail(ctx, "shell: '%s' printed lines that are not valid UTF-8",
                                     prog);
}

/* The outputs the task declares, made from text as a JSON object's members. */
static int outputs_from_json(weft_ctx *ctx, const char *prog, json_t *decl, const char *text)
{
    json_error_t jerr;
    json_t *obj = json_loads(text, 0, &jerr);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return weft_fail(ctx, "shell: '%s' printed no JSON object on stdout (stdout: json)%s%s",
                         prog, obj ? "" : ": ", obj ? "" : jerr.text);
    }
    const char *name;
    json_t *want;
    int rc = WEFT_OK;
    json_object_foreach(decl, name, want) {
        json_t *v = json_object_get(obj, name);
        char *dump = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (!v)
            rc = weft_fail(ctx, "shell: '%s' printed a JSON object without '%s', which the task "
                           "declares (outputs:)", prog, name);
        else if (weft_output_json(ctx, name, dump) != WEFT_OK)
            rc = weft_fail(ctx, "shell: '%s' printed '%s': %.200s, which is not of type %s",
                           prog, name, dump, json_string_value(want));
        free(dump);
        if (rc != WEFT_OK)
            break;
    }
    json_decref(obj);
    return rc;
}

/* The outputs the task declares, made from stdout as its `stdout` input says. */
static int declared_outputs(weft_ctx *ctx, const char *prog, child_io *io)
{
    const char *mode = "text", *decl_text = NULL;
    weft_input_string(ctx, "stdout", &mode);
    weft_input_json(ctx, "outputs", &decl_text);
    int parsed = !strcmp(mode, "json") || !strcmp(mode, "lines");
    if (!parsed && strcmp(mode, "text") != 0)
        return weft_fail(ctx, "shell: unknown stdout: '%s' (use text, json or lines)", mode);
    if (!parsed != !decl_text)
        return weft_fail(ctx, parsed ? "shell: stdout: %s needs the task's outputs: to say what "
                                       "to make"
                                     : "shell: outputs: needs stdout: json or lines (it is %s)",
                         mode);
    if (!parsed)
        return WEFT_OK;
    if (io->truncated)
        return weft_fail(ctx, "shell: '%s' printed more than %u bytes; stdout: %s reads at most "
                         "that", prog, STDOUT_CAP, mode);
    json_t *decl = json_loads(decl_text, 0, NULL);
    int rc = !json_is_object(decl) ? weft_fail(ctx, "shell: input 'outputs' is not an object")
             : mode[0] == 'j'     ? outputs_from_json(ctx, prog, decl, io->captured)
                                  : outputs_from_lines(ctx, prog, decl, io->captured);
    json_decref(decl);
    return rc;
}

static int finish(weft_ctx *ctx, const char *prog, int status, child_io *io)
{
    if (WIFSIGNALED(status))
        return weft_fail(ctx, "shell: '%s' was killed by signal %d (%s)", prog, WTERMSIG(status),
                         strsignal(WTERMSIG(status)));
    int code = WEXITSTATUS(status);
    if (code == 75)
        return weft_retry(ctx, "shell: '%s' exited with status 75 (temporary failure)", prog);
    if (code != 0)
        return weft_fail(ctx, "shell: '%s' exited with status %d", prog, code);
    /* Trailing newlines are removed, as $(...) does, so outputs interpolate cleanly. */
    while (io->ncaptured && io->captured[io->ncaptured - 1] == '\n')
        io->ncaptured--;
    io->captured[io->ncaptured] = '\0';
    if (strlen(io->captured) != io->ncaptured)
        return weft_fail(ctx, "shell: '%s' wrote a NUL byte to stdout; use a file for binary "
                         "output", prog);
    if (weft_output_string(ctx, "stdout", io->captured) != WEFT_OK)
        return weft_fail(ctx, "shell: '%s' wrote stdout that is not valid UTF-8", prog);
    weft_output_int(ctx, "exit_code", code);
    return declared_outputs(ctx, prog, io);
}

int shell_run(weft_ctx *ctx)
{
    strv argv = {0}, env = {0};
    const char *cwd = NULL, *stdin_text = "";
    int64_t timeout_ms = 0;
    weft_input_string(ctx, "cwd", &cwd);
    weft_input_string(ctx, "stdin", &stdin_text);
    weft_input_duration_ms(ctx, "timeout", &timeout_ms);
    char outdir[4096];
    int keep_files = 0;
    const char *staged = NULL;
    weft_input_bool(ctx, "outputs_dir", &keep_files);
    if (keep_files && weft_output_path(ctx, "files", &staged) != WEFT_OK)
        return weft_fail(ctx, "shell: no staging directory for the 'files' output");
    if (staged)
        snprintf(outdir, sizeof outdir, "%s", staged);
    else
        snprintf(outdir, sizeof outdir, "%s/scratch-out", weft_info(ctx, "workdir"));
    mkdir(outdir, 0755);

    int rc = build_argv(ctx, &argv);
    if (rc == WEFT_OK)
        rc = build_env(ctx, &env, outdir);
    int in_p[2] = {-1, -1}, out_p[2] = {-1, -1};
    if (rc == WEFT_OK && (pipe2(in_p, O_CLOEXEC) < 0 || pipe2(out_p, O_CLOEXEC) < 0))
        rc = weft_fail(ctx, "shell: pipe: %s", strerror(errno));
    pid_t pid = 0;
    if (rc == WEFT_OK)
        rc = spawn_child(ctx, &argv, &env, cwd, in_p[0], out_p[1], &pid);
    if (in_p[0] >= 0)
        close(in_p[0]);
    if (out_p[1] >= 0)
        close(out_p[1]);
    if (rc == WEFT_OK) {
        child_io io = {.in_fd = in_p[1], .out_fd = out_p[0], .stdin_data = stdin_text,
                       .stdin_left = strlen(stdin_text), .captured = malloc(STDOUT_CAP + 1)};
        if (!io.captured)
            abort();
        in_p[1] = out_p[0] = -1;
        if (io.stdin_left == 0) {
            close(io.in_fd);
            io.in_fd = -1;
        }
        int expired = pump(ctx, &io, timeout_ms ? now_ms() + timeout_ms : 0);
        if (io.in_fd >= 0)
            close(io.in_fd);
        if (io.out_fd >= 0)
            close(io.out_fd);
        int status = reap(pid, expired);
        if (expired && weft_cancelled(ctx))
            rc = weft_fail(ctx, "shell: '%s' cancelled", argv.v[0]);
        else if (expired)
            rc = weft_retry(ctx, "shell: '%s' timed out after %lld ms", argv.v[0],
                            (long long)timeout_ms);
        else
            rc = finish(ctx, argv.v[0], status, &io);
        free(io.captured);
    }
    if (in_p[1] >= 0)
        close(in_p[1]);
    if (out_p[0] >= 0)
        close(out_p[0]);
    strv_free(&argv);
    strv_free(&env);
    return rc;
}
