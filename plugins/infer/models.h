/* models: the models an executor has loaded for infer.batch, kept between tasks (the
 * plugin's open() state), so a warm executor predicts without reading and parsing its
 * model again: a handful of small requests cost a lookup, not a load. */
#ifndef WEFT_INFER_MODELS_H
#define WEFT_INFER_MODELS_H

#include "plugins/ml/modelfile.h"
#include "plugins/ml/predict.h"

#define MODELS_KEPT 4 /* the least recently used goes first */

typedef struct models models;

models *models_new(void);
void models_free(models *m);
/* The model at path (a read-only artifact, which never changes in place; known by its
 * path and file identity), loaded now unless kept: 0 with *model and *pred, which stay
 * the cache's (valid until the next call), or -1 with err. hit says which. */
int models_get(models *m, const char *path, const char *name, const char *workdir,
               const modelfile **model, predictor **pred, int *hit, char *err, size_t n);

#endif
