/* predict_xgb: XGBoost models (a UBJSON booster) through XGBoost's C API. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include "plugins/ml/predict.h"
#include "plugins/ml/xgb.h"

const char *xgb_last_error(char *buf, size_t n)
{
    const char *e = XGBGetLastError();
    if (e[0] == '[' && strstr(e, "] "))
        e = strstr(e, "] ") + 2;
    const char *loc = strstr(e, ": ");
    if (loc && memchr(e, ':', (size_t)(loc - e)) && !memchr(e, ' ', (size_t)(loc - e)))
        e = loc + 2; /* "src/learner.cc:123: " */
    size_t len = strcspn(e, "\n");
    snprintf(buf, n, "%.*s", (int)len, e);
    return buf;
}

/* Below this many rows a prediction runs on one thread: waking a thread pool costs more
 * (milliseconds) than the rows do. */
#define XGB_ONE_THREAD_ROWS 2048

typedef struct xgb {
    BoosterHandle b;
    int one_thread;  /* the booster's nthread is 1 (else: every core) */
} xgb;

static void *xgb_open(const modelfile *m, const char *workdir, char *err, size_t n)
{
    (void)workdir;
    BoosterHandle b = NULL;
    char why[512];
    bst_ulong nfeat = 0;
    if (XGBoosterCreate(NULL, 0, &b) != 0 ||
        XGBoosterLoadModelFromBuffer(b, m->payload, (bst_ulong)m->payload_len) != 0 ||
        XGBoosterGetNumFeature(b, &nfeat) != 0) {
        snprintf(err, n, "xgboost cannot load the model: %s", xgb_last_error(why, sizeof why));
        XGBoosterFree(b);
        return NULL;
    }
    if (nfeat != m->nfeatures) {
        snprintf(err, n, "the booster takes %llu features but the model lists %zu",
                 (unsigned long long)nfeat, m->nfeatures);
        XGBoosterFree(b);
        return NULL;
    }
    xgb *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, n, "out of memory");
        XGBoosterFree(b);
        return NULL;
    }
    x->b = b;
    return x;
}

static void fill(const modelfile *m, const float *out, size_t rows, double *pred,
                 double *scores)
{
    for (size_t i = 0; i < rows; i++) {
        if (m->objective == OBJ_REGRESSION) {
            pred[i] = out[i];
        } else if (m->objective == OBJ_BINARY) {
            scores[i] = out[i];
            pred[i] = out[i] >= 0.5f ? 1 : 0;
        } else {
            size_t best = 0;
            for (size_t k = 0; k < m->nclasses; k++) {
                scores[i * m->nclasses + k] = out[i * m->nclasses + k];
                if (out[i * m->nclasses + k] > out[i * m->nclasses + best])
                    best = k;
            }
            pred[i] = (double)best;
        }
    }
}

static int xgb_run(void *impl, const modelfile *m, const float *x, size_t rows, double *pred,
                   double *scores, char *err, size_t n)
{
    DMatrixHandle dm = NULL;
    bst_ulong len = 0;
    const float *out = NULL;
    char why[512];
    size_t per_row = m->objective == OBJ_MULTICLASS ? m->nclasses : 1;
    xgb *g = impl;
    int one = rows < XGB_ONE_THREAD_ROWS;
    if (one != g->one_thread && XGBoosterSetParam(g->b, "nthread", one ? "1" : "0") == 0)
        g->one_thread = one;
    if (XGDMatrixCreateFromMat_omp(x, rows, m->nfeatures, NAN, &dm, one ? 1 : 0) != 0 ||
        XGBoosterPredict(g->b, dm, 0, 0, 0, &len, &out) != 0) {
        snprintf(err, n, "xgboost cannot predict: %s", xgb_last_error(why, sizeof why));
        XGDMatrixFree(dm);
        return -1;
    }
    int rc = 0;
    if (len != rows * per_row) {
        snprintf(err, n, "xgboost returned %llu values for %zu rows of %zu",
                 (unsigned long long)len, rows, per_row);
        rc = -1;
    } else {
        fill(m, out, rows, pred, scores);
    }
    XGDMatrixFree(dm);
    return rc;
}

static void xgb_close(void *impl)
{
    xgb *g = impl;
    XGBoosterFree(g->b);
    free(g);
}

const predictor_ops predict_xgb_ops = {"xgboost", xgb_open, xgb_run, xgb_close};
