/* train.linear: linear models through liblinear: L2-regularized logistic regression
 * (probabilities), L2-loss linear SVM (decision values) and L2-loss SVR.
 *
 * Features are standardized with the training rows' mean and deviation unless told not to
 * (liblinear's solvers converge badly on raw scales); the scaling travels in the model's
 * metadata so infer.batch applies the same one. A missing value is the mean. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugins/ml/linear.h"
#include "plugins/train/train.h"

/* liblinear's print hook has no context: the executor runs one task at a time. Output
 * arrives in pieces (dots, then a line); whole lines go to the task log. */
static weft_ctx *log_ctx;
static char log_line[512];
static size_t log_len;

static void flush_line(void)
{
    if (log_len && log_ctx)
        weft_log(log_ctx, "liblinear: %.*s", (int)log_len, log_line);
    log_len = 0;
}

static void on_linear_print(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n' || log_len == sizeof log_line)
            flush_line();
        if (*s != '\n')
            log_line[log_len++] = *s;
    }
}

typedef struct linear_fit {
    train_job *job;
    const linear_solver *solver;
    double cost, epsilon, tolerance;
    int standardize;
    linear_scale scale;
    struct problem prob;
    struct feature_node *pool;
} linear_fit;

static int read_inputs(weft_ctx *ctx, linear_fit *f)
{
    train_job *job = f->job;
    const char *name = job->objective == OBJ_REGRESSION ? "svr" : "logistic";
    weft_input_string(ctx, "solver", &name);
    if (!(f->solver = linear_solver_find(name)))
        return weft_fail(ctx, "train.linear: solver must be logistic, svm or svr, not '%s'",
                         name);
    if (f->solver->classifies != (job->objective != OBJ_REGRESSION))
        return weft_fail(ctx, "train.linear: solver %s cannot do %s", name,
                         model_objective_name(job->objective));
    f->cost = 1;
    f->epsilon = 0.1;
    f->tolerance = f->solver->eps;
    f->standardize = 1;
    weft_input_float(ctx, "cost", &f->cost);
    weft_input_float(ctx, "epsilon", &f->epsilon);
    weft_input_float(ctx, "tolerance", &f->tolerance);
    weft_input_bool(ctx, "standardize", &f->standardize);
    if (!(f->cost > 0) || !(f->tolerance > 0) || !(f->epsilon >= 0))
        return weft_fail(ctx, "train.linear: cost and tolerance must be positive, epsilon not "
                         "negative");
    return WEFT_OK;
}

/* Mean and deviation of each feature over the training rows, missing values left out. */
static void fit_scale(linear_fit *f)
{
    train_job *job = f->job;
    f->scale.mean = calloc(job->nfeat, sizeof *f->scale.mean);
    f->scale.std = calloc(job->nfeat, sizeof *f->scale.std);
    for (size_t j = 0; j < job->nfeat; j++) {
        double mean = 0, m2 = 0, n = 0;
        for (size_t r = 0; r < job->ntrain; r++) {
            double v = job->x[r * job->nfeat + j];
            if (isnan(v))
                continue;
            double d = v - mean;
            mean += d / ++n;
            m2 += d * (v - mean);
        }
        double sd = n > 1 ? sqrt(m2 / (n - 1)) : 0;
        f->scale.mean[j] = mean;
        f->scale.std[j] = sd > 0 ? sd : 1;
    }
}

static void build_problem(linear_fit *f)
{
    train_job *job = f->job;
    size_t width = job->nfeat + 2;
    f->pool = malloc(job->ntrain * width * sizeof *f->pool);
    f->prob.l = (int)job->ntrain;
    f->prob.n = (int)job->nfeat + 1;
    f->prob.bias = LINEAR_BIAS;
    f->prob.y = malloc(job->ntrain * sizeof *f->prob.y);
    f->prob.x = malloc(job->ntrain * sizeof *f->prob.x);
    for (size_t r = 0; r < job->ntrain; r++) {
        f->prob.x[r] = f->pool + r * width;
        f->prob.y[r] = job->y[r];
        linear_nodes(job->x + r * job->nfeat, job->nfeat, &f->scale, f->prob.x[r]);
    }
}

/* liblinear saves to files only: the model text comes back through a scratch file. */
static char *model_text(const struct model *model, const char *workdir, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/liblinear-XXXXXX", workdir);
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    close(fd);
    char *text = NULL;
    FILE *f = save_model(path, model) == 0 ? fopen(path, "rb") : NULL;
    if (f && fseek(f, 0, SEEK_END) == 0 && (*len = (size_t)ftell(f)) > 0) {
        rewind(f);
        text = malloc(*len);
        if (fread(text, 1, *len, f) != *len) {
            free(text);
            text = NULL;
        }
    }
    if (f)
        fclose(f);
    unlink(path);
    return text;
}

/* Mean |weight| per feature over the model's decision functions (standardized features
 * make them comparable). */
static double *importance(const struct model *model, const train_job *job)
{
    int nr_w = job->objective == OBJ_MULTICLASS ? get_nr_class(model) : 1;
    double *imp = calloc(job->nfeat, sizeof *imp);
    for (size_t j = 0; j < job->nfeat; j++) {
        for (int c = 0; c < nr_w; c++)
            imp[j] += fabs(get_decfun_coef(model, (int)j + 1, c));
        imp[j] /= nr_w;
    }
    return imp;
}

static int fit(linear_fit *f)
{
    train_job *job = f->job;
    weft_ctx *ctx = job->ctx;
    struct parameter param = {.solver_type = f->solver->type, .eps = f->tolerance,
                              .C = f->cost, .p = f->epsilon};
    const char *bad = check_parameter(&f->prob, &param);
    if (bad)
        return weft_fail(ctx, "train.linear: liblinear refuses the parameters: %s", bad);
    struct model *model = train(&f->prob, &param);
    flush_line();
    if (!model)
        return weft_fail(ctx, "train.linear: liblinear did not return a model");
    size_t len = 0;
    const char *workdir = weft_info(ctx, "workdir");
    char *text = model_text(model, workdir ? workdir : "/tmp", &len);
    double *imp = importance(model, job);
    free_and_destroy_model(&model);
    if (!text) {
        free(imp);
        return weft_fail(ctx, "train.linear: cannot save the model: %s", strerror(errno));
    }
    json_t *meta = train_meta(job, "liblinear");
    json_object_set_new(meta, "solver", json_string(f->solver->name));
    if (f->standardize)
        json_object_set_new(meta, "scale", linear_scale_json(&f->scale, job->nfeat));
    json_t *extra = json_pack("{s:s, s:f}", "solver", f->solver->name, "cost", f->cost);
    int rc = train_finish(job, meta, text, len, extra, imp);
    free(text);
    free(imp);
    return rc;
}

int train_linear_run(weft_ctx *ctx)
{
    train_job job;
    linear_fit f = {.job = &job};
    int rc = train_load(ctx, "train.linear", &job);
    if (rc == WEFT_OK)
        rc = read_inputs(ctx, &f);
    if (rc == WEFT_OK) {
        if (f.standardize)
            fit_scale(&f);
        build_problem(&f);
        log_ctx = ctx;
        log_len = 0;
        set_print_string_function(on_linear_print);
        rc = fit(&f);
        log_ctx = NULL;
    }
    linear_scale_free(&f.scale);
    free(f.pool);
    free(f.prob.x);
    free(f.prob.y);
    train_free(&job);
    return rc;
}
