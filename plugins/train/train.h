/* train: the train plugin's shared pieces.
 *
 * Both trainers take the same inputs (a CSV dataset, the target column, an optional feature
 * list, the objective, a validation fraction and a seed) and give the same outputs (a model
 * file, metrics on the training and validation rows, feature importance). train.c loads
 * the data and writes the outputs; train_xgb.c and train_linear.c fit the models. */
#ifndef WEFT_TRAIN_H
#define WEFT_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <weft/plugin.h>

#include "plugins/ml/modelfile.h"

typedef struct train_job {
    weft_ctx *ctx;
    const char *task;            /* "train.xgboost": prefixes messages */
    char dataset[256];           /* its name as submitted */
    const char *target;
    model_objective objective;
    /* the rows: the training rows first, then the validation rows */
    size_t rows, ntrain, nvalid, nfeat;
    char **features;             /* nfeat names */
    float *x;                    /* rows x nfeat, NAN for a missing value */
    float *y;                    /* class index, or the target value */
    char **classes;              /* nclasses labels, sorted (classification) */
    size_t nclasses;
} train_job;

/* Reads the common inputs and the dataset into job; WEFT_OK, or a failure already
 * reported. */
int train_load(weft_ctx *ctx, const char *task, train_job *job);
void train_free(train_job *job);

/* The model metadata every kind carries (kind, objective, target, features, classes). */
json_t *train_meta(const train_job *job, const char *kind);
/* Writes the model file (meta is consumed), reads it back through the predictor as
 * infer.batch will, and sets the outputs: model, metrics (extra's entries, then each side's
 * accuracy/f1/auc or rmse/mae/r2 merged into extra["train"] and extra["valid"]), and
 * importance (one score per feature, highest first). extra is consumed. */
int train_finish(train_job *job, json_t *meta, const void *payload, size_t len, json_t *extra,
                 const double *importance);

int train_xgboost_run(weft_ctx *ctx);
int train_linear_run(weft_ctx *ctx);

#endif
