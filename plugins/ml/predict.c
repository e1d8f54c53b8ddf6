/* predict: see predict.h. */
#include "plugins/ml/predict.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const predictor_ops *const backends[] = {&predict_xgb_ops, &predict_linear_ops};

struct predictor {
    const predictor_ops *ops;
    const modelfile *m;
    void *impl;
};

predictor *predictor_open(const modelfile *m, const char *workdir, char *err, size_t n)
{
    const predictor_ops *ops = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
        if (strcmp(backends[i]->kind, m->kind) == 0)
            ops = backends[i];
    if (!ops) {
        snprintf(err, n, "a model of kind '%s' is not one weft can run (xgboost, liblinear)",
                 m->kind);
        return NULL;
    }
    void *impl = ops->open(m, workdir, err, n);
    if (!impl)
        return NULL;
    predictor *p = malloc(sizeof *p);
    *p = (predictor){ops, m, impl};
    return p;
}

size_t predictor_nscores(const predictor *p)
{
    switch (p->m->objective) {
    case OBJ_BINARY: return 1;
    case OBJ_MULTICLASS: return p->m->nclasses;
    case OBJ_REGRESSION: return 0;
    }
    return 0;
}

int predictor_run(predictor *p, const float *x, size_t rows, double *pred, double *scores,
                  char *err, size_t n)
{
    return p->ops->run(p->impl, p->m, x, rows, pred, scores, err, n);
}

void predictor_close(predictor *p)
{
    if (!p)
        return;
    p->ops->close(p->impl);
    free(p);
}
