/* diag: the list of errors found in one workflow file, each "file:line:column: message".
 *
 * The compiler reports every error it finds, not only the first; diag collects them, sorts
 * them by position and prints them. Past DIAG_MAX errors it keeps only a count. */
#ifndef WEFT_DIAG_H
#define WEFT_DIAG_H

#include <stddef.h>

#define DIAG_MAX 100

typedef struct diag diag;

/* file is copied; it prefixes every message. */
diag *diag_new(const char *file);
void diag_destroy(diag **dp);
/* Adds an error at a 1-based line and column. */
void diag_add(diag *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
size_t diag_count(const diag *d);
/* Adds from's errors to d, each keeping from's file name (a called workflow's errors in its
 * caller's list). */
void diag_merge(diag *d, const diag *from);
const char *diag_file(const diag *d);
/* All errors, sorted by position, one per line, each ending in '\n'. Caller frees. */
char *diag_render(diag *d);

#endif
