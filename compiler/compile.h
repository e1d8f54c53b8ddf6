/* compile: a workflow file (YAML) to a typed DAG.
 *
 * Checks everything that can be checked before running: YAML syntax, the shape of every
 * section, names, durations and sizes, parameter types and overrides, task types (against a
 * type registry filled from plugin descriptions), unknown and missing inputs, the types of
 * literals and of references, unknown tasks and outputs, dependency cycles. All errors are
 * reported at once, each as "file:line:column: message". Not here: running anything. */
#ifndef WEFT_COMPILE_H
#define WEFT_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "compiler/dag.h"
#include "compiler/diag.h"
#include "compiler/typereg.h"

#define COMPILE_MAX_FILE (16u << 20) /* workflow files above 16 MiB are refused */
#define COMPILE_MAX_TASKS 100000

typedef struct compile_param {
    const char *name, *value; /* from -p name=value, borrowed */
    const char *option;       /* the option it came from, for messages; NULL: "-p" */
} compile_param;

typedef struct compile_input {
    const char *file;            /* name used in messages */
    const char *text;            /* the workflow text, borrowed */
    size_t len;
    const typereg *types;        /* borrowed */
    const compile_param *params; /* overrides, borrowed */
    size_t nparams;
    const json_t *param_values;  /* or: every parameter's value, already resolved (a run
                                    being recompiled after a restart); borrowed */
    /* Turns a path the workflow names where an artifact is expected (a file or dir
     * parameter, a literal given to a file input) into an artifact reference (*ref, a new
     * reference). Returns 0, or nonzero with the reason in why. NULL: such paths become
     * pending references ({"kind", "path"}), which type-check alike (validate, graph). */
    int (*ingest)(void *ud, const char *path, int is_dir, json_t **ref, char *why, size_t n);
    void *ingest_ud;
    /* The values of ${schedule.*} (compile_schedule_vars), borrowed; NULL: a run started by
     * hand at now_s. */
    const json_t *schedule_vars;
    int64_t now_s;
    /* Registering: a parameter with neither a default nor a value gets a stand-in of its
     * type (a pending reference for a file), so that everything else is checked. */
    int placeholders;
    /* Calls (type: workflow, uses: PATH): a called file is taken from those the workflow
     * carries (bundled:, see bundle.h), else, with read_calls, read from the disk relative
     * to file (weft validate and graph compile a file where it is). The scheduler never
     * reads one. */
    int read_calls;
    /* Set by the compiler when it compiles a called file (NULL, 0 otherwise): the files
     * carried (key -> text), this file's key, and the keys of the files calling it,
     * outermost first (a call back into one of them is refused). */
    const json_t *bundle;
    const char *key;
    const char *const *callers;
    size_t ncallers;
    struct compile_budget *budget; /* what the workflow and all it calls may still have */
} compile_input;

/* The tasks a workflow and everything it calls may have, counted down as files compile. */
typedef struct compile_budget {
    size_t tasks;
    int exceeded; /* said once; no further call is compiled */
} compile_budget;

/* Compiles; returns a new dag (free with dag_free), or NULL with every error in d. */
dag *compile_workflow(const compile_input *in, diag *d);

/* The values of ${schedule.time}, ${schedule.date}, ${schedule.interval_start} and
 * ${schedule.interval_end} (RFC 3339 in the schedule's zone) for a run at time_s of a
 * workflow with schedule (NULL: none). A fired slot is its own interval's end, and the
 * interval starts at the fire before it. A run started by hand (fired 0) gets the last
 * complete interval before time_s; without a schedule, all are time_s. New reference. */
json_t *compile_schedule_vars(const json_t *schedule, int64_t time_s, int fired);

/* The parameters a workflow text declares, in order, for a form or an API: [{"name",
 * "type" (as written: int, file, list<string>, secret...), "required", "default" (null
 * when none), "doc" (when given)}]. Nothing is checked (compile_workflow does that): a
 * text that does not parse declares none. */
json_t *compile_describe_params(const char *file, const char *text, size_t len);
/* Reads path (at most COMPILE_MAX_FILE bytes) and compiles it. A file that cannot be read
 * or is too large is reported in d as "path:1:1: ...". */
dag *compile_file(const char *path, const typereg *types, const compile_param *params,
                  size_t nparams, diag *d);

#endif
