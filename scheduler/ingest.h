/* ingest: the paths a submitted workflow names where artifacts are expected become artifact
 * references, as compile_input.ingest.
 *
 * A relative path is taken relative to the submitting client's working directory. Every
 * path taken is pinned (the path as written -> reference, kept with the run), so a run
 * recompiled after a scheduler restart sees the very artifacts it was submitted with, even
 * if the files have changed since. */
#ifndef WEFT_INGEST_H
#define WEFT_INGEST_H

#include <jansson.h>

#include "catalog/store.h"

typedef struct ingest_ctx {
    store *store;   /* borrowed */
    const char *cwd; /* the client's working directory, or NULL */
    json_t *pinned; /* object: path as written -> reference; borrowed, filled */
    int pinned_only; /* recompiling: a path not pinned is an error, never read again */
} ingest_ctx;

/* compile_input.ingest with ud = ingest_ctx. */
int ingest_path(void *ud, const char *path, int is_dir, json_t **ref, char *why, size_t n);

#endif
