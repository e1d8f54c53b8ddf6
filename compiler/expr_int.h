/* expr_int: an expression's tree, shared by its parser (expr.c) and evaluator
 * (expr_eval.c). */
#ifndef WEFT_EXPR_INT_H
#define WEFT_EXPR_INT_H

#include "compiler/expr.h"

/* Operators and functions, as node ops. */
enum expr_op {
    OP_NONE, OP_COALESCE, OP_OR, OP_AND, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_ADD,
    OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_NOT, OP_NEG,
    F_INT, F_FLOAT, F_STRING, F_JSON, F_LEN, F_CONTAINS, F_STARTSWITH, F_JOIN, F_SPLIT,
    F_LINES, F_FROMJSON, F_FORMAT, F_RANGE,
    OP_FIELD, /* args[0].NAME: a field of an object (args[1] the name, a literal) */
    OP_INDEX  /* args[0][args[1]]: an element of a list, from 0 */
};

enum expr_kind { EX_LIT, EX_REF, EX_OP };

struct expr {
    enum expr_kind kind;
    enum expr_op op;
    wtype type;
    json_t *lit;       /* EX_LIT */
    dag_value *ref;    /* EX_REF (owned) */
    expr **args;       /* EX_OP */
    size_t nargs;
};

#endif
