/* strmap: a hash map from C strings to pointers (open addressing, linear probing).
 *
 * Keys are copied in; values are borrowed (the map never frees them). Not thread-safe.
 * Deletion is supported through tombstones; the table grows at 70% load. */
#ifndef WEFT_STRMAP_H
#define WEFT_STRMAP_H

#include <stddef.h>

typedef struct strmap strmap;

strmap *strmap_new(void);
/* Frees the map and its key copies, not the values. Accepts NULL; sets *mp to NULL. */
void strmap_destroy(strmap **mp);
/* strmap_destroy, after free() of every value (a map that owns malloc'd values). */
void strmap_destroy_free(strmap **mp);
/* Inserts or replaces. Returns the previous value for key, or NULL. */
void *strmap_put(strmap *m, const char *key, void *value);
void *strmap_get(const strmap *m, const char *key);
/* Removes key; returns its value, or NULL when absent. */
void *strmap_del(strmap *m, const char *key);
size_t strmap_count(const strmap *m);
/* Iteration: start with *pos = 0; returns 0 at the end, 1 with key/value filled. The map must
 * not change during an iteration. */
int strmap_next(const strmap *m, size_t *pos, const char **key, void **value);

/* 64-bit FNV-1a, exposed for other tables. */
unsigned long long strmap_hash(const char *s);

#endif
