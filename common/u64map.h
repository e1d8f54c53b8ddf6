/* u64map: a hash map from nonzero 64-bit integers (run ids, attempt ids) to pointers.
 * Open addressing with backward-shift deletion; values are borrowed. */
#ifndef WEFT_U64MAP_H
#define WEFT_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct u64map u64map;

u64map *u64map_new(void);
void u64map_destroy(u64map **mp);
/* key must be nonzero. Returns the previous value or NULL. */
void *u64map_put(u64map *m, uint64_t key, void *value);
void *u64map_get(const u64map *m, uint64_t key);
void *u64map_del(u64map *m, uint64_t key);
size_t u64map_count(const u64map *m);
/* Iteration from *pos = 0; returns 0 at the end. The map must not change meanwhile. */
int u64map_next(const u64map *m, size_t *pos, uint64_t *key, void **value);

#endif
