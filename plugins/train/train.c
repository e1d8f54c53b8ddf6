/* train: model training on CSV datasets.
 *
 *   train.xgboost  gradient-boosted trees through XGBoost's C API
 *   train.linear   logistic regression, linear SVM and SVR through liblinear
 *
 * This file reads the common inputs and the dataset, and writes the common outputs. */
#include "plugins/train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/ml/metrics.h"
#include "plugins/ml/predict.h"
#include "plugins/support/rand.h"
#include "plugins/support/table.h"

/* ---- loading ---- */

/* The feature names: the `features` input, or every column but the target. */
static int choose_features(train_job *job, table *t, long target_col, long **cols)
{
    size_t n = 0;
    if (weft_input_len(job->ctx, "features", &n) == WEFT_OK) {
        if (n == 0)
            return weft_fail(job->ctx, "%s: the features list is empty", job->task);
        job->features = calloc(n, sizeof *job->features);
        for (size_t j = 0; j < n; j++) {
            const char *name = NULL;
            weft_input_string_at(job->ctx, "features", j, &name);
            job->features[job->nfeat++] = strdup(name ? name : "");
            if (strcmp(job->features[j], job->target) == 0)
                return weft_fail(job->ctx, "%s: the features list includes the target '%s'",
                                 job->task, job->target);
        }
    } else {
        job->features = calloc(t->ncols, sizeof *job->features);
        for (size_t c = 0; c < t->ncols; c++)
            if ((long)c != target_col)
                job->features[job->nfeat++] = strdup(t->header[c]);
        if (job->nfeat == 0)
            return weft_fail(job->ctx, "%s: %s has no column besides the target", job->task,
                             t->name);
    }
    *cols = table_columns(t, (const char *const *)job->features, job->nfeat);
    return *cols ? WEFT_OK : WEFT_FAIL;
}

static void grow(train_job *job, size_t *cap)
{
    if (job->rows < *cap)
        return;
    *cap = *cap ? 2 * *cap : 1024;
    job->x = realloc(job->x, *cap * job->nfeat * sizeof *job->x);
    job->y = realloc(job->y, *cap * sizeof *job->y);
}

/* The target of the current row: its value, or its class in first-seen order. */
static int read_target(train_job *job, table *t, long col, json_t *ids, float *y)
{
    const char *s = t->csv.fields[col];
    double v;
    if (csv_is_null(s))
        return weft_fail(job->ctx, "%s: %s: line %zu: the target '%s' is missing", job->task,
                         t->name, t->csv.line, job->target);
    if (job->objective == OBJ_REGRESSION) {
        if (csv_number(s, &v) != 0)
            return weft_fail(job->ctx, "%s: %s: line %zu: the target '%s' is '%.40s', not a "
                             "number (regression needs one)", job->task, t->name, t->csv.line,
                             job->target, s);
        *y = (float)v;
        return WEFT_OK;
    }
    json_t *id = json_object_get(ids, s);
    if (!id) {
        id = json_integer((json_int_t)json_object_size(ids));
        json_object_set_new(ids, s, id);
    }
    *y = (float)json_integer_value(id);
    return WEFT_OK;
}

static int read_rows(train_job *job, table *t, long target_col, const long *cols, json_t *ids)
{
    size_t cap = 0;
    int more;
    while ((more = table_next(t)) == 1) {
        grow(job, &cap);
        if (table_numbers(t, cols, job->nfeat, job->x + job->rows * job->nfeat) != WEFT_OK ||
            read_target(job, t, target_col, ids, &job->y[job->rows]) != WEFT_OK)
            return WEFT_FAIL;
        job->rows++;
    }
    if (more < 0)
        return WEFT_FAIL;
    if (job->rows == 0)
        return weft_fail(job->ctx, "%s: %s has no data rows", job->task, t->name);
    return WEFT_OK;
}

/* Labels that all read as numbers sort by value ("2" before "10"), others by bytes. */
static int all_numeric;
static int by_label(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    double u, v;
    if (all_numeric && csv_number(x, &u) == 0 && csv_number(y, &v) == 0)
        return (u > v) - (u < v);
    return strcmp(x, y);
}

/* The classes, sorted, and each row's class renumbered to match. */
static int sort_classes(train_job *job, json_t *ids)
{
    size_t n = json_object_size(ids), i = 0;
    const char *key;
    json_t *v;
    double d;
    job->classes = calloc(n ? n : 1, sizeof *job->classes);
    all_numeric = 1;
    json_object_foreach(ids, key, v) {
        job->classes[i++] = strdup(key);
        all_numeric &= csv_number(key, &d) == 0;
    }
    job->nclasses = n;
    qsort(job->classes, n, sizeof *job->classes, by_label);
    float *rank = malloc(n * sizeof *rank);
    for (size_t c = 0; c < n; c++)
        rank[json_integer_value(json_object_get(ids, job->classes[c]))] = (float)c;
    for (size_t r = 0; r < job->rows; r++)
        job->y[r] = rank[(size_t)job->y[r]];
    free(rank);
    if (job->objective == OBJ_BINARY && n != 2)
        return weft_fail(job->ctx, "%s: binary classification needs 2 classes in '%s'; it "
                         "has %zu", job->task, job->target, n);
    if (job->objective == OBJ_MULTICLASS && n < 2)
        return weft_fail(job->ctx, "%s: classification needs 2 or more classes in '%s'; it "
                         "has %zu", job->task, job->target, n);
    return WEFT_OK;
}

/* Moves a seeded random nvalid rows to the end, keeping each side's order. */
static void hold_out(train_job *job, size_t nvalid, uint64_t seed)
{
    size_t n = job->rows, f = job->nfeat;
    size_t *idx = malloc(n * sizeof *idx);
    unsigned char *valid = calloc(n, 1);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    rand_shuffle(idx, n, &seed);
    for (size_t i = 0; i < nvalid; i++)
        valid[idx[i]] = 1;
    float *x = malloc(n * f * sizeof *x), *y = malloc(n * sizeof *y);
    size_t at[2] = {0, n - nvalid};
    for (size_t r = 0; r < n; r++) {
        size_t to = at[valid[r]]++;
        memcpy(x + to * f, job->x + r * f, f * sizeof *x);
        y[to] = job->y[r];
    }
    free(job->x);
    free(job->y);
    job->x = x;
    job->y = y;
    job->ntrain = n - nvalid;
    job->nvalid = nvalid;
    free(idx);
    free(valid);
}

static int read_common_inputs(weft_ctx *ctx, train_job *job, double *fraction, int64_t *seed)
{
    const char *objective = NULL;
    weft_input_string(ctx, "objective", &objective);
    weft_input_string(ctx, "target", &job->target);
    weft_input_float(ctx, "validation_fraction", fraction);
    weft_input_int(ctx, "seed", seed);
    if (!objective || model_objective_parse(objective, &job->objective) < 0)
        return weft_fail(ctx, "%s: objective must be binary, multiclass or regression, not "
                         "'%s'", job->task, objective ? objective : "");
    if (!job->target)
        return weft_fail(ctx, "%s: input 'target' is missing", job->task);
    if (!(*fraction >= 0 && *fraction < 1))
        return weft_fail(ctx, "%s: validation_fraction must be in [0, 1), not %g", job->task,
                         *fraction);
    return WEFT_OK;
}

int train_load(weft_ctx *ctx, const char *task, train_job *job)
{
    memset(job, 0, sizeof *job);
    job->ctx = ctx;
    job->task = task;
    double fraction = 0;
    int64_t seed = 0;
    int rc = read_common_inputs(ctx, job, &fraction, &seed);
    table t;
    if (rc != WEFT_OK || (rc = table_open(ctx, task, "dataset", &t)) != WEFT_OK)
        return rc;
    snprintf(job->dataset, sizeof job->dataset, "%s", t.name);
    long target_col = table_column(&t, job->target), *cols = NULL;
    json_t *ids = json_object();
    rc = target_col < 0 ? WEFT_FAIL : choose_features(job, &t, target_col, &cols);
    if (rc == WEFT_OK)
        rc = read_rows(job, &t, target_col, cols, ids);
    if (rc == WEFT_OK && job->objective != OBJ_REGRESSION)
        rc = sort_classes(job, ids);
    size_t nvalid = (size_t)llround(fraction * (double)job->rows);
    if (rc == WEFT_OK && fraction > 0 && (nvalid == 0 || nvalid == job->rows))
        rc = weft_fail(ctx, "%s: validation_fraction %g of %zu rows leaves a side empty",
                       task, fraction, job->rows);
    job->ntrain = job->rows;
    if (rc == WEFT_OK && nvalid > 0)
        hold_out(job, nvalid, (uint64_t)seed);
    if (rc == WEFT_OK)
        weft_log(ctx, "%s: %s: %zu rows, %zu features, %zu classes; %zu to train, %zu to "
                 "validate", task, job->dataset, job->rows, job->nfeat, job->nclasses,
                 job->ntrain, job->nvalid);
    json_decref(ids);
    free(cols);
    table_close(&t);
    return rc;
}

void train_free(train_job *job)
{
    for (size_t j = 0; job->features && j < job->nfeat; j++)
        free(job->features[j]);
    for (size_t c = 0; c < job->nclasses; c++)
        free(job->classes[c]);
    free(job->features);
    free(job->classes);
    free(job->x);
    free(job->y);
    memset(job, 0, sizeof *job);
}

/* ---- outputs ---- */

static json_t *string_list(char *const *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(s[i]));
    return a;
}

json_t *train_meta(const train_job *job, const char *kind)
{
    json_t *meta = json_pack("{s:s, s:s, s:s, s:s, s:o}", "kind", kind, "trainer", job->task,
                             "objective", model_objective_name(job->objective), "target",
                             job->target, "features", string_list(job->features, job->nfeat));
    if (job->objective != OBJ_REGRESSION)
        json_object_set_new(meta, "classes", string_list(job->classes, job->nclasses));
    return meta;
}

/* Metrics of the rows [first, first + n) predicted by p, merged into into. */
static int evaluate(train_job *job, predictor *p, size_t first, size_t n, json_t *into)
{
    size_t ns = predictor_nscores(p);
    double *pred = malloc(n * sizeof *pred), *scores = malloc((n * ns + 1) * sizeof *scores);
    char err[512];
    int rc = predictor_run(p, job->x + first * job->nfeat, n, pred, scores, err, sizeof err);
    if (rc == 0) {
        metrics *m = metrics_new(job->objective, job->nclasses,
                                 (const char *const *)job->classes);
        for (size_t i = 0; i < n; i++) {
            if (job->objective == OBJ_REGRESSION)
                metrics_add_value(m, job->y[first + i], pred[i]);
            else
                metrics_add_class(m, (size_t)job->y[first + i], (size_t)pred[i],
                                  ns == 1 ? scores[i] : NAN);
        }
        json_t *report = metrics_json(m);
        json_object_update(into, report);
        json_decref(report);
        metrics_free(m);
    }
    free(pred);
    free(scores);
    return rc == 0 ? WEFT_OK : weft_fail(job->ctx, "%s: evaluating the model: %s", job->task, err);
}

/* The side's object in metrics (created when missing). */
static json_t *side(json_t *report, const char *name)
{
    json_t *o = json_object_get(report, name);
    if (!o) {
        o = json_object();
        json_object_set_new(report, name, o);
    }
    return o;
}

/* Reads the model file back as infer.batch will and scores both sides with it. */
static int evaluate_sides(train_job *job, const char *path, json_t *report)
{
    modelfile m;
    char err[512];
    const char *workdir = weft_info(job->ctx, "workdir");
    if (modelfile_read(path, "the model just written", &m, err, sizeof err) < 0)
        return weft_fail(job->ctx, "%s: %s", job->task, err);
    predictor *p = predictor_open(&m, workdir ? workdir : "/tmp", err, sizeof err);
    int rc = p ? WEFT_OK : weft_fail(job->ctx, "%s: %s", job->task, err);
    if (rc == WEFT_OK)
        rc = evaluate(job, p, 0, job->ntrain, side(report, "train"));
    if (rc == WEFT_OK && job->nvalid)
        rc = evaluate(job, p, job->ntrain, job->nvalid, side(report, "valid"));
    predictor_close(p);
    modelfile_free(&m);
    return rc;
}

static const double *importance_of;
static int by_importance(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    double x = importance_of[i], y = importance_of[j];
    return x != y ? (x < y) - (x > y) : (i > j) - (i < j);
}

/* {feature: score}, highest first. */
static json_t *importance_json(const train_job *job, const double *importance)
{
    size_t *order = malloc(job->nfeat * sizeof *order);
    for (size_t j = 0; j < job->nfeat; j++)
        order[j] = j;
    importance_of = importance;
    qsort(order, job->nfeat, sizeof *order, by_importance);
    json_t *o = json_object();
    for (size_t j = 0; j < job->nfeat; j++)
        json_object_set_new(o, job->features[order[j]], json_real(importance[order[j]]));
    free(order);
    return o;
}

static void log_summary(train_job *job, json_t *report)
{
    const char *name = job->nvalid ? "valid" : "train";
    json_t *s = json_object_get(report, name);
    const char *keys[] = {"accuracy", "f1", "auc", "macro_f1", "rmse", "mae", "r2"};
    char line[512];
    size_t used = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys && used < sizeof line; i++) {
        json_t *v = json_object_get(s, keys[i]);
        if (json_is_number(v))
            used += (size_t)snprintf(line + used, sizeof line - used, " %s %.4f", keys[i],
                                     json_number_value(v));
    }
    weft_log(job->ctx, "%s: %s rows:%s", job->task, name, used ? line : " (no metrics)");
}

int train_finish(train_job *job, json_t *meta, const void *payload, size_t len, json_t *extra,
                 const double *importance)
{
    const char *path;
    char err[512];
    int rc = WEFT_OK;
    if (weft_output_path(job->ctx, "model", &path) != WEFT_OK)
        rc = weft_fail(job->ctx, "%s: no staging path for the model", job->task);
    else if (modelfile_write(path, meta, payload, len, err, sizeof err) < 0)
        rc = weft_fail(job->ctx, "%s: %s", job->task, err);
    json_decref(meta);
    json_object_set_new(extra, "objective",
                        json_string(model_objective_name(job->objective)));
    json_object_set_new(extra, "rows", json_pack("{s:I, s:I}", "train", (json_int_t)job->ntrain,
                                                 "valid", (json_int_t)job->nvalid));
    if (rc == WEFT_OK)
        rc = evaluate_sides(job, path, extra);
    if (rc == WEFT_OK) {
        log_summary(job, extra);
        char *text = json_dumps(extra, JSON_COMPACT | JSON_REAL_PRECISION(10));
        json_t *imp = importance_json(job, importance);
        char *imp_text = json_dumps(imp, JSON_COMPACT | JSON_REAL_PRECISION(8));
        if (weft_output_json(job->ctx, "metrics", text) != WEFT_OK ||
            weft_output_json(job->ctx, "importance", imp_text) != WEFT_OK)
            rc = weft_fail(job->ctx, "%s: cannot set the outputs", job->task);
        free(text);
        free(imp_text);
        json_decref(imp);
    }
    json_decref(extra);
    return rc;
}

/* ---- declarations ---- */

#define COMMON_INPUTS                                                                       \
    {"dataset", "dataset", 0, "a CSV file with a header row"},                              \
    {"target", "string", 0, "the column to predict"},                                       \
    {"objective", "string", 0, "binary, multiclass or regression"},                         \
    {"features", "list<string>", WEFT_PORT_OPTIONAL,                                        \
     "the feature columns (every column but the target)"},                                  \
    {"validation_fraction", "float", WEFT_PORT_OPTIONAL,                                    \
     "share of rows held out to validate (0)"},                                             \
    {"seed", "int", WEFT_PORT_OPTIONAL, "seeds the hold-out and the trainer (0)"}

static const weft_port xgboost_in[] = {
    COMMON_INPUTS,
    {"rounds", "int", WEFT_PORT_OPTIONAL, "boosting rounds (100)"},
    {"early_stopping_rounds", "int", WEFT_PORT_OPTIONAL,
     "stop when the validation metric has not improved for this many rounds"},
    {"params", "json", WEFT_PORT_OPTIONAL, "XGBoost parameters: {max_depth: 4, eta: 0.1}"},
    {"threads", "int", WEFT_PORT_OPTIONAL, "XGBoost's nthread (all cores)"},
    {NULL, NULL, 0, NULL}};
static const weft_port linear_in[] = {
    COMMON_INPUTS,
    {"solver", "string", WEFT_PORT_OPTIONAL,
     "logistic, svm or svr (logistic to classify, svr for regression)"},
    {"cost", "float", WEFT_PORT_OPTIONAL, "C, the inverse of the regularization (1)"},
    {"epsilon", "float", WEFT_PORT_OPTIONAL, "svr's insensitive zone (0.1)"},
    {"tolerance", "float", WEFT_PORT_OPTIONAL, "the stopping tolerance (liblinear's default)"},
    {"standardize", "bool", WEFT_PORT_OPTIONAL, "scale features to mean 0, std 1 (true)"},
    {NULL, NULL, 0, NULL}};
static const weft_port train_out[] = {
    {"model", "model", 0, "the model file, for infer.batch"},
    {"metrics", "json", 0, "metrics on the training and validation rows"},
    {"importance", "json", 0, "{feature: importance}, highest first"},
    {NULL, NULL, 0, NULL}};

static const weft_task_type types[] = {
    {.name = "train.xgboost", .version = "1", .inputs = xgboost_in, .outputs = train_out,
     .run = train_xgboost_run},
    {.name = "train.linear", .version = "1", .inputs = linear_in, .outputs = train_out,
     .run = train_linear_run},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("train", "1.0.0", types)
