/* dag: a compiled workflow, the typed DAG the scheduler runs.
 *
 * Produced by the compiler (compile.h) and immutable afterwards. Parameters are already
 * substituted; what remains in task inputs are references to upstream outputs, resolved
 * when the task becomes ready (dag_resolve_inputs). Tasks are indexed 0..ntasks-1 in file
 * order; `order` is a topological order; `parents` and `children` give the edges. */
#ifndef WEFT_DAG_H
#define WEFT_DAG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/resource.h"
#include "common/strmap.h"

enum dv_kind {
    DV_LIT,    /* a JSON literal */
    DV_OUT,    /* ${task.outputs.port} */
    DV_CONCAT, /* "text ${ref} text": items are DV_LIT strings and DV_OUT */
    DV_LIST,   /* items */
    DV_MAP,    /* keys + items */
    DV_ITEM,   /* ${item}: the element of a mapped task */
    DV_INDEX,  /* ${index}: its position in the list, from 0 */
    DV_EXPR    /* ${ expression } that reads a reference (compiler/expr.h) */
};

/* What a task is to the scheduler. */
enum dag_kind {
    DK_WORK,    /* an attempt on a worker, of a plugin's type */
    DK_APPROVE, /* type: approve: it waits, holding no worker, for weft signal */
    DK_ENTRY,   /* a subworkflow's entry (CALL.params) and ... */
    DK_EXIT     /* ... exit (CALL): the scheduler ends it succeeded as soon as it is ready,
                   its outputs its resolved inputs. The exit waits for every task inside:
                   one not run (below a caught failure) or caught lets it go on, and what it
                   reads decides */
};

typedef struct dag_value dag_value;
struct dag_value {
    enum dv_kind kind;
    json_t *lit;       /* DV_LIT (owned reference) */
    int task;          /* DV_OUT: producing task index */
    char *port;        /* DV_OUT: output name */
    dag_value **items; /* DV_CONCAT, DV_LIST, DV_MAP */
    struct expr *expr; /* DV_EXPR (owned) */
    char **keys;       /* DV_MAP */
    size_t n;
};

typedef struct dag_retry {
    int max_attempts;     /* 1 = no retry */
    int64_t interval_ms;  /* delay before the second attempt */
    double backoff_rate;  /* multiplier per further attempt */
    int64_t max_delay_ms; /* cap on a single delay */
    int jitter_full;      /* 1 = draw uniformly from [0, delay] */
    unsigned on;          /* bit (1 << errclass) for each retried class */
} dag_retry;

typedef struct dag_task {
    char *name;
    const char *type;         /* task type name (the dag's strings) */
    const char *type_version; /* declared by the plugin at compile time (the dag's strings) */
    int line, col;       /* where the task is defined */
    size_t ninputs;
    char **input_names;  /* sorted by name */
    dag_value **inputs;
    int64_t timeout_ms;  /* 0 = none */
    int64_t heartbeat_ms; /* heartbeat: the longest silence before it counts as hung, 0 */
    dag_retry retry;
    res_amount *res;     /* resources: what an attempt holds of its worker's capacity */
    size_t nres;
    char **labels;       /* labels: "key=value" its worker must carry (NULL when none) */
    size_t nlabels;
    uint64_t mem;        /* res's mem: what the executor lets an attempt allocate, 0 = none */
    const char *place;   /* type, resources, labels, priority (when its own) and pool in one
                            string (the dag's strings): tasks alike in it wait in one queue
                            (where its head cannot go, neither can the next) */
    int32_t priority;    /* priority: higher first; its own, else the workflow's ... */
    int has_priority;    /* ... when either was given (else its project's default) */
    char *pool;          /* pool: the named limit (dag.limits) its attempts count in, or NULL */
    int64_t schedule_timeout_ms; /* schedule_timeout: fails unschedulable when it waits
                                    ready longer, 0 = never */
    int *parents, *children;
    size_t nparents, nchildren;
    dag_value *when;     /* when: run only if this is true (bool), or NULL */
    char *when_text;     /* ... as written, for the message of a task it skips */
    enum dag_kind kind;  /* who decides it: a worker, a person, or the scheduler at once */
    int catch_next;      /* catch: the handler to run when this task fails, or -1 */
    unsigned catch_on;   /* bit (1 << errclass) for each class the catch handles */
    int catch_of;        /* the task this one is the catch handler of, or -1 */
    char *cache_version; /* memoized (cache:), with this version ("" when not given); NULL:
                            computed every time */
    dag_value *map;      /* map: the list fanned out over (one element per item), or NULL */
    uint32_t max_parallel;  /* mapped: elements running at once, 0 = no limit */
    int64_t min_success;    /* mapped: elements that must succeed; -1: use min_success_pct */
    double min_success_pct; /* mapped: percentage of the elements (100 by default) */
    char **output_names; /* mapped: the declared outputs, each a list over the elements */
    size_t noutputs;
    char **secret_envs;  /* secrets: the environment variable each secret is given as... */
    char **secret_names; /* ...and the secret's name (its value exists only on workers) */
    size_t nsecrets;
} dag_task;

typedef struct dag {
    char *name;       /* workflow name */
    int64_t version;  /* workflow version, 0 when not given */
    char *file;       /* file name as given */
    char *hash;       /* hex hash of the workflow text and resolved parameters */
    json_t *params;   /* resolved parameters (object) */
    json_t *schedule; /* schedule:, normalized (compile_schedule.c); NULL when none */
    json_t *schedule_vars; /* the values of ${schedule.*} it was compiled with */
    json_t *notify;   /* notify:, normalized (compile_notify.c); NULL when none */
    int64_t sla_ms;   /* sla: a run not finished this long after it started is late; 0 */
    int64_t timeout_ms; /* run-level timeout, 0 = none */
    uint32_t concurrency; /* concurrency: attempts of this workflow in flight at once over
                             all its runs in its project, 0 = no limit */
    res_amount *limits; /* limits: named pools and how many attempts of their tasks may be in
                           flight at once over all runs of the project */
    size_t nlimits;
    dag_task *tasks;
    size_t ntasks;
    int *order;       /* topological order, ntasks entries */
    strmap *strings;  /* text its tasks share (type, type_version, place), each held once */
} dag;

void dag_free(dag *d);
/* The dag's copy of s, made once and freed with the dag: tasks alike hold one. */
const char *dag_intern(dag *d, const char *s);
/* Calls fn with each output reference (DV_OUT) inside v, in expressions too. */
void dag_value_each_out(dag_value *v, void (*fn)(void *ud, dag_value *out), void *ud);

/* What references resolve against: outputs[t] is task t's output object (borrowed; NULL
 * for a task that made none: skipped); item and index are the element of a mapped task
 * (NULL and -1 otherwise). missing, when set, becomes 1 once a reference reads a task that
 * made no outputs (a ?? may still have found another). */
typedef struct dag_scope {
    json_t *const *outputs;
    const json_t *item;
    int64_t index;
    int *missing;
} dag_scope;

/* Resolves task i's inputs. Returns a new JSON object of input name -> value, or NULL
 * with a message in why when an upstream output is missing. */
json_t *dag_resolve_inputs(const dag *d, size_t i, const dag_scope *sc, char *why, size_t n);
/* Resolves one value (a map: list). New reference, or NULL with why. */
json_t *dag_resolve_value(const dag *d, const dag_value *v, const dag_scope *sc, char *why,
                          size_t n);
/* A task's name, or "name[elem]" for element elem (>= 0) of a mapped task. */
void dag_unit_name(const dag *d, int task, int elem, char *buf, size_t n);
/* The minimum number of n elements of mapped task t that must succeed. */
size_t dag_min_success(const dag_task *t, size_t n);

/* Renders the graph for Graphviz (dot) or Mermaid. Caller frees. */
char *dag_render_dot(const dag *d);
char *dag_render_mermaid(const dag *d);

void dag_value_free(dag_value *v);

#endif
