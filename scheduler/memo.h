/* memo: the scheduler's side of memoization: answering the core's lookups from the
 * catalogue's cache, and recording what memoized tasks computed.
 *
 * A hit is accepted only after every artifact its outputs reference has been verified in
 * the store: an entry whose artifact is missing or damaged is deleted (and the event
 * recorded), and the task runs again, so corrupt data is never reused. */
#ifndef WEFT_MEMO_H
#define WEFT_MEMO_H

#include <stdint.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "catalog/store.h"
#include "scheduler/dag.h"

/* Answers a lookup for task of run (inputs resolved, key computed by the core). Records the
 * key on the task. Returns 1 on a hit, with *outputs (new reference) and *from (JSON text
 * naming the entry's run and task; caller frees); 0 on a miss. */
int memo_lookup(catalog *cat, store *st, const dag *g, uint64_t run, int task,
                const char *key, const json_t *inputs, int64_t now_us, json_t **outputs,
                char **from);

/* A task succeeded. key set: it computed memoized outputs, which become the entry for the
 * key. from set: its outputs were copied (from the cache or an identical task in flight),
 * which is recorded as its source. */
void memo_task_succeeded(catalog *cat, uint64_t run, int task, const char *key,
                         const char *from, const json_t *outputs, int64_t now_us);

#endif
