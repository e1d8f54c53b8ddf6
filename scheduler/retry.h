/* retry: the plan of `weft retry RUN`: which tasks (and map elements) of an ended run a new
 * run reuses, and which it executes again, each with the reason.
 *
 * The new run's dag is the old run's workflow recompiled (with -p overrides, if any). In
 * topological order, a task is reused when it succeeded in the old run, is not forced
 * (--from TASK and everything downstream of it), every task it depends on is reused, its
 * inputs resolved against those reused outputs equal the inputs it ran with, and its
 * outputs are still usable (the caller's check: artifacts verify). A mapped task whose
 * parents are reused fans out over the same list: each element is reused or executed by
 * the same rules, and the task is reused when all of them are, "partial" otherwise. Any
 * other task executes. Pure: no I/O. */
#ifndef WEFT_RETRY_H
#define WEFT_RETRY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "scheduler/core.h"
#include "compiler/dag.h"

enum retry_action { RETRY_EXECUTE, RETRY_REUSE, RETRY_PARTIAL };

/* A reused task or element: its outputs and inputs (references the plan holds) and the
 * execution that computed them. */
typedef struct retry_unit {
    int reuse;
    char *reason;          /* why it executes again, or where it comes from */
    json_t *outputs, *inputs;
    uint64_t source_run;
    char *source_task;
} retry_unit;

typedef struct retry_task {
    enum retry_action action;
    retry_unit u;
    retry_unit *elems;     /* RETRY_PARTIAL and mapped RETRY_REUSE: one per element */
    size_t nelems;
} retry_task;

typedef struct retry_plan {
    uint64_t old_run;
    retry_task *t;         /* one per task of the dag */
    size_t ntasks;
    size_t nreuse, nexec;  /* units: tasks, and the elements of partially reused maps */
} retry_plan;

/* A task or element as the old run recorded it (borrowed for the call it is given to). */
typedef struct retry_row {
    const char *name, *state, *error;
    const char *source;    /* a succeeded unit's: computed, cache, in-flight, retry */
    int64_t source_run;
    const char *source_task;
    json_t *inputs, *outputs;
} retry_row;

typedef int (*retry_row_fn)(void *fnud, const retry_row *row);
/* Calls fn on each element row of mapped task (a dag index) of the old run, in order, one
 * at a time (a map of a million elements is never held whole). Returns 0, or -1 with why. */
typedef int (*retry_elements_fn)(void *ud, int task, retry_row_fn fn, void *fnud, char *why,
                                 size_t n);

/* The old run: its task rows (catalog_query_task_rows; elements need not be nested) and
 * where its elements are read from. */
typedef struct retry_source {
    const json_t *tasks;
    retry_elements_fn elements;
    void *ud;
} retry_source;

/* A retry_elements_fn over the "elements" nested in src->tasks (ud: the tasks array). */
int retry_nested_elements(void *ud, int task, retry_row_fn fn, void *fnud, char *why,
                          size_t n);
/* The row of a task or element as catalog_query_run has it. */
retry_row retry_row_of(const json_t *o);

/* Whether outputs can be reused (0), or why not. */
typedef int (*retry_usable_fn)(void *ud, const json_t *outputs, char *why, size_t n);

/* Plans a rerun of old_run, whose rows src gives, with dag g (the same tasks in the same
 * order). from: the task to force with everything downstream, or -1. Returns NULL with why
 * when the rows do not match g or cannot be read. */
retry_plan *retry_plan_make(const dag *g, uint64_t old_run, const retry_source *src, int from,
                            retry_usable_fn usable, void *ud, char *why, size_t n);
void retry_plan_free(retry_plan *p);

/* The plan as JSON: {"run", "reused", "executed", "tasks": [{"name", "action", "reason",
 * "elements": {"reused", "executed", "execute": [{"name", "reason"}]}}]}; "execute" names
 * the first RETRY_LISTED elements that execute again ("executed" counts them all). */
#define RETRY_LISTED 100
json_t *retry_plan_json(const retry_plan *p, const dag *g);

/* The snapshot a new run starts from (EV_RUN_RESTORED): reused tasks succeeded (a reused
 * mapped task with its elements, for the run's counts), partial mapped tasks running with
 * their reused elements succeeded, the rest pending. snap has
 * g->ntasks entries; elems has room for every element; both borrow from p. */
void retry_plan_snapshot(const retry_plan *p, core_task_snapshot *snap,
                         core_task_snapshot *elems);
/* The number of elements in the plan (room for retry_plan_snapshot's elems). */
size_t retry_plan_nelems(const retry_plan *p);

#endif
