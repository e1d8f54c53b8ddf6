/* infer.metrics: a predictions file from infer.batch scored against the true labels.
 *
 * The predictions' columns say what was predicted: one score_<class> column is a binary
 * classifier (<class> is the positive class), several are a multiclass one, none is a
 * regression. The labels come from the target column of the labels file, read row for row
 * beside the predictions, or of the predictions file itself (infer.batch keeps the target
 * column when the dataset has it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/infer/infer.h"
#include "plugins/ml/metrics.h"
#include "plugins/support/table.h"

typedef struct eval_job {
    weft_ctx *ctx;
    table preds, labels;
    int own_labels;          /* labels come from a separate file */
    long pred_col, truth_col;
    model_objective objective;
    const char **classes;    /* from the score columns' names */
    size_t nclasses;
    metrics *m;
} eval_job;

/* The objective and classes, from the score columns. */
static int read_columns(eval_job *e)
{
    table *p = &e->preds;
    size_t prefix = strlen(SCORE_PREFIX);
    if ((e->pred_col = csv_find(p->header, p->ncols, PREDICTION_COLUMN)) < 0)
        return weft_fail(e->ctx, "infer.metrics: %s is not a predictions file: it has no '%s' "
                         "column (infer.batch writes one)", p->name, PREDICTION_COLUMN);
    e->classes = calloc(p->ncols, sizeof *e->classes);
    for (size_t c = 0; c < p->ncols; c++)
        if (strncmp(p->header[c], SCORE_PREFIX, prefix) == 0)
            e->classes[e->nclasses++] = p->header[c] + prefix;
    e->objective = e->nclasses == 0 ? OBJ_REGRESSION
                   : e->nclasses == 1 ? OBJ_BINARY : OBJ_MULTICLASS;
    if (e->objective == OBJ_BINARY) { /* class index 1 is the positive class */
        e->classes[1] = e->classes[0];
        e->classes[0] = "(other)";
        e->nclasses = 2;
    }
    return WEFT_OK;
}

static size_t class_index(const eval_job *e, const char *label)
{
    if (e->objective == OBJ_BINARY)
        return strcmp(label, e->classes[1]) == 0;
    for (size_t c = 0; c < e->nclasses; c++)
        if (strcmp(label, e->classes[c]) == 0)
            return c;
    return e->nclasses;
}

static int add_row(eval_job *e, const char *truth, const char *predicted, const char *score)
{
    table *t = e->own_labels ? &e->labels : &e->preds;
    double y, yhat, s = NAN;
    if (csv_is_null(truth))
        return weft_fail(e->ctx, "infer.metrics: %s: line %zu: the label is missing", t->name,
                         t->csv.line);
    if (e->objective != OBJ_REGRESSION) {
        if (score && !csv_is_null(score) && csv_number(score, &s) != 0)
            return weft_fail(e->ctx, "infer.metrics: %s: line %zu: the score '%.40s' is not "
                             "a number", e->preds.name, e->preds.csv.line, score);
        metrics_add_class(e->m, class_index(e, truth), class_index(e, predicted), s);
        return WEFT_OK;
    }
    if (csv_number(truth, &y) != 0)
        return weft_fail(e->ctx, "infer.metrics: %s: line %zu: the label '%.40s' is not a "
                         "number (the predictions are a regression's)", t->name, t->csv.line,
                         truth);
    if (csv_number(predicted, &yhat) != 0)
        return weft_fail(e->ctx, "infer.metrics: %s: line %zu: the prediction '%.40s' is not "
                         "a number", e->preds.name, e->preds.csv.line, predicted);
    metrics_add_value(e->m, y, yhat);
    return WEFT_OK;
}

static int score_rows(eval_job *e)
{
    long score_col = -1;
    if (e->objective == OBJ_BINARY) {
        char name[512];
        snprintf(name, sizeof name, "%s%s", SCORE_PREFIX, e->classes[1]);
        score_col = csv_find(e->preds.header, e->preds.ncols, name);
    }
    int a, b = 1;
    while ((a = table_next(&e->preds)) == 1) {
        if (e->own_labels && (b = table_next(&e->labels)) != 1)
            break;
        table *t = e->own_labels ? &e->labels : &e->preds;
        if (add_row(e, t->csv.fields[e->truth_col], e->preds.csv.fields[e->pred_col],
                    score_col >= 0 ? e->preds.csv.fields[score_col] : NULL) != WEFT_OK)
            return WEFT_FAIL;
    }
    if (a < 0 || b < 0)
        return WEFT_FAIL;
    if (e->own_labels && (a == 1 || (b = table_next(&e->labels)) != 0))
        return b < 0 ? WEFT_FAIL
               : weft_fail(e->ctx, "infer.metrics: %s and %s have different row counts (%s "
                           "ends first)", e->preds.name, e->labels.name,
                           a == 1 ? e->labels.name : e->preds.name);
    if (metrics_rows(e->m) == 0)
        return weft_fail(e->ctx, "infer.metrics: %s has no rows", e->preds.name);
    return WEFT_OK;
}

static int open_tables(eval_job *e)
{
    const char *target = NULL;
    weft_input_string(e->ctx, "target", &target);
    int rc = table_open(e->ctx, "infer.metrics", "predictions", &e->preds);
    if (rc != WEFT_OK)
        return rc;
    const char *ignored;
    e->own_labels = weft_input_json(e->ctx, "labels", &ignored) == WEFT_OK;
    if (e->own_labels && (rc = table_open(e->ctx, "infer.metrics", "labels", &e->labels)) !=
                             WEFT_OK) {
        e->own_labels = 0;
        return rc;
    }
    if ((rc = read_columns(e)) != WEFT_OK)
        return rc;
    e->truth_col = table_column(e->own_labels ? &e->labels : &e->preds, target ? target : "");
    return e->truth_col < 0 ? WEFT_FAIL : WEFT_OK;
}

int infer_metrics_run(weft_ctx *ctx)
{
    eval_job e = {.ctx = ctx};
    int rc = open_tables(&e);
    if (rc == WEFT_OK) {
        e.m = metrics_new(e.objective, e.nclasses, e.classes);
        rc = score_rows(&e);
    }
    if (rc == WEFT_OK) {
        json_t *report = metrics_json(e.m);
        json_object_set_new(report, "objective",
                            json_string(model_objective_name(e.objective)));
        char *text = json_dumps(report, JSON_COMPACT | JSON_REAL_PRECISION(10));
        weft_log(ctx, "infer.metrics: %s", text);
        rc = weft_output_json(ctx, "metrics", text) == WEFT_OK ? WEFT_OK : WEFT_FAIL;
        free(text);
        json_decref(report);
    }
    metrics_free(e.m);
    free(e.classes);
    table_close(&e.preds);
    if (e.own_labels)
        table_close(&e.labels);
    return rc;
}
