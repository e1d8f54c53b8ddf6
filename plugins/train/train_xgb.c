/* train.xgboost: gradient-boosted trees through XGBoost's C API.
 *
 * Rounds run one at a time (UpdateOneIter), each evaluated on the training and validation
 * rows, so progress is reported and early stopping watches the validation set's last metric
 * (XGBoost's convention). With early stopping the model is sliced back to its best round.
 * XGBoost's log goes to the task log; a parameter XGBoost does not use fails the task
 * instead of being silently ignored. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include "plugins/ml/xgb.h"
#include "plugins/train/train.h"

/* XGBoost's log callback has no context: the executor runs one task at a time. */
static weft_ctx *log_ctx;
static char unused_params[512];

/* XGBoost's messages span lines ("[time] WARNING: file:line: \nParameters: { ... } are
 * not used.\n"): each nonempty line goes to the task log. */
static void on_xgb_log(const char *msg)
{
    const char *unused = strstr(msg, "Parameters: {");
    if (unused && strstr(unused, "are not used") && !unused_params[0])
        snprintf(unused_params, sizeof unused_params, "%.*s", (int)strcspn(unused, "\n"),
                 unused);
    for (const char *line = msg; log_ctx && *line;) {
        size_t len = strcspn(line, "\n");
        if (len)
            weft_log(log_ctx, "xgboost: %.*s", (int)len, line);
        line += len + (line[len] == '\n');
    }
}

typedef struct xgb_run {
    train_job *job;
    BoosterHandle booster;
    DMatrixHandle sets[2];      /* train, valid */
    const char *names[2];
    bst_ulong nsets;
    int64_t rounds, patience;   /* patience: early_stopping_rounds, 0 for none */
    int best, trained;
    double best_score;
} xgb_run;

static int xgb_failed(xgb_run *r, const char *what)
{
    char why[512];
    return weft_fail(r->job->ctx, "%s: %s: %s", r->job->task, what,
                     xgb_last_error(why, sizeof why));
}

/* One parameter from the params input: a string, number or bool, or a list of them (each
 * set in turn, as eval_metric takes). */
static int set_param(xgb_run *r, const char *key, json_t *v)
{
    char text[64];
    const char *s = text;
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
            if (json_is_array(e) || set_param(r, key, e) != WEFT_OK)
                return json_is_array(e) ? weft_fail(r->job->ctx, "%s: params.%s: a list of "
                                                    "lists", r->job->task, key) : WEFT_FAIL;
        return WEFT_OK;
    }
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(text, sizeof text, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        s = json_is_true(v) ? "1" : "0";
    else
        return weft_fail(r->job->ctx, "%s: params.%s must be a string, number or bool",
                         r->job->task, key);
    char what[128];
    snprintf(what, sizeof what, "params.%s = %s", key, s);
    return XGBoosterSetParam(r->booster, key, s) == 0 ? WEFT_OK : xgb_failed(r, what);
}

static int set_params(xgb_run *r, int64_t seed, int64_t threads)
{
    train_job *job = r->job;
    static const char *const objectives[] = {"binary:logistic", "multi:softprob",
                                             "reg:squarederror"};
    char num[32];
    XGBoosterSetParam(r->booster, "validate_parameters", "1"); /* off in the C API */
    XGBoosterSetParam(r->booster, "tree_method", "hist"); /* XGBoost 2's default */
    XGBoosterSetParam(r->booster, "objective", objectives[job->objective]);
    if (job->objective == OBJ_MULTICLASS) {
        snprintf(num, sizeof num, "%zu", job->nclasses);
        XGBoosterSetParam(r->booster, "num_class", num);
    }
    snprintf(num, sizeof num, "%lld", (long long)seed);
    XGBoosterSetParam(r->booster, "seed", num);
    if (threads > 0) {
        snprintf(num, sizeof num, "%lld", (long long)threads);
        XGBoosterSetParam(r->booster, "nthread", num);
    }
    const char *text;
    if (weft_input_json(job->ctx, "params", &text) != WEFT_OK)
        return WEFT_OK;
    json_t *params = json_loads(text, 0, NULL);
    int rc = json_is_object(params) ? WEFT_OK
             : weft_fail(job->ctx, "%s: params must be an object of XGBoost parameters",
                         job->task);
    const char *key;
    json_t *v;
    json_object_foreach(params, key, v) {
        if (rc != WEFT_OK)
            break;
        if (!strcmp(key, "objective") || !strcmp(key, "num_class"))
            rc = weft_fail(job->ctx, "%s: params.%s is set by the 'objective' input",
                           job->task, key);
        else
            rc = set_param(r, key, v);
    }
    json_decref(params);
    return rc;
}

static int create(xgb_run *r)
{
    train_job *job = r->job;
    r->names[0] = "train";
    r->names[1] = "valid";
    r->nsets = job->nvalid ? 2 : 1;
    size_t first[2] = {0, job->ntrain}, count[2] = {job->ntrain, job->nvalid};
    for (bst_ulong i = 0; i < r->nsets; i++)
        if (XGDMatrixCreateFromMat(job->x + first[i] * job->nfeat, count[i], job->nfeat, NAN,
                                   &r->sets[i]) != 0 ||
            XGDMatrixSetFloatInfo(r->sets[i], "label", job->y + first[i], count[i]) != 0)
            return xgb_failed(r, "loading the rows");
    if (XGBoosterCreate(r->sets, r->nsets, &r->booster) != 0)
        return xgb_failed(r, "creating the booster");
    return WEFT_OK;
}

static int maximized(const char *metric)
{
    static const char *const up[] = {"auc", "aucpr", "map", "ndcg", "pre"};
    for (size_t i = 0; i < sizeof up / sizeof *up; i++)
        if (strncmp(metric, up[i], strlen(up[i])) == 0)
            return 1;
    return 0;
}

/* Parses "[3]\ttrain-logloss:0.2\tvalid-logloss:0.3" into {"train": {...}, ...}; *last is
 * the last validation metric's name and value. */
static json_t *parse_eval(const char *eval, const char **last, double *value)
{
    json_t *o = json_object();
    static char name[128];
    *last = NULL;
    for (const char *t = strchr(eval, '\t'); t; t = strchr(t + 1, '\t')) {
        const char *dash = strchr(t + 1, '-'), *end = t + 1 + strcspn(t + 1, "\t");
        const char *colon = dash ? memrchr(dash, ':', (size_t)(end - dash)) : NULL;
        if (!dash || !colon)
            continue;
        char set[16], metric[128];
        snprintf(set, sizeof set, "%.*s", (int)(dash - t - 1), t + 1);
        snprintf(metric, sizeof metric, "%.*s", (int)(colon - dash - 1), dash + 1);
        double v = strtod(colon + 1, NULL);
        json_t *s = json_object_get(o, set);
        if (!s)
            json_object_set_new(o, set, s = json_object());
        json_object_set_new(s, metric, json_real(v));
        if (strcmp(set, "valid") == 0) {
            snprintf(name, sizeof name, "%s", metric);
            *last = name;
            *value = v;
        }
    }
    return o;
}

/* Evaluates round i; returns 1 when early stopping says stop. */
static int watch(xgb_run *r, int i, const char *eval)
{
    const char *metric;
    double v;
    json_decref(parse_eval(eval, &metric, &v));
    if (i % 10 == 0 || i + 1 == r->rounds)
        weft_log(r->job->ctx, "%s: %s", r->job->task, eval);
    if (!r->patience || !metric)
        return 0;
    int better = maximized(metric) ? v > r->best_score : v < r->best_score;
    if (i == 0 || better) {
        r->best = i;
        r->best_score = v;
    }
    return i - r->best >= r->patience;
}

static int boost(xgb_run *r)
{
    weft_ctx *ctx = r->job->ctx;
    for (int i = 0; i < r->rounds; i++) {
        const char *eval;
        if (weft_cancelled(ctx))
            return weft_fail(ctx, "%s: cancelled after %d rounds", r->job->task, i);
        if (XGBoosterUpdateOneIter(r->booster, i, r->sets[0]) != 0)
            return xgb_failed(r, "boosting");
        if (unused_params[0])
            return weft_fail(ctx, "%s: %s", r->job->task, unused_params);
        if (XGBoosterEvalOneIter(r->booster, i, r->sets, r->names, r->nsets, &eval) != 0)
            return xgb_failed(r, "evaluating");
        r->trained = i + 1;
        if (r->trained % 10 == 0 || r->trained == r->rounds)
            weft_progress(ctx, r->trained, (double)r->rounds);
        if (watch(r, i, eval)) {
            weft_log(ctx, "%s: early stop at round %d; the best was round %d", r->job->task,
                     i, r->best);
            break;
        }
    }
    if (r->patience && r->best + 1 < r->trained) {
        BoosterHandle sliced;
        if (XGBoosterSlice(r->booster, 0, r->best + 1, 1, &sliced) != 0)
            return xgb_failed(r, "keeping the best rounds");
        XGBoosterFree(r->booster);
        r->booster = sliced;
    }
    return WEFT_OK;
}

/* Gain per feature; features XGBoost never split on score 0. */
static int importance(xgb_run *r, double *gain)
{
    bst_ulong nf = 0, dim = 0;
    const char **names;
    const bst_ulong *shape;
    const float *scores;
    memset(gain, 0, r->job->nfeat * sizeof *gain);
    if (XGBoosterFeatureScore(r->booster, "{\"importance_type\": \"gain\"}", &nf, &names, &dim,
                              &shape, &scores) != 0)
        return xgb_failed(r, "feature importance");
    for (bst_ulong i = 0; i < nf; i++) {
        unsigned long j = names[i][0] == 'f' ? strtoul(names[i] + 1, NULL, 10) : ULONG_MAX;
        if (j < r->job->nfeat)
            gain[j] = scores[i];
    }
    return WEFT_OK;
}

/* The metrics output's XGBoost part, and the model file. */
static int finish(xgb_run *r)
{
    train_job *job = r->job;
    const char *eval, *metric;
    const char *buf;
    bst_ulong len;
    double v;
    if (XGBoosterEvalOneIter(r->booster, r->trained, r->sets, r->names, r->nsets, &eval) != 0)
        return xgb_failed(r, "evaluating");
    json_t *extra = parse_eval(eval, &metric, &v);
    json_object_set_new(extra, "rounds", json_integer(r->patience ? r->best + 1 : r->trained));
    if (r->patience)
        json_object_set_new(extra, "best_iteration", json_integer(r->best));
    double *gain = malloc(job->nfeat * sizeof *gain);
    int rc = importance(r, gain);
    if (rc == WEFT_OK &&
        XGBoosterSaveModelToBuffer(r->booster, "{\"format\": \"ubj\"}", &len, &buf) != 0)
        rc = xgb_failed(r, "saving the model");
    if (rc == WEFT_OK) {
        void *payload = malloc(len); /* the buffer lives until the next XGBoost call */
        memcpy(payload, buf, len);
        rc = train_finish(job, train_meta(job, "xgboost"), payload, len, extra, gain);
        extra = NULL;
        free(payload);
    }
    json_decref(extra);
    free(gain);
    return rc;
}

int train_xgboost_run(weft_ctx *ctx)
{
    train_job job;
    xgb_run r = {.job = &job, .rounds = 100};
    int64_t seed = 0, threads = 0;
    weft_input_int(ctx, "rounds", &r.rounds);
    weft_input_int(ctx, "early_stopping_rounds", &r.patience);
    weft_input_int(ctx, "seed", &seed);
    weft_input_int(ctx, "threads", &threads);
    if (r.rounds < 1 || r.rounds > 100000)
        return weft_fail(ctx, "train.xgboost: rounds must be 1 to 100000, not %lld",
                         (long long)r.rounds);
    if (r.patience < 0)
        return weft_fail(ctx, "train.xgboost: early_stopping_rounds must not be negative");
    int rc = train_load(ctx, "train.xgboost", &job);
    if (rc == WEFT_OK && r.patience && !job.nvalid)
        rc = weft_fail(ctx, "train.xgboost: early_stopping_rounds needs a validation_fraction "
                       "to watch");
    log_ctx = ctx;
    unused_params[0] = '\0';
    XGBRegisterLogCallback(on_xgb_log);
    if (rc == WEFT_OK)
        rc = create(&r);
    if (rc == WEFT_OK)
        rc = set_params(&r, seed, threads);
    if (rc == WEFT_OK)
        rc = boost(&r);
    if (rc == WEFT_OK)
        rc = finish(&r);
    log_ctx = NULL;
    XGBoosterFree(r.booster);
    for (int i = 0; i < 2; i++)
        XGDMatrixFree(r.sets[i]);
    train_free(&job);
    return rc;
}
