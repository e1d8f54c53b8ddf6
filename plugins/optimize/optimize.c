/* optimize: linear, integer and nonlinear programs as tasks. See optimize.h.
 *
 *   optimize.glpk  LP and MIP through GLPK: MathProg (with an optional data file), CPLEX LP
 *                  or MPS
 *   optimize.cbc   MIP through COIN-OR CBC: MPS or CPLEX LP, or MathProg translated by GLPK
 *   optimize.nlp   nonlinear programs through Ipopt, from AMPL .nl files (the format Pyomo,
 *                  JuMP and AMPL write) read with the AMPL solver library */
#include "plugins/optimize/optimize.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugins/support/input.h"

static const struct {
    const char *ext, *name;
    opt_format format;
} formats[] = {
    {".mod", "mathprog", OPT_MATHPROG}, {".gmpl", "mathprog", OPT_MATHPROG},
    {".lp", "lp", OPT_LP},              {".mps", "mps", OPT_MPS},
    {".nl", "nl", OPT_NL},
};
#define NFORMATS (sizeof formats / sizeof *formats)

static const char *format_name(opt_format f)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (formats[i].format == f)
            return formats[i].name;
    return "?";
}

static int pick_format(opt_job *job, unsigned accepted)
{
    const char *given = NULL;
    if (weft_input_string(job->ctx, "format", &given) == WEFT_OK) {
        size_t i = 0;
        while (i < NFORMATS && strcmp(formats[i].name, given) != 0)
            i++;
        if (i == NFORMATS)
            return weft_fail(job->ctx, "%s: format '%s' is not one of mathprog, lp, mps, nl",
                             job->solver, given);
        job->format = formats[i].format;
    } else {
        const char *dot = strrchr(job->model_name, '.');
        size_t i = 0;
        while (i < NFORMATS && !(dot && !strcasecmp(dot, formats[i].ext)))
            i++;
        if (i == NFORMATS)
            return weft_fail(job->ctx, "%s: cannot tell the format of '%s' from its name; set "
                             "format: mathprog, lp, mps or nl", job->solver, job->model_name);
        job->format = formats[i].format;
    }
    if (!(accepted & (1u << job->format)))
        return weft_fail(job->ctx, "%s: cannot read %s models ('%s')%s", job->solver,
                         format_name(job->format), job->model_name,
                         job->format == OPT_NL ? "; use optimize.nlp for .nl files"
                                               : "; optimize.nlp reads .nl files only");
    return WEFT_OK;
}

/* Solvers find a model's format by its file name (the ASL and CBC add an extension when
 * the name has none): the model is read through a link named model.EXT in the workdir. */
static int link_model(opt_job *job, char *path, size_t n)
{
    const char *wd = weft_info(job->ctx, "workdir");
    static const char *const ext[] = {"mod", "lp", "mps", "nl"};
    snprintf(path, n, "%s/model.%s", wd ? wd : ".", ext[job->format]);
    unlink(path);
    if (symlink(job->model, path) < 0)
        return weft_fail(job->ctx, "%s: cannot link the model into %s: %s", job->solver, wd,
                         strerror(errno));
    job->model = path;
    return WEFT_OK;
}

/* Reads the common inputs into job. */
static int read_job(opt_job *job, unsigned accepted, char *names, size_t n)
{
    weft_ctx *ctx = job->ctx;
    int64_t ms, threads;
    if (plugin_input_file(ctx, job->solver, "model", &job->model, names, n / 2) != WEFT_OK)
        return WEFT_FAIL;
    job->model_name = names;
    if (weft_input_path(ctx, "data", &job->data) == WEFT_OK)
        job->data_name = plugin_input_name(ctx, "data", "data", names + n / 2, n / 2);
    else
        job->data = NULL;
    int rc = pick_format(job, accepted);
    if (rc != WEFT_OK)
        return rc;
    if (job->data && job->format != OPT_MATHPROG)
        return weft_fail(ctx, "%s: a data file goes with a MathProg model, not with %s ('%s')",
                         job->solver, format_name(job->format), job->model_name);
    job->time_limit_s = 0;
    if (weft_input_duration_ms(ctx, "time_limit", &ms) == WEFT_OK) {
        if (ms <= 0)
            return weft_fail(ctx, "%s: time_limit must be positive", job->solver);
        job->time_limit_s = (double)ms / 1000.0;
    }
    job->gap = -1;
    if (weft_input_float(ctx, "gap", &job->gap) == WEFT_OK && !(job->gap >= 0 && job->gap < 1))
        return weft_fail(ctx, "%s: gap is a relative MIP gap in [0, 1), not %g", job->solver,
                         job->gap);
    job->threads = 0;
    if (weft_input_int(ctx, "threads", &threads) == WEFT_OK) {
        if (threads < 1 || threads > 256)
            return weft_fail(ctx, "%s: threads must be from 1 to 256, not %lld", job->solver,
                             (long long)threads);
        job->threads = (int)threads;
    }
    return WEFT_OK;
}

void opt_write_value(opt_job *job, const char *name, double value)
{
    if (strpbrk(name, ",\"\n")) {
        fputc('"', job->solution);
        for (const char *p = name; *p; p++) {
            if (*p == '"')
                fputc('"', job->solution);
            fputc(*p, job->solution);
        }
        fputc('"', job->solution);
    } else {
        fputs(name, job->solution);
    }
    fprintf(job->solution, ",%.17g\n", value);
}

/* ---- what the solver printed ---- */

void opt_text_add(opt_text *t, const char *s)
{
    size_t n = strlen(s), cap = sizeof t->buf - 1;
    if (n >= cap) {
        s += n - cap;
        n = cap;
    }
    if (t->len + n > cap) {
        size_t drop = t->len + n - cap;
        memmove(t->buf, t->buf + drop, t->len - drop);
        t->len -= drop;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

/* Appends line to out (after "; "), with the local paths replaced by submitted names. */
static void append_line(const opt_job *job, const char *line, size_t len, char *out, size_t n)
{
    size_t used = strlen(out);
    if (used && used + 2 < n)
        used += (size_t)snprintf(out + used, n - used, "; ");
    const char *paths[2] = {job->model, job->data}, *names[2] = {job->model_name,
                                                                 job->data_name};
    for (size_t i = 0; i < len && used + 1 < n;) {
        size_t k = 0;
        while (k < 2 && !(paths[k] && !strncmp(line + i, paths[k], strlen(paths[k]))))
            k++;
        if (k < 2) {
            used += (size_t)snprintf(out + used, n - used, "%s", names[k]);
            i += strlen(paths[k]);
        } else {
            out[used++] = line[i++];
            out[used] = '\0';
        }
    }
    if (used >= n)
        out[n - 1] = '\0';
}

/* Whether path, followed by ':', appears in line ("model.mod:14: syntax error"). */
static int names_position(const char *line, size_t len, const char *path)
{
    size_t n = path ? strlen(path) : 0;
    const char *p = n ? memmem(line, len, path, n) : NULL;
    return p && (size_t)(p - line) + n < len && p[n] == ':';
}

/* A line that diagnoses a problem: it names a position in the model or data, or says what
 * is wrong. */
static int diagnostic(const opt_job *job, const char *line, size_t len)
{
    static const char *const words[] = {"error", "unknown", "invalid", "premature", "line "};
    char low[512];
    size_t m = len < sizeof low - 1 ? len : sizeof low - 1;
    for (size_t i = 0; i < m; i++)
        low[i] = (char)tolower((unsigned char)line[i]);
    low[m] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strstr(low, words[i]))
            return 1;
    return names_position(line, len, job->model) || names_position(line, len, job->data);
}

const char *opt_text_diagnosis(const opt_job *job, const opt_text *t, char *out, size_t n)
{
    out[0] = '\0';
    const char *last = NULL;
    size_t lastlen = 0;
    for (const char *p = t->buf; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            last = p;
            lastlen = len;
            if (diagnostic(job, p, len))
                append_line(job, p, len, out, n);
        }
        p += len + (e != NULL);
    }
    if (!out[0] && last)
        append_line(job, last, lastlen, out, n);
    if (!out[0])
        snprintf(out, n, "no message from the solver");
    return out;
}

static ssize_t read_fd(int fd, char *buf, size_t n)
{
    ssize_t r;
    while ((r = read(fd, buf, n)) < 0 && errno == EINTR) {
    }
    return r;
}

int opt_capture(opt_job *job, int (*fn)(void *ud), void *ud, opt_text *text)
{
    const char *wd = weft_info(job->ctx, "workdir");
    char path[4096];
    snprintf(path, sizeof path, "%s/solver-output.XXXXXX", wd ? wd : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return fn(ud);
    unlink(path);
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = fn(ud);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    lseek(fd, 0, SEEK_SET);
    FILE *f = fdopen(fd, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        opt_text_add(text, line);
        line[strcspn(line, "\n")] = '\0';
        weft_log(job->ctx, "%s", line);
    }
    if (f)
        fclose(f);
    else
        close(fd);
    return rc;
}

/* A reader that calls exit() in the child has failed. The child leaves at once: the exit
 * handlers it inherited belong to the executor (a sanitizer's leak check among them, which
 * cannot stop the threads a forked child does not have). */
static void child_exit(void)
{
    fflush(stdout);
    fflush(stderr);
    _exit(1);
}

int opt_check_in_child(opt_job *job, int (*read)(void *ud), void *ud, opt_text *text)
{
    int fds[2];
    if (pipe(fds) < 0)
        return weft_fail(job->ctx, "%s: cannot check the model: %s", job->solver,
                         strerror(errno));
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        setvbuf(stdout, NULL, _IONBF, 0); /* what it says before an abort gets out */
        atexit(child_exit);
        int failed = read(ud);
        fflush(stdout);
        fflush(stderr);
        _exit(failed ? 1 : 0);
    }
    close(fds[1]);
    char buf[512];
    ssize_t r;
    while (pid > 0 && (r = read_fd(fds[0], buf, sizeof buf - 1)) > 0) {
        buf[r] = '\0';
        opt_text_add(text, buf);
    }
    close(fds[0]);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return weft_fail(job->ctx, "%s: cannot check the model: %s", job->solver,
                         strerror(errno));
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return WEFT_OK;
    weft_log(job->ctx, "%s", text->buf);
    char why[1024];
    return weft_fail(job->ctx, "%s: cannot read model '%s': %s%s", job->solver,
                     job->model_name, WIFSIGNALED(st) ? "the solver's reader crashed; " : "",
                     opt_text_diagnosis(job, text, why, sizeof why));
}

/* ---- the task types ---- */

static int run_solver(weft_ctx *ctx, const char *solver, unsigned accepted,
                      int (*solve)(opt_job *))
{
    char names[1024];
    opt_job job = {.ctx = ctx, .solver = solver};
    char model[4096];
    int rc = read_job(&job, accepted, names, sizeof names);
    if (rc == WEFT_OK)
        rc = link_model(&job, model, sizeof model);
    if (rc != WEFT_OK)
        return rc;
    const char *out;
    if (weft_output_path(ctx, "solution", &out) != WEFT_OK || !(job.solution = fopen(out, "w")))
        return weft_fail(ctx, "%s: cannot write the solution file: %s", solver, strerror(errno));
    fputs("variable,value\n", job.solution);
    rc = solve(&job);
    fflush(stdout);
    fflush(stderr);
    if (fclose(job.solution) != 0 && rc == WEFT_OK)
        return weft_fail(ctx, "%s: cannot write the solution file: %s", solver, strerror(errno));
    if (rc != WEFT_OK)
        return rc;
    weft_log(ctx, "%s: %s%s", solver, job.status, job.has_solution ? "" : " (no solution)");
    if (weft_output_string(ctx, "status", job.status) != WEFT_OK ||
        (job.has_solution && weft_output_float(ctx, "objective", job.objective) != WEFT_OK))
        return weft_fail(ctx, "%s: cannot set the outputs", solver);
    return WEFT_OK;
}

#define LINEAR ((1u << OPT_MATHPROG) | (1u << OPT_LP) | (1u << OPT_MPS))

static int glpk_run(weft_ctx *ctx)
{
    return run_solver(ctx, "glpk", LINEAR, opt_glpk_solve);
}

static int cbc_run(weft_ctx *ctx)
{
    return run_solver(ctx, "cbc", LINEAR, opt_cbc_solve);
}

static int nlp_run(weft_ctx *ctx)
{
    return run_solver(ctx, "ipopt", 1u << OPT_NL, opt_nlp_solve);
}

static const weft_port opt_in[] = {
    {"model", "file", 0, "the model: MathProg (.mod), CPLEX LP (.lp), MPS (.mps) or AMPL .nl"},
    {"data", "file", WEFT_PORT_OPTIONAL, "a MathProg data file"},
    {"format", "string", WEFT_PORT_OPTIONAL,
     "mathprog, lp, mps or nl (default: from the model's file name)"},
    {"time_limit", "duration", WEFT_PORT_OPTIONAL, "stop the search after this long"},
    {"gap", "float", WEFT_PORT_OPTIONAL, "relative MIP gap at which to stop (0.01 = 1%)"},
    {"threads", "int", WEFT_PORT_OPTIONAL, "solver threads, where the solver has them"},
    {NULL, NULL, 0, NULL}};
static const weft_port opt_out[] = {
    {"status", "string", 0, "optimal, feasible, infeasible, unbounded or time_limit"},
    {"objective", "float", WEFT_PORT_OPTIONAL, "the objective value, when there is a solution"},
    {"solution", "file", 0, "CSV variable,value (no rows without a solution)"},
    {NULL, NULL, 0, NULL}};

static const weft_task_type types[] = {
    {.name = "optimize.glpk", .version = "1", .inputs = opt_in, .outputs = opt_out,
     .run = glpk_run},
    {.name = "optimize.cbc", .version = "1", .inputs = opt_in, .outputs = opt_out,
     .run = cbc_run},
    {.name = "optimize.nlp", .version = "1", .inputs = opt_in, .outputs = opt_out,
     .run = nlp_run},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("optimize", "1.0.0", types)
