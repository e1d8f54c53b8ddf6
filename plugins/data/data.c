/* data: dataset tasks on CSV files.
 *
 *   data.split  a seeded train/test split, optionally stratified by a column
 *   data.check  declarative expectations on a CSV file; a failed expectation fails the
 *               task (fatal) with a readable report */
#include "plugins/data/data.h"

#include <stdlib.h>
#include <string.h>

#include "plugins/support/input.h"


int data_open(weft_ctx *ctx, const char *task, const char *input, data_file *d)
{
    memset(d, 0, sizeof *d);
    d->ctx = ctx;
    d->task = task;
    const char *path;
    plugin_input_name(ctx, input, input, d->name, sizeof d->name);
    if (weft_input_path(ctx, input, &path) != WEFT_OK)
        return weft_fail(ctx, "%s: input '%s' is not a readable file", task, input);
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

int data_next(data_file *d)
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

int data_rewind(data_file *d)
{
    if (csv_rewind(&d->csv) != 0 || csv_next(&d->csv) != 1)
        return weft_fail(d->ctx, "%s: %s: cannot read it again", d->task, d->name);
    return WEFT_OK;
}

long data_column(data_file *d, const char *name)
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

void data_close(data_file *d)
{
    for (size_t i = 0; d->header && i < d->ncols; i++)
        free(d->header[i]);
    free(d->header);
    csv_close(&d->csv);
    d->header = NULL;
}

static const weft_port split_in[] = {
    {"dataset", "file", 0, "a CSV file with a header row"},
    {"test_fraction", "float", WEFT_PORT_OPTIONAL, "share of rows for the test side (0.2)"},
    {"seed", "int", WEFT_PORT_OPTIONAL, "the same seed gives the same split (0)"},
    {"stratify", "string", WEFT_PORT_OPTIONAL, "keep this column's class shares on both sides"},
    {NULL, NULL, 0, NULL}};
static const weft_port split_out[] = {
    {"train", "file", 0, "the training rows, with the header"},
    {"test", "file", 0, "the test rows, with the header"},
    {"train_rows", "int", 0, NULL},
    {"test_rows", "int", 0, NULL},
    {NULL, NULL, 0, NULL}};
static const weft_port check_in[] = {
    {"dataset", "file", 0, "a CSV file with a header row"},
    {"expect", "json", 0,
     "expectations: columns, rows {min, max}, not_null, unique, range {col: {min, max}}, "
     "values {col: [allowed]}"},
    {NULL, NULL, 0, NULL}};
static const weft_port check_out[] = {
    {"report", "json", 0, "every expectation with its outcome"},
    {"rows", "int", 0, "data rows"},
    {NULL, NULL, 0, NULL}};

static const weft_task_type types[] = {
    {.name = "data.split", .version = "1", .inputs = split_in, .outputs = split_out,
     .run = data_split_run},
    {.name = "data.check", .version = "1", .inputs = check_in, .outputs = check_out,
     .run = data_check_run},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("data", "1.0.0", types)
