/* gc: garbage collection of the artifact store.
 *
 * A blob is live when a reference in the catalogue names it (catalog_each_root: running and
 * kept runs, cache entries), or when the manifest of a live directory does. Everything
 * else the store holds is garbage once it is older than the grace period: blobs nothing
 * references (outputs of attempts whose results were discarded, of expired runs, of evicted
 * cache entries), writes that never finished, and blobs quarantined as corrupt.
 *
 * The grace period protects what is being written while gc runs: a blob an executor has
 * just stored is referenced only once its result reaches the scheduler, and storing content
 * that is already there rewrites the blob (so it is young again). gc reads the catalogue
 * like any reader, and can run beside a scheduler. */
#ifndef WEFT_GC_H
#define WEFT_GC_H

#include <stdint.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "catalog/store.h"

typedef struct gc_options {
    int dry_run;             /* report what would go; remove nothing */
    int64_t grace_us;        /* garbage written less than this long ago is kept */
    int64_t expire_before_us; /* runs finished before this hold no artifacts (0: none) */
    int64_t now_us;
} gc_options;

typedef struct gc_report {
    catalog_roots roots;
    uint64_t live;         /* referenced blobs in the store */
    uint64_t missing;      /* referenced blobs absent from it (their readers re-execute) */
    uint64_t count[3];     /* removed (or, in a dry run, to remove), by store_entry_kind */
    uint64_t bytes[3];
    uint64_t young;        /* garbage kept because it is within the grace period */
    uint64_t young_bytes;
    uint64_t rewritten;    /* written again while gc ran, so kept */
    json_t *removed;       /* [{"kind", "name", "size", "mtime_us"}] */
} gc_report;

/* Collects the store s against catalogue c. Records the collection as a "gc" event unless
 * it is a dry run (c must then be writable). On error nothing more is removed and the
 * report says what was. Free the report with gc_report_free. */
int gc_collect(catalog *c, store *s, const gc_options *o, gc_report *r, weft_err *err);
void gc_report_free(gc_report *r);
/* What weft check found in the store: every blob the catalogue references (all runs and
 * cache entries, directories' files included), verified against its hash. */
typedef struct gc_check_report {
    uint64_t referenced, ok, missing, corrupt;
    json_t *problems;      /* ["message", ...] for missing and corrupt blobs (at most 100) */
} gc_check_report;
/* Verifies the store s against catalogue c (a damaged blob is quarantined, as on any
 * read). Free the report with gc_check_report_free. */
int gc_check(catalog *c, store *s, gc_check_report *r, weft_err *err);
void gc_check_report_free(gc_check_report *r);

/* "blob", "partial" or "quarantined". */
const char *gc_kind_name(store_entry_kind k);

#endif
