/* embed.index and embed.search: a FAISS index over encoded shards, and top-k queries. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/embed/embed.h"
#include "plugins/embed/indexfile.h"
#include "plugins/embed/npy.h"
#include "plugins/embed/words.h"
#include "plugins/support/clock.h"
#include "plugins/support/input.h"
#include "plugins/support/rand.h"

#define RECALL_QUERIES 500
#define RECALL_K 10

typedef struct corpus {
    encoder enc;
    float *x;        /* n x enc.dim */
    size_t n;
    json_t *ids;
} corpus;

/* Reads one encoded shard (its vectors and its ids file) onto the end of c. */
static int add_shard(weft_ctx *ctx, corpus *c, size_t i)
{
    const char *vpath, *ipath;
    char why[256];
    float *x = NULL;
    size_t rows, cols;
    if (weft_input_path_at(ctx, "vectors", i, &vpath) != WEFT_OK ||
        weft_input_path_at(ctx, "ids", i, &ipath) != WEFT_OK)
        return weft_fail(ctx, "embed.index: shard %zu: its vectors or ids are not readable", i);
    if (npy_read(vpath, &x, &rows, &cols, why, sizeof why) < 0)
        return weft_fail(ctx, "embed.index: vectors[%zu]: %s", i, why);
    json_t *doc = json_load_file(ipath, 0, NULL);
    json_t *ids = json_object_get(doc, "ids");
    encoder e;
    int rc = WEFT_OK;
    if (json_is_array(ids) && json_array_size(ids) == 0 && rows == 0) {
        /* an empty shard: nothing to add, and its encoder may be unknown (http learns the
         * dimension from its first answer) */
    } else if (!json_is_array(ids) || encoder_from_json(doc, &e, why, sizeof why) < 0) {
        rc = weft_fail(ctx, "embed.index: ids[%zu] is not an ids file from embed.encode", i);
    } else if (json_array_size(ids) != rows || e.dim != cols) {
        rc = weft_fail(ctx, "embed.index: shard %zu: %zu ids for %zu vectors of %zu dimensions "
                       "(encoded as %zu)", i, json_array_size(ids), rows, cols, e.dim);
    } else if (c->ids && !encoder_same(&e, &c->enc)) {
        rc = weft_fail(ctx, "embed.index: shard %zu was encoded by %s %s/%zu, an earlier one by "
                       "%s %s/%zu", i, e.backend, e.model, e.dim, c->enc.backend,
                       c->enc.model, c->enc.dim);
    } else {
        if (!c->ids) {
            c->enc = e;
            c->ids = json_array();
        }
        c->x = realloc(c->x, (c->n + rows + 1) * e.dim * sizeof *c->x);
        memcpy(c->x + c->n * e.dim, x, rows * e.dim * sizeof *x);
        c->n += rows;
        json_array_extend(c->ids, ids);
    }
    json_decref(doc);
    free(x);
    return rc;
}

/* recall@10 of v against exact search, over queries that blend two random corpus vectors
 * (so none is a corpus vector itself). */
static int measure_recall(weft_ctx *ctx, const corpus *c, const vindex *v, double *recall)
{
    size_t nq = c->n < RECALL_QUERIES ? c->n : RECALL_QUERIES, d = c->enc.dim, k = RECALL_K;
    float *q = calloc(nq * d, sizeof *q), *s = malloc(2 * nq * k * sizeof *s);
    int64_t *got = malloc(2 * nq * k * sizeof *got);
    uint64_t seed = 1;
    for (size_t i = 0; i < nq; i++) {
        size_t a = rand_next(&seed) % c->n, b = rand_next(&seed) % c->n;
        for (size_t j = 0; j < d; j++)
            q[i * d + j] = c->x[a * d + j] + c->x[b * d + j];
        vec_normalize(q + i * d, d);
    }
    char err[256];
    vindex_params flat = {.method = "exact"};
    vindex *exact = vindex_build(&flat, d, c->x, c->n, err, sizeof err);
    int rc = exact && vindex_search(exact, q, nq, k, s, got, err, sizeof err) == 0 &&
             vindex_search(v, q, nq, k, s + nq * k, got + nq * k, err, sizeof err) == 0
             ? WEFT_OK : weft_fail(ctx, "embed.index: measuring recall: %s", err);
    size_t found = 0, wanted = 0;
    for (size_t i = 0; rc == WEFT_OK && i < nq; i++)
        for (size_t a = 0; a < k; a++) {
            if (got[i * k + a] < 0)
                continue;
            wanted++;
            for (size_t b = 0; b < k; b++)
                found += got[nq * k + i * k + b] == got[i * k + a];
        }
    *recall = wanted ? (double)found / (double)wanted : 1;
    vindex_free(exact);
    free(q);
    free(s);
    free(got);
    return rc;
}

typedef struct index_params {
    const char *method;
    int64_t m, ef_construction, ef_search; /* hnsw */
    int64_t nlist, nprobe;                 /* ivf; nlist 0: about sqrt(vectors) */
} index_params;

static int read_params(weft_ctx *ctx, index_params *p, size_t *nshards)
{
    *p = (index_params){"hnsw", 32, 200, 128, 0, 32};
    weft_input_string(ctx, "method", &p->method);
    weft_input_int(ctx, "m", &p->m);
    weft_input_int(ctx, "ef_construction", &p->ef_construction);
    weft_input_int(ctx, "ef_search", &p->ef_search);
    weft_input_int(ctx, "nlist", &p->nlist);
    weft_input_int(ctx, "nprobe", &p->nprobe);
    size_t nids = 0;
    weft_input_len(ctx, "vectors", nshards);
    weft_input_len(ctx, "ids", &nids);
    if (strcmp(p->method, "hnsw") && strcmp(p->method, "exact") && strcmp(p->method, "ivf"))
        return weft_fail(ctx, "embed.index: method must be hnsw, ivf or exact, not '%s'",
                         p->method);
    if (p->m < 2 || p->m > 512 || p->ef_construction < 1 || p->ef_search < 1 ||
        p->ef_construction > 100000 || p->ef_search > 100000)
        return weft_fail(ctx, "embed.index: m must be 2 to 512, ef_construction and ef_search "
                         "1 to 100000");
    if (p->nlist < 0 || p->nlist > 1000000 || p->nprobe < 1 || p->nprobe > 1000000)
        return weft_fail(ctx, "embed.index: nlist must be 1 to 1000000 (or 0: about the square "
                         "root of the vectors), nprobe 1 to 1000000");
    if (*nshards != nids)
        return weft_fail(ctx, "embed.index: %zu vectors files but %zu ids files", *nshards,
                         nids);
    return WEFT_OK;
}

static int save(weft_ctx *ctx, const corpus *c, const index_params *p, const vindex *v,
                double recall, double secs)
{
    const char *path;
    char err[256];
    if (weft_output_path(ctx, "index", &path) != WEFT_OK)
        return weft_fail(ctx, "embed.index: no staging path for the index");
    json_t *meta = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "method", p->method,
                             "count", (json_int_t)c->n, "m", (json_int_t)p->m,
                             "ef_construction", (json_int_t)p->ef_construction, "ef_search",
                             (json_int_t)p->ef_search, "nlist", (json_int_t)p->nlist,
                             "nprobe", (json_int_t)p->nprobe, "recall_at_10", recall);
    encoder_to_json(&c->enc, meta);
    int rc = indexfile_write(path, meta, c->ids, v, err, sizeof err);
    json_decref(meta);
    if (rc < 0)
        return weft_fail(ctx, "embed.index: %s", err);
    weft_log(ctx, "embed.index: %zu vectors, %s, built in %.2f s; recall@10 against exact "
             "%.4f", c->n, p->method, secs, recall);
    return weft_output_int(ctx, "count", (int64_t)c->n) == WEFT_OK &&
           weft_output_float(ctx, "recall_at_10", recall) == WEFT_OK ? WEFT_OK : WEFT_FAIL;
}

int embed_index_run(weft_ctx *ctx)
{
    index_params p;
    size_t nshards = 0;
    int rc = read_params(ctx, &p, &nshards);
    corpus c = {0};
    for (size_t i = 0; rc == WEFT_OK && i < nshards; i++)
        rc = add_shard(ctx, &c, i);
    if (rc == WEFT_OK && c.n == 0)
        rc = weft_fail(ctx, "embed.index: there are no vectors to index");
    vindex *v = NULL;
    char err[256];
    double start = plugin_seconds(), recall = 1;
    if (rc == WEFT_OK && p.nlist == 0)
        p.nlist = (int64_t)ceil(sqrt((double)c.n));
    if (rc == WEFT_OK && p.nlist > (int64_t)c.n)
        rc = weft_fail(ctx, "embed.index: nlist %lld is more than the %zu vectors to index",
                       (long long)p.nlist, c.n);
    vindex_params vp = {p.method, (size_t)p.m, (size_t)p.ef_construction, (size_t)p.nlist};
    if (rc == WEFT_OK && !(v = vindex_build(&vp, c.enc.dim, c.x, c.n, err, sizeof err)))
        rc = weft_fail(ctx, "embed.index: %s", err);
    double secs = plugin_seconds() - start;
    if (v)
        vindex_set_search(v, (size_t)p.ef_search, (size_t)p.nprobe);
    if (rc == WEFT_OK && strcmp(p.method, "exact") != 0)
        rc = measure_recall(ctx, &c, v, &recall);
    if (rc == WEFT_OK)
        rc = save(ctx, &c, &p, v, recall, secs);
    vindex_free(v);
    free(c.x);
    json_decref(c.ids);
    return rc;
}

/* ---- embed.search ---- */

static json_t *hits(const indexfile *x, const float *s, const int64_t *l, size_t k)
{
    json_t *a = json_array();
    for (size_t j = 0; j < k; j++)
        if (l[j] >= 0)
            json_array_append_new(a, json_pack("{s:O, s:f}", "id",
                                               json_array_get(x->ids, (size_t)l[j]), "score",
                                               (double)s[j]));
    return a;
}

int embed_search_run(weft_ctx *ctx)
{
    const char *path;
    char name[256], err[512];
    int64_t k = 10, ef = 0, nprobe = 0;
    size_t nq = 0;
    weft_input_int(ctx, "k", &k);
    weft_input_int(ctx, "ef_search", &ef);
    weft_input_int(ctx, "nprobe", &nprobe);
    weft_input_len(ctx, "queries", &nq);
    if (k < 1 || k > 1000)
        return weft_fail(ctx, "embed.search: k must be 1 to 1000, not %lld", (long long)k);
    if (plugin_input_file(ctx, "embed.search", "index", &path, name, sizeof name) != WEFT_OK)
        return WEFT_FAIL;
    indexfile x;
    if (indexfile_read(path, name, &x, err, sizeof err) < 0)
        return weft_fail(ctx, "embed.search: %s", err);
    if (ef <= 0)
        ef = json_integer_value(json_object_get(x.meta, "ef_search"));
    if (nprobe <= 0)
        nprobe = json_integer_value(json_object_get(x.meta, "nprobe"));
    vindex_set_search(x.index, (size_t)(ef > 0 ? ef : 1), (size_t)(nprobe > 0 ? nprobe : 1));
    const char **texts = calloc(nq ? nq : 1, sizeof *texts);
    size_t *lens = calloc(nq ? nq : 1, sizeof *lens);
    for (size_t i = 0; i < nq; i++) {
        weft_input_string_at(ctx, "queries", i, &texts[i]);
        lens[i] = texts[i] ? strlen(texts[i]) : 0;
        if (!texts[i])
            texts[i] = "";
    }
    encoder e;
    float *q = NULL;
    float *s = malloc((nq ? nq : 1) * (size_t)k * sizeof *s);
    int64_t *l = malloc((nq ? nq : 1) * (size_t)k * sizeof *l);
    int rc = encoder_open(ctx, "embed.search", &x.enc, &e);
    if (rc == WEFT_OK) {
        rc = encoder_run(ctx, "embed.search", &e, texts, lens, nq, &q);
        encoder_close(&e);
    }
    if (rc == WEFT_OK && vindex_search(x.index, q, nq, (size_t)k, s, l, err, sizeof err) != 0)
        rc = weft_fail(ctx, "embed.search: %s", err);
    if (rc == WEFT_OK) {
        json_t *results = json_array();
        for (size_t i = 0; i < nq; i++)
            json_array_append_new(results,
                                  json_pack("{s:s, s:o}", "query", texts[i], "hits",
                                            hits(&x, s + i * (size_t)k, l + i * (size_t)k,
                                                 (size_t)k)));
        char *text = json_dumps(results, JSON_COMPACT | JSON_REAL_PRECISION(6));
        rc = weft_output_json(ctx, "results", text) == WEFT_OK ? WEFT_OK : WEFT_FAIL;
        free(text);
        json_decref(results);
    }
    free(texts);
    free(lens);
    free(q);
    free(s);
    free(l);
    indexfile_free(&x);
    return rc;
}
