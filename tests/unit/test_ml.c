/* Unit tests of the train and infer plugins' pure logic: metrics and model files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugins/ml/metrics.h"
#include "plugins/ml/modelfile.h"
#include "tests/unit/selftest.h"

static double get(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

static int binary(void)
{
    int fails = 0;
    size_t truth[] = {1, 1, 0, 0, 1}, pred[] = {1, 0, 0, 1, 1};
    double score[] = {0.9, 0.4, 0.2, 0.6, 0.8};
    metrics *m = metrics_new(OBJ_BINARY, 2, NULL);
    for (int i = 0; i < 5; i++)
        metrics_add_class(m, truth[i], pred[i], score[i]);
    json_t *r = metrics_json(m);
    CHECK(NEAR(get(r, "accuracy"), 0.6));
    CHECK(NEAR(get(r, "precision"), 2.0 / 3) && NEAR(get(r, "recall"), 2.0 / 3));
    CHECK(NEAR(get(r, "f1"), 2.0 / 3));
    CHECK(NEAR(get(r, "auc"), 5.0 / 6)); /* 5 of the 6 positive-negative pairs ordered */
    CHECK(get(json_object_get(r, "confusion"), "tp") == 2);
    CHECK(get(json_object_get(r, "confusion"), "tn") == 1);
    json_decref(r);
    metrics_free(m);

    m = metrics_new(OBJ_BINARY, 2, NULL); /* every score tied: AUC is a coin's */
    for (int i = 0; i < 6; i++)
        metrics_add_class(m, (size_t)(i % 2), 1, 0.5);
    r = metrics_json(m);
    CHECK(NEAR(get(r, "auc"), 0.5));
    json_decref(r);
    metrics_free(m);

    m = metrics_new(OBJ_BINARY, 2, NULL); /* one class only: no AUC, no precision */
    metrics_add_class(m, 0, 0, 0.1);
    metrics_add_class(m, 0, 0, 0.2);
    r = metrics_json(m);
    CHECK(json_is_null(json_object_get(r, "auc")));
    CHECK(json_is_null(json_object_get(r, "precision")) && get(r, "f1") == 0);
    json_decref(r);
    metrics_free(m);

    m = metrics_new(OBJ_BINARY, 2, NULL); /* a row without a score: no AUC at all */
    metrics_add_class(m, 1, 1, 0.9);
    metrics_add_class(m, 0, 0, NAN);
    r = metrics_json(m);
    CHECK(json_object_get(r, "auc") == NULL && NEAR(get(r, "accuracy"), 1));
    json_decref(r);
    metrics_free(m);
    return fails;
}

static int multiclass_and_regression(void)
{
    int fails = 0;
    const char *classes[] = {"a", "b", "c"};
    metrics *m = metrics_new(OBJ_MULTICLASS, 3, classes);
    metrics_add_class(m, 0, 0, NAN);
    metrics_add_class(m, 1, 1, NAN);
    metrics_add_class(m, 2, 1, NAN);
    metrics_add_class(m, 3, 2, NAN); /* a label the model does not know: always wrong */
    json_t *r = metrics_json(m);
    CHECK(NEAR(get(r, "accuracy"), 0.5));
    json_t *b = json_object_get(json_object_get(r, "classes"), "b");
    CHECK(NEAR(get(b, "precision"), 0.5) && NEAR(get(b, "recall"), 1));
    /* f1: a 1, b 2/3, c 0 */
    CHECK(NEAR(get(r, "macro_f1"), (1 + 2.0 / 3) / 3));
    json_decref(r);
    metrics_free(m);

    m = metrics_new(OBJ_REGRESSION, 0, NULL);
    double y[] = {1, 2, 3, 4}, yhat[] = {1, 2, 3, 5};
    for (int i = 0; i < 4; i++)
        metrics_add_value(m, y[i], yhat[i]);
    r = metrics_json(m);
    CHECK(NEAR(get(r, "rmse"), 0.5) && NEAR(get(r, "mae"), 0.25));
    CHECK(NEAR(get(r, "r2"), 0.8)); /* 1 - 1 / 5 */
    CHECK(get(r, "rows") == 4);
    json_decref(r);
    metrics_free(m);
    return fails;
}

int test_metrics(void)
{
    return binary() + multiclass_and_regression();
}

/* Writes text to a scratch file and reads it as a model; the error, or "" when it reads. */
static const char *read_text(const char *text, char *err, size_t n)
{
    size_t len = strlen(text);
    char path[] = "/tmp/weft-model-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len)
        return "cannot write a scratch file";
    close(fd);
    modelfile m;
    err[0] = '\0';
    if (modelfile_read(path, "m.weft", &m, err, n) == 0)
        modelfile_free(&m);
    unlink(path);
    return err;
}

#define META                                                                   \
    "{\"kind\":\"xgboost\",\"objective\":\"binary\",\"target\":\"y\",\"features\":[\"a\"]," \
    "\"classes\":[\"0\",\"1\"],\"payload_bytes\":3}"

int test_modelfile(void)
{
    int fails = 0;
    char path[] = "/tmp/weft-model-XXXXXX", err[512];
    close(mkstemp(path));
    json_t *meta = json_pack("{s:s, s:s, s:s, s:[s, s], s:[s, s, s]}", "kind", "liblinear",
                             "objective", "multiclass", "target", "species", "features", "x1",
                             "x2", "classes", "a", "b", "c");
    CHECK(modelfile_write(path, meta, "PAYLOAD\n\0x", 10, err, sizeof err) == 0);
    json_decref(meta);
    modelfile m;
    CHECK(modelfile_read(path, "m.weft", &m, err, sizeof err) == 0);
    CHECK_STR(m.kind, "liblinear");
    CHECK_STR(m.target, "species");
    CHECK(m.objective == OBJ_MULTICLASS && m.nfeatures == 2 && m.nclasses == 3);
    CHECK_STR(m.features[1], "x2");
    CHECK_STR(m.classes[2], "c");
    CHECK(m.payload_len == 10 && memcmp(m.payload, "PAYLOAD\n\0x", 10) == 0);
    modelfile_free(&m);
    unlink(path);

    CHECK_STR(read_text("weft-model 1\n" META "\nabc", err, sizeof err),
              "");
    CHECK_STR(read_text("id,x\n1,2\n", err, sizeof err),
              "m.weft is not a usable weft model: it does not start with 'weft-model' (models "
              "come from train.xgboost or train.linear)");
    CHECK_STR(read_text("weft-model 2\n{}\n", err, sizeof err),
              "m.weft is not a usable weft model: model format 2; this weft reads format 1");
    CHECK_STR(read_text("weft-model 1\n" META "\nab", err, sizeof err),
              "m.weft is not a usable weft model: the payload is truncated (2 of 3 bytes)");
    CHECK_STR(read_text("weft-model 1\n" META "\nabcd", err, sizeof err),
              "m.weft is not a usable weft model: there are bytes after the payload");
    CHECK_STR(read_text("weft-model 1\n[1]\n", err, sizeof err),
              "m.weft is not a usable weft model: its metadata lacks kind, target or a known "
              "objective");
    CHECK_STR(read_text("weft-model 1\n{\"kind\":\"x\",\"objective\":\"binary\",\"target\":\"y\","
                        "\"features\":[\"a\"],\"classes\":[\"1\"]}\n", err, sizeof err),
              "m.weft is not a usable weft model: a classifier's metadata needs two or more "
              "classes");
    model_objective o;
    CHECK(model_objective_parse("regression", &o) == 0 && o == OBJ_REGRESSION);
    CHECK(model_objective_parse("ranking", &o) < 0);
    return fails;
}
