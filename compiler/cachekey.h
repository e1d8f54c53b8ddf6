/* cachekey: the memoization key of a task execution.
 *
 * key = BLAKE2b-256 of the canonical JSON (sorted keys, compact) of
 *   {"type", "version" (the plugin's version of the task type), "cache_version" (from
 *    `cache: { version: }`), "inputs"}, and "project" for a run of a project other than
 *    "default" (so one project never reuses, nor waits for, another's results)
 * where inputs are the resolved inputs with every artifact reference replaced by
 * {"artifact": HASH}: a renamed file with the same bytes is the same input, a changed byte
 * is a different one. Pure functions, shared by the scheduler and `weft cache explain`. */
#ifndef WEFT_CACHEKEY_H
#define WEFT_CACHEKEY_H

#include <jansson.h>

#include "common/hash.h"

/* The inputs as they enter the key. New reference. */
json_t *cachekey_inputs(const json_t *inputs);
/* The key's components as one object (type, version, cache_version, inputs, and project
 * unless it is NULL or "default"). New reference. */
json_t *cachekey_components(const char *type, const char *version, const char *cache_version,
                            const char *project, const json_t *inputs);
/* Writes the key of the components into hex. */
void cachekey_of(const json_t *components, char hex[HASH_HEX_LEN + 1]);

#endif
