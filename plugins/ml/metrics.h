/* metrics: evaluation metrics of predictions against labels, accumulated row by row.
 *
 *   binary      accuracy, precision, recall, f1 (of the positive class, index 1), auc (from
 *               the positive class's scores, ties averaged), and the confusion counts
 *   multiclass  accuracy, macro_f1 and each class's precision, recall and f1
 *   regression  rmse, mae, r2
 *
 * Memory is constant per row except for AUC, which keeps each score (12 bytes a row). */
#ifndef WEFT_PLUGIN_METRICS_H
#define WEFT_PLUGIN_METRICS_H

#include <stddef.h>

#include <jansson.h>

#include "plugins/ml/modelfile.h"

typedef struct metrics metrics;

/* classes are the labels (for the per-class report; may be NULL for binary/regression). */
metrics *metrics_new(model_objective objective, size_t nclasses, const char *const *classes);
/* A classified row: truth and predicted class indexes; truth == nclasses stands for a label
 * the model does not know (always an error). score is the positive class's score (binary;
 * NAN when there is none, and then there is no AUC). */
void metrics_add_class(metrics *m, size_t truth, size_t predicted, double score);
/* A regression row. */
void metrics_add_value(metrics *m, double truth, double predicted);
size_t metrics_rows(const metrics *m);
/* The report, a new JSON object ({"rows": n, ...}). */
json_t *metrics_json(metrics *m);
void metrics_free(metrics *m);

#endif
