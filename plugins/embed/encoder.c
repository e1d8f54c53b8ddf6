/* encoder: the embedding backends behind one face. See embed.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/embed/embed.h"
#include "plugins/embed/glove.h"
#include "plugins/embed/hashing.h"
#include "plugins/embed/httpembed.h"
#include "plugins/embed/words.h"

#define HTTP_BATCH 64
#define HTTP_TIMEOUT_MS 60000
#define HTTP_CHECKPOINT_BATCHES 16

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
    if (model && strlen(model) >= sizeof e->model) { /* truncated, it could name another model */
        snprintf(why, n, "model name longer than %zu bytes", sizeof e->model - 1);
        return -1;
    }
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
    int64_t every = HTTP_CHECKPOINT_BATCHES;
    weft_input_int(ctx, "checkpoint_batches", &every);
    if (every < 0)
        return weft_fail(ctx, "%s: checkpoint_batches must be 0 (never) or more, not %lld",
                         task, (long long)every);
    if (c.model && strlen(c.model) >= sizeof e->model)
        return weft_fail(ctx, "%s: http: the model name is longer than %zu bytes", task,
                         sizeof e->model - 1);
    e->checkpoint_batches = (size_t)every;
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

/* The http backend's checkpoint: "weft-encode-checkpoint 1 MODEL DIM DONE\n", then the
 * first DONE rows as float32. A retried attempt (after a 429, a 5xx, a timeout) resumes
 * after them instead of paying for them again. */
static void save_progress(weft_ctx *ctx, const encoder *e, const float *rows, size_t done)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/encode.checkpoint", weft_info(ctx, "workdir"));
    FILE *f = fopen(path, "wb");
    int bad = !f || fprintf(f, "weft-encode-checkpoint 1 %s %zu %zu\n", e->model, e->dim,
                            done) < 0 ||
              fwrite(rows, sizeof *rows * e->dim, done, f) != done;
    if (f && fclose(f) != 0)
        bad = 1;
    if (bad || weft_checkpoint_save(ctx, path) != WEFT_OK)
        weft_log(ctx, "embed.encode: could not save a checkpoint after %zu texts", done);
}

/* Loads the last checkpoint into *out when it is this encoder's; returns the rows done. */
static size_t load_progress(weft_ctx *ctx, encoder *e, size_t n, float **out)
{
    const char *path;
    if (weft_checkpoint(ctx, &path) != WEFT_OK)
        return 0;
    FILE *f = fopen(path, "rb");
    char model[sizeof e->model];
    size_t dim = 0, done = 0;
    int fine = f && fscanf(f, "weft-encode-checkpoint 1 %127s %zu %zu", model, &dim, &done) == 3 &&
               fgetc(f) == '\n' && !strcmp(model, e->model) && dim >= 2 &&
               dim <= ENCODER_DIM_MAX && (!e->dim || dim == e->dim) && done <= n;
    if (fine) {
        *out = malloc(n * dim * sizeof **out);
        fine = fread(*out, sizeof **out * dim, done, f) == done;
    }
    if (f)
        fclose(f);
    if (!fine) {
        free(*out);
        *out = NULL;
        weft_log(ctx, "embed.encode: the checkpoint does not fit these inputs; starting over");
        return 0;
    }
    e->dim = dim;
    weft_log(ctx, "embed.encode: resuming after %zu of %zu texts", done, n);
    return done;
}

static int run_http(weft_ctx *ctx, const char *task, encoder *e, const char *const *texts,
                    const size_t *lens, size_t n, float **out)
{
    size_t step = httpembed_batch_size(e->http), batches = 0;
    size_t first = load_progress(ctx, e, n, out);
    char why[512];
    for (; first < n; first += step) {
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
            vec_normalize(*out + (first + i) * e->dim, e->dim);
        }
        weft_progress(ctx, (double)(first + count), (double)n);
        if (e->checkpoint_batches && ++batches % e->checkpoint_batches == 0 &&
            first + count < n)
            save_progress(ctx, e, *out, first + count);
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
