/* embed.encode: a shard of chunks -> their vectors (.npy) and ids (JSON). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/embed/embed.h"
#include "plugins/embed/npy.h"
#include "plugins/support/input.h"

typedef struct shard {
    json_t *ids;             /* array of chunk ids */
    char **texts;
    size_t *lens;
    size_t n, cap;
} shard;

static int read_shard(weft_ctx *ctx, const char *path, const char *name, shard *s)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return weft_fail(ctx, "embed.encode: cannot read %s: %s", name, strerror(errno));
    s->ids = json_array();
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = WEFT_OK;
    while (rc == WEFT_OK && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t err;
        json_t *c = json_loadb(line, (size_t)len, 0, &err);
        const char *id = json_string_value(json_object_get(c, "id"));
        json_t *text = json_object_get(c, "text");
        if (!id || !json_is_string(text)) {
            rc = weft_fail(ctx, "embed.encode: %s: line %zu is not a chunk ({id, text, ...}): "
                           "%s", name, lineno, c ? "a field is missing" : err.text);
        } else {
            if (s->n == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 256;
                s->texts = realloc(s->texts, s->cap * sizeof *s->texts);
                s->lens = realloc(s->lens, s->cap * sizeof *s->lens);
            }
            s->lens[s->n] = json_string_length(text);
            s->texts[s->n] = malloc(s->lens[s->n] + 1);
            memcpy(s->texts[s->n], json_string_value(text), s->lens[s->n] + 1);
            s->n++;
            json_array_append_new(s->ids, json_string(id));
        }
        json_decref(c);
    }
    free(line);
    fclose(f);
    return rc;
}

static void shard_free(shard *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->texts[i]);
    free(s->texts);
    free(s->lens);
    json_decref(s->ids);
}

static int write_outputs(weft_ctx *ctx, const encoder *e, const shard *s, const float *v)
{
    const char *vpath, *ipath;
    if (weft_output_path(ctx, "vectors", &vpath) != WEFT_OK ||
        weft_output_path(ctx, "ids", &ipath) != WEFT_OK)
        return weft_fail(ctx, "embed.encode: no staging paths for the outputs");
    FILE *f = fopen(vpath, "wb");
    int bad = !f || npy_write(f, v, s->n, e->dim) != 0;
    if (f && fclose(f) != 0)
        bad = 1;
    json_t *doc = json_pack("{s:O}", "ids", s->ids);
    encoder_to_json(e, doc);
    bad |= json_dump_file(doc, ipath, JSON_COMPACT) != 0;
    json_decref(doc);
    if (bad)
        return weft_fail(ctx, "embed.encode: cannot write the outputs: %s", strerror(errno));
    return weft_output_int(ctx, "count", (int64_t)s->n) == WEFT_OK ? WEFT_OK : WEFT_FAIL;
}

int embed_encode_run(weft_ctx *ctx)
{
    const char *path;
    char name[256];
    encoder e;
    if (plugin_input_file(ctx, "embed.encode", "shard", &path, name, sizeof name) != WEFT_OK)
        return WEFT_FAIL;
    int rc = encoder_open(ctx, "embed.encode", NULL, &e);
    if (rc != WEFT_OK)
        return rc;
    shard s = {0};
    float *v = NULL;
    rc = read_shard(ctx, path, name, &s);
    if (rc == WEFT_OK)
        rc = encoder_run(ctx, "embed.encode", &e, (const char *const *)s.texts, s.lens, s.n,
                         &v);
    if (rc == WEFT_OK) {
        rc = write_outputs(ctx, &e, &s, v);
        weft_log(ctx, "embed.encode: %s: %zu chunks, %s backend %s, %zu dimensions", name, s.n,
                 e.backend, e.model, e.dim);
    }
    free(v);
    shard_free(&s);
    encoder_close(&e);
    return rc;
}
