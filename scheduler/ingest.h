/* ingest: the paths a submitted workflow names where artifacts are expected become artifact
 * references, as compile_input.ingest.
 *
 * A relative path is taken relative to the submitting client's working directory. Every
 * path taken is pinned (the path as written -> reference, kept with the run), so a run
 * recompiled after a scheduler restart sees the very artifacts it was submitted with, even
 * if the files have changed since.
 *
 * The scheduler reads paths on its own disk only for a local client (its own user, over its
 * ipc socket). A remote client's paths are never read here: the client uploads them first
 * (sched_upload.c) and names each path's blob; a path it did not upload fails the compile
 * and is listed in missing, for the client to upload and send the request again. */
#ifndef WEFT_INGEST_H
#define WEFT_INGEST_H

#include <jansson.h>

#include "catalog/catalog.h"
#include "catalog/store.h"

typedef struct ingest_ctx {
    store *store;   /* borrowed */
    const char *cwd; /* the client's working directory, or NULL */
    json_t *pinned; /* object: path as written -> reference; borrowed, filled */
    int pinned_only; /* recompiling: a path not pinned is an error, never read again */
    int remote;      /* a remote client: paths come from uploaded, never from the disk */
    const json_t *uploaded; /* remote: path as written -> {"artifact", "kind"} it uploaded */
    catalog *cat;    /* remote: where uploads are recorded... */
    const char *project; /* ...for this project */
    json_t *missing; /* remote: the paths not uploaded, [{"path", "dir"}] (filled) */
} ingest_ctx;

/* compile_input.ingest with ud = ingest_ctx. */
int ingest_path(void *ud, const char *path, int is_dir, json_t **ref, char *why, size_t n);

#endif
