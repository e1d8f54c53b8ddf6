/* store: the content-addressed artifact store.
 *
 * Files and directories travel between tasks as artifact references (common/artref.h),
 * never as paths; a directory's hash is that of its manifest: the sorted list of relative
 * paths, modes and file hashes, itself a blob. A blob
 * is written once, under its hash (ROOT/ab/cdef...), read-only; reading one verifies its
 * content against its hash, and a blob that no longer matches is moved to ROOT/corrupt/ and
 * reported as WEFT_ECORRUPT, so corrupt data is never handed to a task.
 *
 * A store is a backend behind store_ops: a local or shared directory (store_local.c), or
 * S3-compatible object storage (store_s3.c, s3://BUCKET/PREFIX); the functions below work
 * for any backend. The scheduler ingests submitted files; executors materialize
 * inputs as local read-only paths and ingest outputs. The store keeps no index: the
 * catalogue records which runs and cache entries reference which hashes. */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include <stdint.h>

#include <jansson.h>

#include "common/artref.h"
#include "common/err.h"
#include "common/strmap.h"
#include "common/hash.h"

typedef struct store store;

/* What a store holds: blobs, and the leftovers of its housekeeping (writes that never
 * finished, blobs quarantined as corrupt). Listing them is what garbage collection needs. */
typedef enum store_entry_kind { STORE_BLOB, STORE_PARTIAL, STORE_QUARANTINED } store_entry_kind;
typedef struct store_entry {
    store_entry_kind kind;
    const char *name; /* a blob's hash; for the others, the backend's name for it */
    uint64_t size;
    int64_t mtime_us; /* when it was last written */
} store_entry;
typedef int (*store_entry_fn)(void *ud, const store_entry *e);

typedef struct store_ops {
    const char *name; /* "local" */
    /* Adds the regular file at path (left as it was) and fills hex with its hash. */
    int (*put)(store *s, const char *path, char hex[HASH_HEX_LEN + 1], uint64_t *size,
               weft_err *err);
    /* A local path of blob hex, verified against its hash (caller frees *path).
     * WEFT_ENOTFOUND when absent, WEFT_ECORRUPT (blob quarantined) when it does not match. */
    int (*get)(store *s, const char *hex, char **path, weft_err *err);
    /* Calls fn for every entry, in no particular order; a nonzero return from fn stops the
     * listing and is returned. Names the backend does not recognise are left out. */
    int (*list)(store *s, store_entry_fn fn, void *ud, weft_err *err);
    /* Removes entry e as listed, unless it was written again since (*kept set to 1: a
     * writer stored the same content meanwhile). An entry already gone is not an error. */
    int (*remove)(store *s, const store_entry *e, int *kept, weft_err *err);
    /* Whether blob hex is in the store (not verified). */
    int (*has)(store *s, const char *hex);
    /* Moves the file at path, whose content hashes to hex, into the store as blob hex. */
    int (*adopt)(store *s, const char *path, const char *hex, weft_err *err);
    /* Opens blob hex for reading (see store_open_blob). */
    int (*open_blob)(store *s, const char *hex, int *fd, uint64_t *size, weft_err *err);
    void (*close)(store *s);
} store_ops;

struct store {
    const store_ops *ops;
    char *location;   /* what the store was opened as: a directory, or s3://BUCKET/PREFIX */
    void *impl;       /* the backend's own state */
    char *root;       /* a local directory: the local backend's store, the S3 backend's
                         cache of blobs it read */
    char *id;         /* its identity (ROOT/store-id, 32 hex digits), or NULL */
    unsigned blob_mode; /* read-only, within the process's umask (0400 for daemons) */
    int scratch;      /* a throwaway store (a client's staging): blobs are not fsynced */
    strmap *verified; /* local: blob hash -> its file's identity when this process last
                         hashed it (see local_get) */
    strmap *held;     /* blob hash -> its size + 1: blobs this process holds in memory for
                         a moment, present to store_has, store_verify and store_ref_of
                         (store_hold) */
};

/* Opens the store at location: a directory (created if missing), or s3://BUCKET[/PREFIX]
 * (configured from the environment, s3.h). */
int store_open(const char *location, store **out, weft_err *err);
/* The store a scheduler's state directory works with: the one the scheduler recorded in
 * STATE/store, else STATE/artifacts. Caller frees. */
char *store_location_of_state(const char *state_dir);
/* Records location as the store of state_dir (for store_location_of_state). */
int store_record_location(const char *state_dir, const char *location, weft_err *err);
/* Closes; accepts NULL and sets *sp to NULL. */
void store_close(store **sp);


/* Ingests the file or directory at path; *ref is a new reference. is_dir says which kind
 * the caller expects; the other kind is refused with a message naming path. */
int store_put_path(store *s, const char *path, int is_dir, json_t **ref, weft_err *err);
/* Makes a reference readable at a local path, verifying every blob it reads. A file is
 * its blob's read-only path; a directory is built under dest (hard links, or copies across
 * filesystems). Caller frees *path. */
int store_materialize(store *s, const json_t *ref, const char *dest, char **path,
                      weft_err *err);
/* Writes the artifact of ref at dest, which must not exist: the file, or the directory
 * with its files, as writable copies (never links into the store), every blob verified. */
int store_export(store *s, const json_t *ref, const char *dest, weft_err *err);
/* Verifies every blob of a reference (a directory's manifest and files). 0, or
 * WEFT_ENOTFOUND / WEFT_ECORRUPT naming the blob. */
int store_verify(store *s, const json_t *ref, weft_err *err);
/* Calls fn with the hash of every file a directory reference's manifest names (the
 * manifest is read and verified: WEFT_ENOTFOUND / WEFT_ECORRUPT when it is not there or
 * damaged). A nonzero return from fn stops and is returned. */
int store_dir_blobs(store *s, const json_t *ref, int (*fn)(void *ud, const char *hex),
                    void *ud, weft_err *err);
/* A directory reference's entries as its manifest lists them (verified): a new array of
 * {"path", "dir": true} and {"path", "hash", "size", "exec"}. */
int store_dir_entries(store *s, const json_t *ref, json_t **entries, weft_err *err);
/* Whether blob hex is in the store (not verified). */
int store_has(store *s, const char *hex);
/* Opens blob hex for reading without verifying it (a reader that checks the whole blob's
 * hash itself, like a worker fetching it): *fd and its *size. WEFT_ENOTFOUND when absent. */
int store_open_blob(store *s, const char *hex, int *fd, uint64_t *size, weft_err *err);
/* Stores len bytes of data as a blob (durably: written, synced, then moved into place),
 * unless the store holds it already; its hash into hex. */
int store_put_data(store *s, const void *data, size_t len, char hex[HASH_HEX_LEN + 1],
                   weft_err *err);
/* Makes blob hex, of size bytes, which the caller holds in memory and writes later,
 * present to store_has, store_verify and store_ref_of (as a file) until
 * store_release_held: for a scheduler's turn that references a blob it writes once the
 * turn is committed. */
void store_hold(store *s, const char *hex, uint64_t size);
void store_release_held(store *s);
/* Stores data, whose hash the caller computed (hex), without syncing it: for a caller that
 * keeps the bytes durable elsewhere until the file system has them (the scheduler's blob
 * journal). Nothing is written when the store has the blob's file (a held blob is
 * written). */
int store_put_data_unsynced(store *s, const void *data, size_t len, const char *hex,
                            weft_err *err);
/* fsyncs blob hex (local backend): WEFT_ENOTFOUND when absent. */
int store_sync_blob(store *s, const char *hex, weft_err *err);
/* The reference store_put_path would give the regular file at path, with its content
 * (caller frees *data), without storing it: WEFT_ELIMIT when it is not a regular file of
 * at most max bytes. For an executor whose small outputs go back inside its result. */
int store_ref_small_file(const char *path, size_t max, json_t **ref, char **data, size_t *len,
                         weft_err *err);
/* Where a blob received from elsewhere is written until store_adopt takes it, named name
 * (local backend: in ROOT/tmp/, whose leftovers weft gc removes). Caller frees. */
char *store_partial_path(store *s, const char *name);
/* Moves the file at path (from store_partial_path), whose content the caller has hashed to
 * hex, into the store as blob hex. */
int store_adopt(store *s, const char *path, const char *hex, weft_err *err);
/* A reference to blob hex as a file, or as a directory whose manifest it is (its blobs
 * verified), named after path's last component, its size from the blobs. */
int store_ref_of(store *s, const char *hex, int is_dir, const char *path, json_t **ref,
                 weft_err *err);
#endif
