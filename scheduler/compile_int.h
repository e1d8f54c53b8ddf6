/* compile_int: state shared by the compiler's two halves (compile.c, cvalue.c). Private. */
#ifndef WEFT_COMPILE_INT_H
#define WEFT_COMPILE_INT_H

#include <jansson.h>

#include "common/strmap.h"
#include "common/wtype.h"
#include "scheduler/compile.h"
#include "scheduler/ytree.h"

typedef struct cc {
    diag *d;
    const compile_input *in;
    const typereg *types;
    dag *g;
    json_t *params;          /* resolved parameter values */
    strmap *declared;        /* parameter names declared in the file (values unused) */
    strmap *task_index;      /* task name -> index + 1 (as a pointer-sized integer) */
    const tt_decl **decls;   /* per task; NULL when the type is unknown */
} cc;

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
/* The same for the literals of a compiled input value (in place). */
void cv_ingest(cc *c, dag_value *v, wtype want, const ynode *n, const char *what);
/* Checks v against a declared port type, reporting mismatches at n's position. */
void cv_check(cc *c, const dag_value *v, wtype want, const ynode *n, const char *what);

#endif
