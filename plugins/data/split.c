/* data.split: a seeded train/test split of a CSV file, optionally stratified by a column.
 *
 * Two passes over the file: the first counts the rows (and the class of each, when
 * stratifying), the second streams each row to its side. Memory is a few bytes per row,
 * never the rows themselves. Each class (or the whole file) sends round(fraction * n) of its
 * rows, drawn by a seeded shuffle, to the test side. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plugins/data/data.h"
#include "plugins/support/rand.h"

typedef struct rows {
    size_t n, cap;
    uint32_t *cls;  /* class of each row (0 without stratification) */
    size_t nclasses;
} rows;

/* Pass 1: counts the rows and classes. */
static int count_rows(table *d, long strat, rows *r)
{
    json_t *ids = json_object();
    int rc;
    while ((rc = table_next(d)) == 1) {
        uint32_t c = 0;
        if (strat >= 0) {
            const char *v = d->csv.fields[strat];
            json_t *id = json_object_get(ids, v);
            if (!id) {
                id = json_integer((json_int_t)r->nclasses++);
                json_object_set_new(ids, v, id);
            }
            c = (uint32_t)json_integer_value(id);
        }
        if (r->n == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 1024;
            r->cls = realloc(r->cls, r->cap * sizeof *r->cls);
        }
        r->cls[r->n++] = c;
    }
    json_decref(ids);
    if (strat < 0)
        r->nclasses = 1;
    return rc;
}

/* Marks the test rows: per class, a seeded shuffle of its rows, the first k to test. */
static uint8_t *choose_test(const rows *r, double fraction, uint64_t seed, size_t *ntest)
{
    uint8_t *test = calloc(r->n ? r->n : 1, 1);
    size_t *idx = malloc((r->n ? r->n : 1) * sizeof *idx);
    *ntest = 0;
    for (size_t c = 0; c < r->nclasses; c++) {
        size_t m = 0;
        for (size_t i = 0; i < r->n; i++)
            if (r->cls[i] == c)
                idx[m++] = i;
        rand_shuffle(idx, m, &seed);
        size_t k = (size_t)llround(fraction * (double)m);
        for (size_t i = 0; i < k; i++)
            test[idx[i]] = 1;
        *ntest += k;
    }
    free(idx);
    return test;
}

/* Pass 2: every row to its side. */
static int write_sides(weft_ctx *ctx, table *d, const uint8_t *test)
{
    const char *paths[2];
    FILE *out[2] = {NULL, NULL};
    if (weft_output_path(ctx, "train", &paths[0]) != WEFT_OK ||
        weft_output_path(ctx, "test", &paths[1]) != WEFT_OK ||
        !(out[0] = fopen(paths[0], "w")) || !(out[1] = fopen(paths[1], "w"))) {
        if (out[0])
            fclose(out[0]);
        return weft_fail(ctx, "data.split: cannot write the outputs: %s", strerror(errno));
    }
    int rc = table_rewind(d);
    for (int i = 0; i < 2 && rc == WEFT_OK; i++)
        csv_write(out[i], d->header, d->ncols);
    size_t row = 0;
    int more;
    while (rc == WEFT_OK && (more = table_next(d)) == 1)
        csv_write(out[test[row++]], d->csv.fields, d->ncols);
    if (rc == WEFT_OK && more < 0)
        rc = WEFT_FAIL;
    int bad = fclose(out[0]) != 0;
    bad |= fclose(out[1]) != 0;
    if (rc == WEFT_OK && bad)
        return weft_fail(ctx, "data.split: cannot write the outputs: %s", strerror(errno));
    return rc;
}

int data_split_run(weft_ctx *ctx)
{
    double fraction = 0.2;
    int64_t seed = 0;
    const char *stratify = NULL;
    weft_input_float(ctx, "test_fraction", &fraction);
    weft_input_int(ctx, "seed", &seed);
    weft_input_string(ctx, "stratify", &stratify);
    if (stratify && !*stratify) /* "": not stratified (a caller passing its default) */
        stratify = NULL;
    if (!(fraction > 0 && fraction < 1))
        return weft_fail(ctx, "data.split: test_fraction must be between 0 and 1, not %g",
                         fraction);
    table d;
    int rc = table_open(ctx, "data.split", "dataset", &d);
    if (rc != WEFT_OK)
        return rc;
    long strat = stratify ? table_column(&d, stratify) : -1;
    rows r = {0};
    if (stratify && strat < 0)
        rc = WEFT_FAIL;
    else if (count_rows(&d, strat, &r) < 0)
        rc = WEFT_FAIL;
    else if (r.n < 2)
        rc = weft_fail(ctx, "data.split: %s has %zu data rows; a split needs at least 2",
                       d.name, r.n);
    size_t ntest = 0;
    uint8_t *test = rc == WEFT_OK ? choose_test(&r, fraction, (uint64_t)seed, &ntest) : NULL;
    if (rc == WEFT_OK)
        rc = write_sides(ctx, &d, test);
    if (rc == WEFT_OK) {
        weft_log(ctx, "data.split: %s: %zu rows, %zu train, %zu test%s%s", d.name, r.n,
                 r.n - ntest, ntest, stratify ? ", stratified by " : "",
                 stratify ? stratify : "");
        weft_output_int(ctx, "train_rows", (int64_t)(r.n - ntest));
        weft_output_int(ctx, "test_rows", (int64_t)ntest);
    }
    free(test);
    free(r.cls);
    table_close(&d);
    return rc;
}
