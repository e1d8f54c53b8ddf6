/* compile_int: state shared by the compiler's two halves (compile.c, cvalue.c). Private. */
#ifndef WEFT_COMPILE_INT_H
#define WEFT_COMPILE_INT_H

#include <jansson.h>

#include "common/resource.h"
#include "common/strmap.h"
#include "common/wtype.h"
#include "compiler/compile.h"
#include "compiler/ytree.h"

/* What a workflow compiled to be called (compile_call.c) gives its caller. */
typedef struct cc_callee {
    tt_decl *sig;          /* its call's declaration: inputs its parameters (optional when
                              they have a default), outputs its outputs (owned) */
    json_t *defaults;      /* parameter -> its default */
    char **out_names;      /* its outputs: name and value over its tasks */
    dag_value **outs;
    size_t nouts;
    int params_task;       /* the task its ${params.X} read (the call's entry) */
} cc_callee;

typedef struct cc {
    diag *d;
    const compile_input *in;
    const typereg *types;
    dag *g;
    json_t *params;          /* resolved parameter values */
    strmap *declared;        /* parameter names declared in the file (values unused) */
    strmap *secret_params;   /* parameters of type secret: their values name secrets, and
                                only a task's secrets: may use them */
    strmap *task_index;      /* task name -> index + 1 (as a pointer-sized integer) */
    const tt_decl **decls;   /* per task; NULL when the type is unknown */
    unsigned char *mapped;   /* per task: it has map: (so ${item} and ${index} are defined) */
    wtype *item_types;       /* per mapped task: the type of ${item} */
    int in_map;              /* compiling a map: value (where ${item} is not defined) */
    int self;                /* the task whose inputs cv_check is checking */
    tt_decl **own_decls;     /* per task: its type's declaration extended by its outputs:
                                (what decls points at then), or NULL */
    json_t **task_outputs;   /* per task: its outputs: ({name: "type"}) until it becomes
                                the input that takes it, or NULL */
    cc_callee *callee;       /* compiling a called workflow: what its caller gets, else NULL */
    int params_task;         /* callee: the task ${params.X} reads, else -1 */
    struct cc_call **calls;  /* per task: the workflow it calls (type: workflow), or NULL */
    size_t ncompiled;        /* tasks compiled from the file (calls splice in more) */
    const json_t *bundle;    /* the files the workflow carries: key -> text */
    json_t *own_bundle;      /* ... read from the submitted file's bundled: (owned) */
    const char *root_dir;    /* the directory of the submitted workflow ("" for .) */
} cc;

/* Shared helpers of compile.c: each reports at n and returns NULL / -1 on a mismatch. */
int cc_valid_name(const char *s, int allow_underscore);
/* Whether s names an output: [a-z0-9_]+, as a plugin's ports are named. */
int cc_port_name_ok(const char *s);
/* Reports keys of map not in known. */
void cc_check_keys(cc *c, const ynode *map, const char *where, const char *const *known);
/* The next key of map (from *pos on) that is in refused, or NULL; for a caller to say why. */
const ynode *cc_refused_key(const ynode *map, const char *const *refused, size_t *pos);
const ynode *cc_expect(cc *c, const ynode *n, enum ynode_kind kind, const char *what);
int cc_get_int(cc *c, const ynode *n, const char *what, long long lo, long long hi,
               long long *out);
int cc_get_duration(cc *c, const ynode *n, const char *what, int64_t *out);

/* A plain scalar typed per YAML's core schema; a quoted one is a string. New reference. */
json_t *cv_scalar(const ynode *n);
/* A YAML subtree without references as JSON (mapping keys are strings). New reference. */
json_t *cv_literal(const ynode *n);
/* Compiles a value that may hold ${...} references. Returns NULL after reporting errors.
 * Adds the producing task of every output reference to deps (indices, deduplicated). */
dag_value *cv_compile(cc *c, const ynode *n, int self, int **deps, size_t *ndeps,
                      size_t *capdeps);
/* Replaces every path string at an artifact position of type t inside v by an artifact
 * reference (compile_input.ingest, or a pending reference). Returns v's replacement (a new
 * reference; v is consumed), or NULL after reporting at n why a path could not be taken. */
json_t *cv_artifacts(cc *c, json_t *v, wtype t, const ynode *n, const char *what);
/* Whether literal v holds an artifact reference (an object with a hash and a kind of file
 * or dir): a workflow names files by their paths, and only ingestion makes references (one
 * written by hand could name any blob in the store). Adds the error at n. */
int cv_refuse_refs(cc *c, const json_t *v, const ynode *n, const char *what);
/* The same for the literals of a compiled input value (in place). */
void cv_ingest(cc *c, dag_value *v, wtype want, const ynode *n, const char *what);
/* Checks v against a declared port type, reporting mismatches at n's position. */
void cv_check(cc *c, const dag_value *v, wtype want, const ynode *n, const char *what);
/* The static type of a compiled value (any when it cannot be known before running). */
wtype cv_type(cc *c, const dag_value *v);

/* compile_params.c: resolves the parameters (defaults, then -p overrides) into c->params. */
void cc_compile_params(cc *c, const ynode *params, const compile_input *in);
/* compile_params.c: whether s is a secret's name: 1 to 128 characters of [A-Za-z0-9._-],
 * not starting with '.'. */
int cc_secret_name_ok(const char *s);
/* compile_notify.c: `notify:` n and `sla:` slan (either may be NULL) into c->g->notify and
 * c->g->sla_ms. */
void cc_compile_notify(cc *c, const ynode *n, const ynode *slan);
/* compile_params.c: a task's secrets: { ENV_VAR: secret-name } (names only). */
void cc_compile_secrets(cc *c, int self, const ynode *n);
/* compile_schedule.c: `schedule:` sn and a `timezone:` tzn beside it (either may be NULL)
 * into c->g->schedule. */
void cc_compile_schedule(cc *c, const ynode *sn, const ynode *tzn);

/* compile_outputs.c: a task's `outputs:` on (NULL when absent), after its type is known:
 * checks it and extends c->decls[self] with the outputs it declares. */
void cc_task_outputs(cc *c, int self, const ynode *on);
/* compile_outputs.c: refuses (returns -1) an input given in `with:` (key k) whose port p
 * takes the task's outputs:. Returns 0 for any other input. */
int cc_outputs_input(cc *c, int self, const tt_port *p, const ynode *k);
/* compile_outputs.c: adds the task's outputs: as the input that takes it (before the
 * inputs are sorted). */
void cc_add_outputs_input(cc *c, int self);
void cc_free_task_outputs(cc *c, size_t ntasks);

/* compile_approve.c: the task fields that place, repeat or memoize an attempt on a worker,
 * which mean nothing for a task no worker runs (NULL-terminated). */
extern const char *const cc_worker_fields[];
/* compile_approve.c: marks task self (of type approve, tree tn) an approval and refuses
 * the fields that mean nothing without a worker. */
void cc_approval(cc *c, int self, const ynode *tn);

/* compile.c: compiles in (a called workflow when callee is set, which it fills; root_dir:
 * the submitted workflow's directory, NULL when in is it). */
dag *cc_compile(const compile_input *in, diag *d, const char *root_dir, cc_callee *callee);
void cc_free_callee(cc_callee *ce);
/* compile_outputs.c: frees a declaration the compiler made (its ports owned). */
void cc_free_decl(tt_decl *e);
/* compile_call.c: task self (tree tn) calls a workflow (type: workflow): compiles it and
 * makes its declaration; its values' defaults (in compile_inputs, before the sort); the
 * calls spliced into the caller's tasks (after every check, before the edges are linked;
 * deps grow with the tasks); freeing them. */
void cc_call_compile(cc *c, int self, const ynode *tn);
void cc_call_defaults(cc *c, int self);
void cc_splice_calls(cc *c, size_t ncompiled, int ***deps, size_t **ndeps);
void cc_free_calls(cc *c, size_t ncompiled);
/* compile_call.c: the workflow's outputs: (on, may be NULL), compiled and typed into
 * c->callee, or only checked when it is not called; the params task's declaration. */
void cc_workflow_outputs(cc *c, const ynode *on);
tt_decl *cc_params_decl(cc *c);
/* compile_call.c: a called workflow's declaration begun from its parameters (after they
 * are compiled). */
void cc_callee_begin(cc *c);
/* compile_call.c: refuses (at root) what a called workflow cannot have: limits and
 * concurrency (its caller's project holds those), a run timeout. */
void cc_callee_refuse(cc *c, const ynode *root);

/* compile_edges.c: parents from deps (computed per task; taken) and children from parents;
 * the topological order (g->order), reporting a cycle. */
void cc_link_edges(dag *g, int **deps, size_t *ndeps);
void cc_order_tasks(cc *c);

/* compile_place.c: where a task may run: `resources:` (amounts it holds of its worker's
 * capacity) and `labels:` (that its worker must carry), under `defaults:` and on each task,
 * merged name by name. Names and values are borrowed from the tree. */
typedef struct cc_place {
    struct { const char *name; uint64_t amount; } res[RES_MAX];
    size_t nres;
    struct { const char *key, *value; } labels[RES_LABELS_MAX];
    size_t nlabels;
    int priority, has_priority;
    const ynode *pool;          /* pool:, or NULL */
    int64_t schedule_timeout_ms;
} cc_place;
void cc_compile_resources(cc *c, const ynode *n, cc_place *p);
void cc_compile_labels(cc *c, const ynode *n, cc_place *p);
/* priority, pool and schedule_timeout of a task or of defaults (n) into p; a pool must be
 * one of the workflow's limits (compiled first). */
void cc_compile_queueing(cc *c, const ynode *n, cc_place *p);
/* The workflow's priority (into *wf, the default of its tasks), concurrency and limits. */
void cc_compile_limits(cc *c, const ynode *root, cc_place *wf);
/* Sets t's res, mem, labels, priority, pool, schedule timeout and place from p (and
 * t->type). */
void cc_place_task(const cc_place *p, dag *g, dag_task *t);

/* compile_map.c: map fan-out. cm_settings reads max_parallel and min_success (task self
 * must be flagged mapped first); cm_compile compiles the map: value, adding its producer
 * to deps; cm_check types it (a list) and fixes ${item}'s type and the task's outputs. */
void cm_settings(cc *c, int self, const ynode *tn);
void cm_compile(cc *c, int self, const ynode *tn, int **deps, size_t *ndeps, size_t *capdeps);
void cm_check(cc *c, int self, const ynode *tn);

#endif
