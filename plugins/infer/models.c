/* models: see models.h. */
#include "plugins/infer/models.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct kept {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    modelfile model;
    predictor *pred;
    uint64_t used;      /* 0: an empty place */
} kept;

struct models {
    kept v[MODELS_KEPT];
    uint64_t clock;
};

models *models_new(void)
{
    return calloc(1, sizeof(models));
}

static void drop(kept *k)
{
    predictor_close(k->pred);
    modelfile_free(&k->model);
    free(k->path);
    memset(k, 0, sizeof *k);
}

void models_free(models *m)
{
    for (size_t i = 0; m && i < MODELS_KEPT; i++)
        if (m->v[i].used)
            drop(&m->v[i]);
    free(m);
}

int models_get(models *m, const char *path, const char *name, const char *workdir,
               const modelfile **model, predictor **pred, int *hit, char *err, size_t n)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, n, "%s: cannot read it", name);
        return -1;
    }
    kept *place = &m->v[0];
    for (size_t i = 0; i < MODELS_KEPT; i++) {
        kept *k = &m->v[i];
        if (k->used && k->dev == st.st_dev && k->ino == st.st_ino && k->size == st.st_size &&
            !strcmp(k->path, path)) {
            k->used = ++m->clock;
            *model = &k->model;
            *pred = k->pred;
            *hit = 1;
            return 0;
        }
        if (k->used < place->used)
            place = k;
    }
    if (place->used)
        drop(place);
    if (modelfile_read(path, name, &place->model, err, n) < 0)
        return -1;
    if (!(place->pred = predictor_open(&place->model, workdir, err, n))) {
        modelfile_free(&place->model);
        memset(place, 0, sizeof *place);
        return -1;
    }
    place->path = strdup(path);
    place->dev = st.st_dev;
    place->ino = st.st_ino;
    place->size = st.st_size;
    place->used = ++m->clock;
    *model = &place->model;
    *pred = place->pred;
    *hit = 0;
    return 0;
}
