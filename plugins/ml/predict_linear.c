/* predict_linear: liblinear models (logistic regression, linear SVM, SVR). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugins/ml/linear.h"
#include "plugins/ml/predict.h"

static const linear_solver solvers[] = {
    {"logistic", L2R_LR, 1, 0.01},
    {"svm", L2R_L2LOSS_SVC_DUAL, 1, 0.1},
    {"svr", L2R_L2LOSS_SVR, 0, 0.0001},
};

const linear_solver *linear_solver_find(const char *name)
{
    for (size_t i = 0; i < sizeof solvers / sizeof *solvers; i++)
        if (strcmp(solvers[i].name, name) == 0)
            return &solvers[i];
    return NULL;
}

static double *numbers(const json_t *a, size_t n)
{
    if (json_array_size(a) != n)
        return NULL;
    double *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        if (!json_is_number(e)) {
            free(v);
            return NULL;
        }
        v[i] = json_number_value(e);
    }
    return v;
}

int linear_scale_read(const json_t *meta, size_t nfeat, linear_scale *s)
{
    *s = (linear_scale){NULL, NULL};
    json_t *scale = json_object_get(meta, "scale");
    if (!scale)
        return 0;
    s->mean = numbers(json_object_get(scale, "mean"), nfeat);
    s->std = numbers(json_object_get(scale, "std"), nfeat);
    if (s->mean && s->std)
        return 0;
    linear_scale_free(s);
    return -1;
}

json_t *linear_scale_json(const linear_scale *s, size_t nfeat)
{
    json_t *mean = json_array(), *std = json_array();
    for (size_t j = 0; j < nfeat; j++) {
        json_array_append_new(mean, json_real(s->mean[j]));
        json_array_append_new(std, json_real(s->std[j]));
    }
    return json_pack("{s:o, s:o}", "mean", mean, "std", std);
}

void linear_scale_free(linear_scale *s)
{
    free(s->mean);
    free(s->std);
    *s = (linear_scale){NULL, NULL};
}

size_t linear_nodes(const float *x, size_t nfeat, const linear_scale *s,
                    struct feature_node *nodes)
{
    size_t k = 0;
    for (size_t j = 0; j < nfeat; j++) {
        if (isnan(x[j]))
            continue;
        double v = s->mean ? (x[j] - s->mean[j]) / s->std[j] : x[j];
        if (v != 0)
            nodes[k++] = (struct feature_node){(int)j + 1, v};
    }
    nodes[k++] = (struct feature_node){(int)nfeat + 1, LINEAR_BIAS};
    nodes[k++] = (struct feature_node){-1, 0};
    return k;
}

typedef struct linear_impl {
    struct model *model;
    linear_scale scale;
    struct feature_node *nodes;
    double *values;  /* per-label probabilities or decision values */
} linear_impl;

static void linear_close(void *p)
{
    linear_impl *li = p;
    if (!li)
        return;
    free_and_destroy_model(&li->model);
    linear_scale_free(&li->scale);
    free(li->nodes);
    free(li->values);
    free(li);
}

/* liblinear reads models from files only: the payload goes through a scratch file. */
static struct model *load_payload(const modelfile *m, const char *workdir, char *err, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/liblinear-XXXXXX", workdir);
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, m->payload, m->payload_len) != (ssize_t)m->payload_len) {
        snprintf(err, n, "cannot write a scratch file in %s: %s", workdir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    close(fd);
    struct model *model = load_model(path);
    unlink(path);
    if (!model)
        snprintf(err, n, "liblinear cannot read the model");
    return model;
}

static void *linear_open(const modelfile *m, const char *workdir, char *err, size_t n)
{
    linear_impl *li = calloc(1, sizeof *li);
    if (!(li->model = load_payload(m, workdir, err, n))) {
        free(li);
        return NULL;
    }
    if ((size_t)get_nr_feature(li->model) != m->nfeatures) {
        snprintf(err, n, "the liblinear model takes %d features but the model lists %zu",
                 get_nr_feature(li->model), m->nfeatures);
    } else if (linear_scale_read(m->meta, m->nfeatures, &li->scale) < 0) {
        snprintf(err, n, "the model's scale is malformed");
    } else if (m->objective != OBJ_REGRESSION && check_regression_model(li->model)) {
        snprintf(err, n, "the model is a liblinear regression but its metadata says %s",
                 model_objective_name(m->objective));
    } else {
        li->nodes = malloc((m->nfeatures + 2) * sizeof *li->nodes);
        li->values = malloc(((size_t)get_nr_class(li->model) + 1) * sizeof *li->values);
        return li;
    }
    linear_close(li);
    return NULL;
}

/* The scores of a classified row, from liblinear's per-label values. */
static void class_scores(const linear_impl *li, const modelfile *m, double *scores)
{
    const struct model *model = li->model;
    int nr = get_nr_class(model);
    if (m->objective == OBJ_BINARY) {
        /* a two-class model's one decision value is for label[0] */
        int prob = check_probability_model(model);
        int k = model->label[0] == 1 ? 0 : 1;
        scores[0] = prob ? li->values[nr == 2 ? k : 0]
                         : (k == 0 ? li->values[0] : -li->values[0]);
        if (nr < 2)
            scores[0] = model->label[0] == 1 ? 1 : 0;
        return;
    }
    for (size_t c = 0; c < m->nclasses; c++)
        scores[c] = NAN;
    for (int j = 0; j < nr; j++)
        if (model->label[j] >= 0 && (size_t)model->label[j] < m->nclasses)
            scores[model->label[j]] = li->values[j];
}

static int linear_run(void *impl, const modelfile *m, const float *x, size_t rows, double *pred,
                      double *scores, char *err, size_t n)
{
    (void)err;
    (void)n;
    linear_impl *li = impl;
    size_t nscores = m->objective == OBJ_BINARY ? 1 : m->objective == OBJ_MULTICLASS
                                                       ? m->nclasses : 0;
    int prob = check_probability_model(li->model);
    for (size_t i = 0; i < rows; i++) {
        linear_nodes(x + i * m->nfeatures, m->nfeatures, &li->scale, li->nodes);
        if (m->objective == OBJ_REGRESSION) {
            pred[i] = predict(li->model, li->nodes);
            continue;
        }
        pred[i] = prob ? predict_probability(li->model, li->nodes, li->values)
                       : predict_values(li->model, li->nodes, li->values);
        class_scores(li, m, scores + i * nscores);
    }
    return 0;
}

const predictor_ops predict_linear_ops = {"liblinear", linear_open, linear_run, linear_close};
