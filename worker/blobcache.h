/* blobcache: a worker's local copy of the blobs it fetched from the scheduler or made.
 *
 * The cache is an artifact store of its own (store.h, the same content-addressed layout)
 * that executors read inputs from and write outputs into when the worker does not have the
 * scheduler's store on its disk. It is kept within a size limit: once the blobs it holds
 * pass it, the least recently used blobs no attempt holds are removed. A blob the cache
 * holds is not fetched again. The index (blob -> size, last use) is rebuilt from the
 * directory when the worker starts. */
#ifndef WEFT_BLOBCACHE_H
#define WEFT_BLOBCACHE_H

#include <stdint.h>

#include "catalog/store.h"
#include "common/err.h"

typedef struct bcache bcache;

/* Opens (creating) the cache at dir, limited to limit bytes; partial fetches left by an
 * earlier worker stay to be resumed, other leftovers are removed. */
int bcache_open(const char *dir, uint64_t limit, bcache **out, weft_err *err);
void bcache_close(bcache **cp);
store *bcache_store(bcache *c);
const char *bcache_dir(const bcache *c);
/* Whether blob hex is in the cache (marks it used). */
int bcache_has(bcache *c, const char *hex);
/* Blob hex (size bytes) is now in the cache: fetched, or written by an executor. */
void bcache_add(bcache *c, const char *hex, uint64_t size);
/* Attempt holds blob hex (it is not evicted) until bcache_release. */
void bcache_hold(bcache *c, uint64_t attempt, const char *hex);
void bcache_release(bcache *c, uint64_t attempt);
/* Evicts least recently used blobs nobody holds until what the cache holds plus need fits
 * its limit (or nothing more can go). */
void bcache_trim(bcache *c, uint64_t need);
/* What the cache holds, in bytes and blobs. */
uint64_t bcache_bytes(const bcache *c);
size_t bcache_count(const bcache *c);

#endif
