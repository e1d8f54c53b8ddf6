/* encoder: the embedding backends behind one face. See embed.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/embed/embed.h"
#include "plugins/embed/glove.h"
#include "plugins/embed/hashing.h"
#include "plugins/embed/httpembed.h"

#define HTTP_BATCH 64
#define HTTP_TIMEOUT_MS 60000

int encoder_check(const encoder *e, char *why, size_t n)
{
    if (strcmp(e->backend, "hashing") && strcmp(e->backend, "glove") &&
        strcmp(e->backend, "http")) {
        snprintf(why, n, "backend must be hashing, glove or http, not '%s'", e->backend);
        return -1;
    }
    if (e->dim < 2 || e->dim > ENCODER_DIM_MAX) {
        snprintf(why, n, "dim must be 2 to %d, not %zu", ENCODER_DIM_MAX, e->dim);
        return -1;
    }
    return 0;
}

int encoder_from_json(json_t *obj, encoder *e, char *why, size_t n)
{
    const char *backend = json_string_value(json_object_get(obj, "backend"));
    const char *model = json_string_value(json_object_get(obj, "model"));
    json_int_t dim = json_integer_value(json_object_get(obj, "dim"));
    memset(e, 0, sizeof *e);
    snprintf(e->backend, sizeof e->backend, "%s", backend ? backend : "");
    snprintf(e->model, sizeof e->model, "%s", model ? model : "");
    e->dim = dim > 0 ? (size_t)dim : 0;
    return encoder_check(e, why, n);
}

void encoder_to_json(const encoder *e, json_t *obj)
{
    json_object_set_new(obj, "backend", json_string(e->backend));
    json_object_set_new(obj, "dim", json_integer((json_int_t)e->dim));
    json_object_set_new(obj, "model", json_string(e->model));
}

int encoder_same(const encoder *a, const encoder *b)
{
    return !strcmp(a->backend, b->backend) && a->dim == b->dim && !strcmp(a->model, b->model);
}

static int open_glove(weft_ctx *ctx, const char *task, encoder *e, int64_t dim)
{
    const char *path;
    char why[512];
    if (weft_input_path(ctx, "glove", &path) != WEFT_OK)
        return weft_fail(ctx, "%s: the glove backend needs its vectors file as 'glove' (made "
                         "by scripts/glove.sh)", task);
    if (!(e->glove = glove_open(path, why, sizeof why)))
        return weft_fail(ctx, "%s: glove: %s", task, why);
    e->dim = glove_dim(e->glove);
    snprintf(e->model, sizeof e->model, "%s", glove_name(e->glove));
    if (dim && (size_t)dim != e->dim)
        return weft_fail(ctx, "%s: the glove vectors have %zu dimensions, not %lld", task,
                         e->dim, (long long)dim);
    return WEFT_OK;
}

static int open_http(weft_ctx *ctx, const char *task, const encoder *recorded, encoder *e,
                     int64_t dim)
{
    httpembed_config c = {.key_env = "OPENAI_API_KEY", .batch = HTTP_BATCH,
                          .timeout_ms = HTTP_TIMEOUT_MS};
    int64_t batch = HTTP_BATCH, timeout = HTTP_TIMEOUT_MS;
    char why[512];
    weft_input_string(ctx, "endpoint", &c.endpoint);
    weft_input_string(ctx, "api_key_env", &c.key_env);
    weft_input_int(ctx, "batch", &batch);
    weft_input_duration_ms(ctx, "timeout", &timeout);
    if (recorded)
        c.model = recorded->model;
    else
        weft_input_string(ctx, "model", &c.model);
    c.batch = batch > 0 ? (size_t)batch : 0;
    c.timeout_ms = (long)timeout;
    if (!(e->http = httpembed_open(&c, why, sizeof why)))
        return weft_fail(ctx, "%s: http: %s", task, why);
    snprintf(e->model, sizeof e->model, "%s", c.model);
    e->dim = dim > 0 ? (size_t)dim : 0; /* 0: whatever the endpoint answers */
    return WEFT_OK;
}

int encoder_open(weft_ctx *ctx, const char *task, const encoder *recorded, encoder *e)
{
    const char *backend = "hashing";
    int64_t dim = 0;
    char why[256];
    memset(e, 0, sizeof *e);
    weft_input_string(ctx, "backend", &backend);
    weft_input_int(ctx, "dim", &dim);
    if (recorded) {
        backend = recorded->backend;
        dim = (int64_t)recorded->dim;
    }
    snprintf(e->backend, sizeof e->backend, "%s", backend);
    int rc = WEFT_OK;
    if (!strcmp(backend, "glove")) {
        rc = open_glove(ctx, task, e, recorded ? 0 : dim); /* recorded: compared below */
    } else if (!strcmp(backend, "http")) {
        rc = open_http(ctx, task, recorded, e, dim);
    } else {
        e->dim = dim == 0 ? 384 : dim > 0 ? (size_t)dim : 0;
        if (encoder_check(e, why, sizeof why) < 0)
            rc = weft_fail(ctx, "%s: %s", task, why);
    }
    if (rc == WEFT_OK && recorded && !encoder_same(recorded, e))
        rc = weft_fail(ctx, "%s: the index was encoded by %s %s, but these inputs give %s %s",
                       task, recorded->backend, recorded->model, e->backend, e->model);
    if (rc != WEFT_OK)
        encoder_close(e);
    return rc;
}

static void normalize(float *v, size_t dim)
{
    double norm = 0;
    for (size_t j = 0; j < dim; j++)
        norm += (double)v[j] * v[j];
    for (size_t j = 0; norm > 0 && j < dim; j++)
        v[j] /= (float)sqrt(norm);
}

static int run_http(weft_ctx *ctx, const char *task, encoder *e, const char *const *texts,
                    const size_t *lens, size_t n, float **out)
{
    size_t step = httpembed_batch_size(e->http);
    char why[512];
    for (size_t first = 0; first < n; first += step) {
        size_t count = n - first < step ? n - first : step;
        const float *rows;
        if (weft_cancelled(ctx))
            return weft_fail(ctx, "%s: cancelled after %zu of %zu texts", task, first, n);
        int rc = httpembed_batch(e->http, texts + first, lens + first, count, &rows, &e->dim,
                                 why, sizeof why);
        if (rc == WEFT_RETRY)
            return weft_retry(ctx, "%s: %s (after %zu of %zu texts)", task, why, first, n);
        if (rc != WEFT_OK)
            return weft_fail(ctx, "%s: %s", task, why);
        if (!*out)
            *out = malloc(n * e->dim * sizeof **out);
        for (size_t i = 0; i < count; i++) {
            memcpy(*out + (first + i) * e->dim, rows + i * e->dim, e->dim * sizeof *rows);
            normalize(*out + (first + i) * e->dim, e->dim);
        }
        weft_progress(ctx, (double)(first + count), (double)n);
    }
    return WEFT_OK;
}

int encoder_run(weft_ctx *ctx, const char *task, encoder *e, const char *const *texts,
                const size_t *lens, size_t n, float **out)
{
    *out = NULL;
    if (e->http) {
        int rc = n ? run_http(ctx, task, e, texts, lens, n, out) : WEFT_OK;
        if (rc != WEFT_OK) {
            free(*out);
            *out = NULL;
        } else if (!*out) {
            *out = malloc(sizeof **out);
        }
        return rc;
    }
    *out = malloc((n ? n : 1) * e->dim * sizeof **out);
    for (size_t i = 0; i < n; i++) {
        if (e->glove)
            glove_encode(e->glove, texts[i], lens[i], *out + i * e->dim);
        else
            hashing_encode(texts[i], lens[i], *out + i * e->dim, e->dim);
    }
    return WEFT_OK;
}

void encoder_close(encoder *e)
{
    glove_close(e->glove);
    httpembed_close(e->http);
    e->glove = NULL;
    e->http = NULL;
}
