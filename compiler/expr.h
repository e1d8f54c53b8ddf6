/* expr: expressions inside ${ }, typed when the workflow is compiled and evaluated when the
 * task's inputs are resolved.
 *
 *   literals     1  2.5  "text"  'text'  true  false  null
 *   references   params.NAME  TASK.outputs.NAME  TASK.error.message  item  index
 *                schedule.time   (whatever a bare ${...} may name)
 *   operators    (lowest first)  ??   ||   &&   == != < <= > >=   + -   * / %   ! -
 *   functions    int float string json len contains startswith join split lines fromjson
 *                format range
 *
 * Types follow the workflow language's (common/wtype.h): + adds numbers (int + int is int),
 * joins strings and lists; / always gives a float, % takes ints; comparisons and && || !
 * give bool. A number becomes text only through string(), format() or interpolation inside
 * text. a ?? b is a, or b when a cannot be had (an output its task did not make). */
#ifndef WEFT_EXPR_H
#define WEFT_EXPR_H

#include <jansson.h>

#include "common/wtype.h"
#include "compiler/dag.h"

typedef struct expr expr;

/* What the compiler lends the parser: a reference (the text of params.x, t.outputs.y,
 * item...) compiled into a value, or NULL after the compiler reported why. */
typedef struct expr_refs {
    dag_value *(*compile)(void *ud, const char *ref);
    void *ud;
} expr_refs;

/* Parses text. NULL with why (n bytes) when it is not an expression; *failed_ref set when
 * a reference was refused (the compiler said why already). */
expr *expr_parse(const char *text, const expr_refs *refs, char *why, size_t n,
                 int *failed_ref);
/* Types e, its references typed by type_of (once every task is compiled): 0, or -1 with
 * why when an operator or a function does not take what it is given. */
typedef wtype (*expr_type_fn)(void *ud, const dag_value *ref);
int expr_check(expr *e, expr_type_fn type_of, void *ud, char *why, size_t n);
/* The expression's type (after expr_check). */
wtype expr_type(const expr *e);
/* The reference e is when it is nothing more, taken out of it (caller frees e), else
 * NULL. */
dag_value *expr_take_ref(expr *e);
/* Whether e reads no reference: its value is known now. */
int expr_constant(const expr *e);
/* Evaluates e; references resolve through resolve (a dag_value to a new JSON value, or NULL
 * with why). A new reference, or NULL with why (a value out of range, a missing output). */
typedef json_t *(*expr_resolve_fn)(void *ud, const dag_value *ref, char *why, size_t n);
json_t *expr_eval(const expr *e, expr_resolve_fn resolve, void *ud, char *why, size_t n);
void expr_free(expr *e);
/* Calls fn with each reference e reads (for a caller that moves the tasks they name). */
void expr_each_ref(expr *e, void (*fn)(void *ud, dag_value *ref), void *ud);

#endif
