/* data: the data plugin's shared pieces: a CSV dataset input read with its header, and the
 * task types' entry points. */
#ifndef WEFT_DATA_H
#define WEFT_DATA_H

#include <weft/plugin.h>

#include "plugins/support/csv.h"

typedef struct data_file {
    weft_ctx *ctx;
    const char *task;  /* "data.split": prefixes messages */
    char name[256];    /* the file's name as submitted */
    csv_reader csv;
    char **header;     /* column names (owned) */
    size_t ncols;
} data_file;

/* Opens the CSV file input `input` and reads its header; fails the task (returning
 * WEFT_FAIL) when it cannot. */
int data_open(weft_ctx *ctx, const char *task, const char *input, data_file *d);
/* The next data row: 1, 0 at the end, -1 after failing the task (a malformed record, or a
 * row whose field count differs from the header's, named by line). */
int data_next(data_file *d);
/* Back to the first data row (the header is skipped). WEFT_OK or a failure. */
int data_rewind(data_file *d);
/* The index of column name, or -1 after failing the task with the columns there are. */
long data_column(data_file *d, const char *name);
void data_close(data_file *d);

int data_split_run(weft_ctx *ctx);
int data_check_run(weft_ctx *ctx);

#endif
