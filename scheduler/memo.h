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
#include "scheduler/core.h"
#include "compiler/dag.h"

/* 0 when every artifact outputs reference verifies in st; else the store's error. */
int memo_outputs_usable(store *st, const json_t *outputs, weft_err *err);

/* Answers lookup e (an FX_LOOKUP: the task or element, its key and resolved inputs) of a
 * run of g, filling ans (an EV_LOOKUP). Records the key on the task. On a hit, ans->ok = 1
 * with outputs (new reference) and the entry's source_run and source_task (caller frees
 * both). */
void memo_lookup(catalog *cat, store *st, const dag *g, const core_effect *e, int64_t now_us,
                 core_event *ans);

/* Records a succeeded task's source (the effect's source fields); a memoized task that
 * computed its outputs (key set) also makes them the cache entry for its key. */
void memo_task_succeeded(catalog *cat, const core_effect *e, int64_t now_us);

#endif
