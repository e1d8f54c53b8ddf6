/* linear: what the liblinear trainer and predictor share: the solvers by name, and a row
 * turned into liblinear's sparse form. */
#ifndef WEFT_ML_LINEAR_H
#define WEFT_ML_LINEAR_H

#include <stddef.h>

#include <jansson.h>
#include <linear.h>

#define LINEAR_BIAS 1.0

typedef struct linear_solver {
    const char *name;  /* "logistic" */
    int type;          /* L2R_LR */
    int classifies;    /* 1 for classification, 0 for regression */
    double eps;        /* liblinear's default stopping tolerance */
} linear_solver;

/* The solver called name, or NULL. */
const linear_solver *linear_solver_find(const char *name);

/* A standardization: (x - mean) / std per feature; NULL arrays mean none. */
typedef struct linear_scale {
    double *mean, *std;
} linear_scale;

/* Reads meta.scale ({"mean": [...], "std": [...]} of nfeat numbers) into s (all NULL when
 * meta has none); 0, or -1 when it is malformed. */
int linear_scale_read(const json_t *meta, size_t nfeat, linear_scale *s);
json_t *linear_scale_json(const linear_scale *s, size_t nfeat);
void linear_scale_free(linear_scale *s);

/* Writes row x (nfeat values, NAN missing) as liblinear nodes: each standardized nonzero
 * feature (a missing one is the mean, so it is left out), the bias term, and the -1
 * terminator. nodes has room for nfeat + 2. Returns how many nodes were written. */
size_t linear_nodes(const float *x, size_t nfeat, const linear_scale *s,
                    struct feature_node *nodes);

#endif
