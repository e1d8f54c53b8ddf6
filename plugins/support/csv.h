/* csv: a streaming reader and writer of RFC 4180 CSV, for the data, training and inference
 * plugins.
 *
 * Fields may be quoted ("a,b", "say ""hi""", line breaks inside quotes); records end with LF
 * or CRLF. The reader holds one record at a time, so memory is bounded by the longest
 * record (CSV_RECORD_MAX), whatever the file's size. */
#ifndef WEFT_CSV_H
#define WEFT_CSV_H

#include <stddef.h>
#include <stdio.h>

#define CSV_RECORD_MAX (16u << 20)
#define CSV_FIELDS_MAX 100000u

typedef struct csv_reader {
    FILE *f;
    char *buf;       /* the record's fields, each NUL-terminated */
    size_t len, cap;
    size_t *offs;    /* where each field starts in buf */
    char **fields;   /* the current record */
    size_t nfields, capfields;
    size_t line;     /* the line the current record starts on (1-based) */
    size_t next_line;
    char err[256];
} csv_reader;

/* Opens path; 0, or -1 with r->err. */
int csv_open(csv_reader *r, const char *path);
/* Reads the next record into r->fields / r->nfields: 1, 0 at the end, -1 with r->err (an
 * unterminated quote, a NUL byte, a record over the limits, a read error). */
int csv_next(csv_reader *r);
/* Back to the first record. */
int csv_rewind(csv_reader *r);
void csv_close(csv_reader *r);

/* The index of column name in a header record, or -1. */
long csv_find(char *const *header, size_t n, const char *name);
/* Writes one record, quoting the fields that need it. */
void csv_write(FILE *f, char *const *fields, size_t n);
/* Whether s is a missing value: empty, NA, N/A, NaN or null (any case). */
int csv_is_null(const char *s);
/* Parses a whole field as a finite number; 0, or -1. */
int csv_number(const char *s, double *out);

#endif
