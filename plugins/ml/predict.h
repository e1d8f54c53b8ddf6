/* predict: runs a model file's payload through the library that wrote it.
 *
 * train.* evaluates the model it just wrote through this, and infer.batch predicts with
 * it, so a model scores the same in both. Kinds: "xgboost" (XGBoost's C API, UBJSON
 * payload) and "liblinear" (liblinear's model text, with a standardization in the
 * metadata). */
#ifndef WEFT_ML_PREDICT_H
#define WEFT_ML_PREDICT_H

#include <stddef.h>

#include "plugins/ml/modelfile.h"

typedef struct predictor predictor;

/* Loads m's payload (m must outlive the predictor). workdir holds any scratch file the
 * library needs. NULL with err when the kind is unknown or the library refuses it. */
predictor *predictor_open(const modelfile *m, const char *workdir, char *err, size_t n);
/* How many scores a row gets: 1 for binary (the score of class index 1: a probability, or
 * an SVM's decision value), the number of classes for multiclass, 0 for regression. */
size_t predictor_nscores(const predictor *p);
/* Predicts rows of x (rows x nfeatures, row-major, NAN for a missing value): pred[i] is the
 * class index, or the value for regression; scores[i * nscores + k] the scores. 0, or -1
 * with err. */
int predictor_run(predictor *p, const float *x, size_t rows, double *pred, double *scores,
                  char *err, size_t n);
void predictor_close(predictor *p);

/* The library backends (predict_xgb.c, predict_linear.c). */
typedef struct predictor_ops {
    const char *kind;
    void *(*open)(const modelfile *m, const char *workdir, char *err, size_t n);
    int (*run)(void *impl, const modelfile *m, const float *x, size_t rows, double *pred,
               double *scores, char *err, size_t n);
    void (*close)(void *impl);
} predictor_ops;

extern const predictor_ops predict_xgb_ops, predict_linear_ops;

#endif
