/* recover: turning a run the catalogue left "running" back into a core event.
 *
 * The run's workflow is recompiled from its stored text, resolved parameters and the task
 * type declarations it was first compiled against (so no worker needs to be connected yet),
 * and each task's last committed state becomes the snapshot of an EV_RUN_RESTORED event. */
#ifndef WEFT_RECOVER_H
#define WEFT_RECOVER_H

#include <stdint.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "compiler/compile.h"
#include "scheduler/core.h"
#include "scheduler/ingest.h"

typedef struct recovered {
    core_event ev;              /* EV_RUN_RESTORED; ev.dag passes to the core with the event */
    core_task_snapshot *snap;   /* owned, with the outputs and worker names it holds */
    core_task_snapshot *elems;  /* owned: the elements of mapped tasks, which snap points
                                   into */
    size_t nsnap, nelems;
    json_t *row;                /* the run's row (catalog_query_recovery) */
} recovered;

/* Fills out for run. On failure returns a negative code with a message in err (the run
 * cannot be rebuilt; the caller marks it failed). Free with recover_free after stepping. */
int recover_run(catalog *cat, int64_t run, int64_t now_us, recovered *out, weft_err *err);
void recover_free(recovered *r);

/* Compiles the workflow of a stored run (row: a catalog_query_recovery answer: file, spec,
 * params) against types, with parameter overrides, taking paths through ic. Returns the
 * dag, or NULL with the rendered errors in *errors (caller frees). Used by recover_run and
 * by weft retry. */
dag *recover_compile(const json_t *row, const typereg *types, const compile_param *params,
                     size_t nparams, ingest_ctx *ic, char **errors);

#endif
