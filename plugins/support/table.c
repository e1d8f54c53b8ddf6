/* table: see table.h. */
#include "plugins/support/table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/support/input.h"

int table_open(weft_ctx *ctx, const char *task, const char *input, table *d)
{
    memset(d, 0, sizeof *d);
    d->ctx = ctx;
    d->task = task;
    const char *path;
    if (plugin_input_file(ctx, task, input, &path, d->name, sizeof d->name) != WEFT_OK)
        return WEFT_FAIL;
    if (csv_open(&d->csv, path) < 0)
        return weft_fail(ctx, "%s: %s: %s", task, d->name, d->csv.err);
    int rc = csv_next(&d->csv);
    if (rc <= 0) {
        csv_close(&d->csv);
        return weft_fail(ctx, "%s: %s: %s", task, d->name,
                         rc == 0 ? "the file is empty (a header row is needed)" : d->csv.err);
    }
    d->ncols = d->csv.nfields;
    d->header = malloc(d->ncols * sizeof *d->header);
    for (size_t i = 0; i < d->ncols; i++)
        d->header[i] = strdup(d->csv.fields[i]);
    return WEFT_OK;
}

int table_next(table *d)
{
    int rc = csv_next(&d->csv);
    if (rc < 0) {
        weft_fail(d->ctx, "%s: %s: %s", d->task, d->name, d->csv.err);
        return -1;
    }
    if (rc == 1 && d->csv.nfields != d->ncols) {
        weft_fail(d->ctx, "%s: %s: line %zu has %zu fields; the header has %zu", d->task,
                  d->name, d->csv.line, d->csv.nfields, d->ncols);
        return -1;
    }
    return rc;
}

int table_rewind(table *d)
{
    if (csv_rewind(&d->csv) != 0 || csv_next(&d->csv) != 1)
        return weft_fail(d->ctx, "%s: %s: cannot read it again", d->task, d->name);
    return WEFT_OK;
}

long table_column(table *d, const char *name)
{
    long c = csv_find(d->header, d->ncols, name);
    if (c >= 0)
        return c;
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < d->ncols && used < sizeof list - 8; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 d->header[i]);
    weft_fail(d->ctx, "%s: %s has no column '%s' (its columns: %s%s)", d->task, d->name, name,
              list, used >= sizeof list - 8 ? ", ..." : "");
    return -1;
}

void table_close(table *d)
{
    for (size_t i = 0; d->header && i < d->ncols; i++)
        free(d->header[i]);
    free(d->header);
    csv_close(&d->csv);
    d->header = NULL;
}

int table_numbers(table *d, const long *cols, size_t n, float *out)
{
    for (size_t j = 0; j < n; j++) {
        const char *s = d->csv.fields[cols[j]];
        double v;
        if (csv_is_null(s))
            out[j] = NAN;
        else if (csv_number(s, &v) == 0)
            out[j] = (float)v;
        else
            return weft_fail(d->ctx, "%s: %s: line %zu, column '%s': '%.40s' is not a number",
                             d->task, d->name, d->csv.line, d->header[cols[j]], s);
    }
    return WEFT_OK;
}

long *table_columns(table *d, const char *const *names, size_t n)
{
    long *cols = malloc((n ? n : 1) * sizeof *cols);
    for (size_t j = 0; j < n; j++)
        if ((cols[j] = table_column(d, names[j])) < 0) {
            free(cols);
            return NULL;
        }
    return cols;
}
