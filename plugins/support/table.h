/* table: a CSV dataset given as a task's file input, read row by row with its header.
 *
 * Every function that fails fails the task (weft_fail) with a message naming the task, the
 * file as submitted and the line, so callers only return. */
#ifndef WEFT_PLUGIN_TABLE_H
#define WEFT_PLUGIN_TABLE_H

#include <weft/plugin.h>

#include "plugins/support/csv.h"

typedef struct table {
    weft_ctx *ctx;
    const char *task;  /* "data.split": prefixes messages */
    char name[256];    /* the file's name as submitted */
    csv_reader csv;    /* csv.fields holds the current row */
    char **header;     /* column names (owned) */
    size_t ncols;
} table;

/* Opens the CSV file input `input` and reads its header; WEFT_OK, or WEFT_FAIL after
 * failing the task. */
int table_open(weft_ctx *ctx, const char *task, const char *input, table *d);
/* The next data row: 1, 0 at the end, -1 after failing the task (a malformed record, or a
 * row whose field count differs from the header's, named by line). */
int table_next(table *d);
/* Back to the first data row (the header is skipped). WEFT_OK or a failure. */
int table_rewind(table *d);
/* The index of column name, or -1 after failing the task with the columns there are. */
long table_column(table *d, const char *name);
/* The indexes of columns names[0..n) (malloc'd), or NULL after failing the task on the
 * first one missing. */
long *table_columns(table *d, const char *const *names, size_t n);
/* The current row's columns cols[0..n) as numbers into out: a missing value (empty, NA,
 * NaN, null) is NAN. WEFT_OK, or WEFT_FAIL after failing the task on a field that is not a
 * number (named by line and column). */
int table_numbers(table *d, const long *cols, size_t n, float *out);
void table_close(table *d);

#endif
