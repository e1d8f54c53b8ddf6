/* artref: artifact references, the JSON values through which files and directories travel
 * between tasks, never as paths: {"artifact": HASH, "kind": "file"|"dir", "name": NAME,
 * "size": BYTES}, HASH the BLAKE2b-256 of the content (of a directory, of its manifest).
 * A reference without "artifact" is a pending one: a path a workflow names, not yet
 * ingested into the store (catalog/store.h, which makes and reads the others). */
#ifndef WEFT_ARTREF_H
#define WEFT_ARTREF_H

#include <jansson.h>

/* Whether v is an artifact reference (an object with a "kind" of file or dir). */
int artref_is(const json_t *v);
/* Whether reference v is a directory (its blob is a manifest). */
int artref_is_dir(const json_t *v);
/* The hash of a reference, or NULL (pending, or not a reference). */
const char *artref_hash(const json_t *v);
/* A pending reference to path ("kind" dir when is_dir). New reference. */
json_t *artref_pending(const char *path, int is_dir);
/* Calls fn for every reference inside v (objects and arrays are walked). */
void artref_each(const json_t *v, void (*fn)(void *ud, const json_t *ref), void *ud);

#endif
