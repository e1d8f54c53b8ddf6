/* expr: expressions inside ${ }. See expr.h. */
#include "compiler/expr_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/xmem.h"

#define EXPR_DEPTH_MAX 64
#define EXPR_PARTS_MAX 1000 /* operands and operators: bounds the tree's depth too */

enum tok { T_END, T_NUM, T_STR, T_NAME, T_OP };

static const struct {
    const char *name;
    enum expr_op op;
    int min, max; /* arguments; max -1: any number */
} FUNCS[] = {{"int", F_INT, 1, 1},         {"float", F_FLOAT, 1, 1},
             {"string", F_STRING, 1, 1},   {"json", F_JSON, 1, 1},
             {"len", F_LEN, 1, 1},         {"contains", F_CONTAINS, 2, 2},
             {"startswith", F_STARTSWITH, 2, 2}, {"join", F_JOIN, 2, 2},
             {"split", F_SPLIT, 2, 2},     {"lines", F_LINES, 1, 1},
             {"fromjson", F_FROMJSON, 1, 1}, {"format", F_FORMAT, 1, -1},
             {"range", F_RANGE, 2, 2}};

typedef struct parser {
    const char *s, *p;
    enum tok tok;
    char *text;        /* T_NUM, T_STR, T_NAME, T_OP: the token */
    const expr_refs *refs;
    char *why;
    size_t n;
    int failed, failed_ref, depth, parts;
} parser;

static const wtype TY_BOOL = {WT_BOOL, 0}, TY_INT = {WT_INT, 0}, TY_FLOAT = {WT_FLOAT, 0},
                   TY_STRING = {WT_STRING, 0}, TY_JSON = {WT_JSON, 0};

/* ---- errors ---- */

static expr *fail(parser *ps, const char *fmt, ...)
{
    if (!ps->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->why, ps->n, fmt, ap);
        va_end(ap);
        ps->failed = 1;
    }
    return NULL;
}

static const char *tname(wtype t, char *buf, size_t n)
{
    return wtype_format(t, buf, n);
}

/* ---- tokens ---- */

static int name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static void next(parser *ps)
{
    free(ps->text);
    ps->text = NULL;
    while (isspace((unsigned char)*ps->p))
        ps->p++;
    const char *p = ps->p;
    if (!*p) {
        ps->tok = T_END;
        return;
    }
    const char *end = p + 1;
    if (isdigit((unsigned char)*p)) {
        ps->tok = T_NUM;
        while (isalnum((unsigned char)*end) || *end == '.' ||
               ((*end == '+' || *end == '-') && (end[-1] == 'e' || end[-1] == 'E')))
            end++;
    } else if (*p == '"' || *p == '\'') {
        ps->tok = T_STR;
        while (*end && *end != *p)
            end += end[0] == '\\' && end[1] ? 2 : 1;
        if (!*end) {
            fail(ps, "unterminated string %s", p);
            ps->tok = T_END;
            return;
        }
        end++;
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        ps->tok = T_NAME;
        /* '-' joins a name only between name characters (task-name), so a - b subtracts */
        while (name_char(*end) && !(*end == '-' && !isalnum((unsigned char)end[1])))
            end++;
    } else {
        ps->tok = T_OP;
        static const char *const two[] = {"??", "||", "&&", "==", "!=", "<=", ">=", NULL};
        for (int i = 0; two[i]; i++)
            if (!strncmp(p, two[i], 2))
                end = p + 2;
        if (end == p + 1 && !strchr("<>+-*/%!(),[]", *p)) {
            fail(ps, "unexpected '%c'", *p);
            ps->tok = T_END;
            return;
        }
    }
    ps->text = xstrndup(p, (size_t)(end - p));
    ps->p = end;
}

static int is_op(const parser *ps, const char *op)
{
    return ps->tok == T_OP && !strcmp(ps->text, op);
}

/* ---- nodes ---- */

static expr *node(enum expr_kind k, enum expr_op op, wtype t)
{
    expr *e = xcalloc(1, sizeof *e);
    e->kind = k;
    e->op = op;
    e->type = t;
    return e;
}

static expr *lit(json_t *v)
{
    expr *e = node(EX_LIT, OP_NONE, wtype_of_json(v));
    e->lit = v;
    return e;
}

static void add_arg(expr *e, expr *a)
{
    e->args = xrealloc(e->args, (e->nargs + 1) * sizeof *e->args);
    e->args[e->nargs++] = a;
}

void expr_each_ref(expr *e, void (*fn)(void *ud, dag_value *ref), void *ud)
{
    if (!e)
        return;
    if (e->ref)
        fn(ud, e->ref);
    for (size_t i = 0; i < e->nargs; i++)
        expr_each_ref(e->args[i], fn, ud);
}

void expr_free(expr *e)
{
    if (!e)
        return;
    json_decref(e->lit);
    dag_value_free(e->ref);
    for (size_t i = 0; i < e->nargs; i++)
        expr_free(e->args[i]);
    free(e->args);
    free(e);
}

/* ---- types ---- */

static int is_num(wtype t)
{
    return t.depth == 0 && (t.base == WT_INT || t.base == WT_FLOAT || t.base == WT_ANY ||
                            t.base == WT_JSON);
}

static int is_a(wtype t, int base)
{
    return t.depth == 0 && (t.base == base || t.base == WT_ANY || t.base == WT_JSON);
}

static int is_text(wtype t)
{
    return t.depth == 0 && (t.base == WT_STRING || t.base == WT_DURATION ||
                            t.base == WT_SIZE || t.base == WT_ANY || t.base == WT_JSON);
}

/* A value known only when it is computed (json, or an echo's output). */
static int is_open(wtype t)
{
    return t.depth == 0 && (t.base == WT_ANY || t.base == WT_JSON);
}

static int is_list(wtype t)
{
    return t.depth > 0 || (t.depth == 0 && (t.base == WT_ANY || t.base == WT_JSON));
}

/* The type of a binary operation, or a failure naming the operands. */
static expr *type_binary(parser *ps, expr *e)
{
    wtype a = e->args[0]->type, b = e->args[1]->type;
    char ab[64], bb[64];
    switch (e->op) {
    case OP_COALESCE:
        if (!wtype_assignable(a, b) && !wtype_assignable(b, a))
            return fail(ps, "?? joins values of one type, not %s and %s", tname(a, ab, 64),
                        tname(b, bb, 64));
        e->type = a.base == WT_ANY ? b : a;
        return e;
    case OP_OR:
    case OP_AND:
        if (!is_a(a, WT_BOOL) || !is_a(b, WT_BOOL))
            return fail(ps, "%s takes bool operands, not %s and %s",
                        e->op == OP_OR ? "||" : "&&", tname(a, ab, 64), tname(b, bb, 64));
        e->type = TY_BOOL;
        return e;
    case OP_EQ:
    case OP_NE:
        if (!wtype_assignable(a, b) && !wtype_assignable(b, a) && !(is_num(a) && is_num(b)))
            return fail(ps, "cannot compare %s with %s", tname(a, ab, 64), tname(b, bb, 64));
        e->type = TY_BOOL;
        return e;
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        /* Durations and sizes are text that orders wrongly ("10s" < "9s"). */
        if ((!(is_num(a) && is_num(b)) && !(is_text(a) && is_text(b))) ||
            a.base == WT_DURATION || a.base == WT_SIZE || b.base == WT_DURATION ||
            b.base == WT_SIZE)
            return fail(ps, "cannot order %s and %s (numbers or strings)", tname(a, ab, 64),
                        tname(b, bb, 64));
        e->type = TY_BOOL;
        return e;
    case OP_ADD:
        if (a.base == WT_INT && b.base == WT_INT && !a.depth && !b.depth)
            e->type = TY_INT;
        else if (is_num(a) && is_num(b) && !is_open(a) && !is_open(b))
            e->type = TY_FLOAT;
        else if (a.base == WT_STRING && b.base == WT_STRING && !a.depth && !b.depth)
            e->type = TY_STRING;
        else if (a.depth && a.depth == b.depth && wtype_assignable(a, b))
            e->type = a;
        else if ((is_open(a) && (is_num(b) || is_text(b) || is_list(b))) ||
                 (is_open(b) && (is_num(a) || is_text(a) || is_list(a))))
            e->type = TY_JSON; /* decided by the values */
        else
            return fail(ps, "cannot add %s and %s (string() makes text of a number)",
                        tname(a, ab, 64), tname(b, bb, 64));
        return e;
    default: /* - * / % */
        if (!is_num(a) || !is_num(b) || (e->op == OP_MOD && (a.base == WT_FLOAT ||
                                                            b.base == WT_FLOAT)))
            return fail(ps, "'%s' takes %s, not %s and %s",
                        e->op == OP_SUB ? "-" : e->op == OP_MUL ? "*" : e->op == OP_DIV ? "/"
                                                                                     : "%",
                        e->op == OP_MOD ? "ints" : "numbers", tname(a, ab, 64), tname(b, bb, 64));
        e->type = e->op == OP_DIV                      ? TY_FLOAT
                  : a.base == WT_INT && b.base == WT_INT ? TY_INT
                  : is_open(a) || is_open(b)             ? TY_JSON
                                                         : TY_FLOAT;
        return e;
    }
}

/* The type of a function call, or a failure naming the function and the argument. */
static expr *type_call(parser *ps, expr *e, const char *name)
{
    wtype a = e->args[0]->type, b = e->nargs > 1 ? e->args[1]->type : TY_JSON;
    char ab[64];
    switch (e->op) {
    case F_INT:
    case F_FLOAT:
        if (a.depth || !(is_num(a) || is_text(a) || a.base == WT_BOOL))
            return fail(ps, "%s() takes a number, a string or a bool, not %s", name,
                        tname(a, ab, 64));
        e->type = e->op == F_INT ? TY_INT : TY_FLOAT;
        return e;
    case F_STRING:
    case F_JSON:
        e->type = TY_STRING;
        return e;
    case F_LEN:
        if (!is_list(a) && !is_text(a))
            return fail(ps, "len() takes a list or a string, not %s", tname(a, ab, 64));
        e->type = TY_INT;
        return e;
    case F_CONTAINS:
        if (!is_list(a) && !is_text(a))
            return fail(ps, "contains() looks in a list or a string, not %s", tname(a, ab, 64));
        e->type = TY_BOOL;
        return e;
    case F_STARTSWITH:
    case F_SPLIT:
        if (!is_text(a) || !is_text(b))
            return fail(ps, "%s() takes two strings", name);
        e->type = e->op == F_SPLIT ? (wtype){WT_STRING, 1} : TY_BOOL;
        return e;
    case F_JOIN:
        if (!is_list(a) || !is_text(b))
            return fail(ps, "join() takes a list and a string, not %s", tname(a, ab, 64));
        e->type = TY_STRING;
        return e;
    case F_LINES:
        if (!is_text(a))
            return fail(ps, "lines() takes a string, not %s", tname(a, ab, 64));
        e->type = (wtype){WT_STRING, 1};
        return e;
    case F_FROMJSON:
        if (!is_text(a))
            return fail(ps, "fromjson() takes a string, not %s", tname(a, ab, 64));
        e->type = TY_JSON;
        return e;
    case F_FORMAT:
        if (!is_text(a))
            return fail(ps, "format() takes a format string first, not %s", tname(a, ab, 64));
        e->type = TY_STRING;
        return e;
    default: /* F_RANGE */
        if (!is_a(a, WT_INT) || !is_a(b, WT_INT))
            return fail(ps, "range() takes two ints");
        e->type = (wtype){WT_INT, 1};
        return e;
    }
}

/* ---- parsing (one function per precedence level, lowest first) ---- */

static expr *parse_coalesce(parser *ps);

static expr *parse_call(parser *ps, const char *name)
{
    size_t f = 0;
    while (f < sizeof FUNCS / sizeof *FUNCS && strcmp(FUNCS[f].name, name))
        f++;
    if (f == sizeof FUNCS / sizeof *FUNCS)
        return fail(ps, "unknown function %s() (there are int, float, string, json, len, "
                    "contains, startswith, join, split, lines, fromjson, format, range)", name);
    expr *e = node(EX_OP, FUNCS[f].op, TY_JSON);
    next(ps); /* ( */
    while (!ps->failed && !is_op(ps, ")")) {
        if (e->nargs && !is_op(ps, ","))
            return expr_free(e), fail(ps, "expected ',' or ')' in %s()", name);
        if (e->nargs)
            next(ps);
        expr *a = parse_coalesce(ps);
        if (!a)
            return expr_free(e), NULL;
        add_arg(e, a);
    }
    if (ps->failed)
        return expr_free(e), NULL;
    next(ps); /* ) */
    size_t nargs = e->nargs;
    if ((int)nargs < FUNCS[f].min || (FUNCS[f].max >= 0 && (int)nargs > FUNCS[f].max)) {
        expr_free(e);
        return fail(ps, "%s() takes %s%d argument%s, not %zu", name,
                    FUNCS[f].max < 0 ? "at least " : "", FUNCS[f].min,
                    FUNCS[f].min == 1 ? "" : "s", nargs);
    }
    return e;
}

/* Counts a part of the expression: 0, or -1 past EXPR_PARTS_MAX. */
static int part(parser *ps)
{
    if (++ps->parts <= EXPR_PARTS_MAX)
        return 0;
    fail(ps, "more than %d operands and operators", EXPR_PARTS_MAX);
    return -1;
}

/* A name: the reference it starts with (params.NAME, TASK.outputs.NAME, item, index; a
 * schedule's and a catch handler's forms whole), then a field for each further part
 * (train.outputs.metrics.auc is the field auc of the output metrics). */
static expr *parse_ref(parser *ps, char *name)
{
    size_t parts = !strncmp(name, "params.", 7) ? 2
                   : !strcmp(name, "item") || !strncmp(name, "item.", 5) ||
                           !strcmp(name, "index")
                       ? 1
                   : strchr(name, '.') && !strncmp(strchr(name, '.'), ".outputs.", 9) ? 3
                                                                                    : 0;
    char *fields = name;
    for (size_t k = 0; parts && k < parts && fields; k++)
        fields = strchr(k ? fields + 1 : fields, '.');
    if (!parts || (fields && !fields[1]))
        fields = NULL;
    if (fields)
        *fields++ = '\0';
    dag_value *v = ps->refs->compile(ps->refs->ud, name);
    if (!v) {
        ps->failed_ref = 1;
        return fail(ps, "bad reference %s", name);
    }
    expr *e = node(EX_REF, OP_NONE, (wtype){WT_ANY, 0});
    e->ref = v;
    for (char *f = fields, *dot; f; f = dot) {
        if ((dot = strchr(f, '.')))
            *dot++ = '\0';
        if (!*f)
            return expr_free(e), fail(ps, "an empty field name");
        expr *x = node(EX_OP, OP_FIELD, TY_JSON);
        add_arg(x, e);
        add_arg(x, lit(json_string(f)));
        e = x;
    }
    return e;
}

static expr *parse_primary(parser *ps)
{
    if (part(ps) < 0)
        return NULL;
    if (++ps->depth > EXPR_DEPTH_MAX)
        return fail(ps, "nested more than %d deep", EXPR_DEPTH_MAX);
    expr *e = NULL;
    if (ps->tok == T_NUM) {
        char *end;
        errno = 0;
        int is_float = strpbrk(ps->text, ".eE") != NULL;
        long long i = is_float ? 0 : strtoll(ps->text, &end, 10);
        double d = is_float ? strtod(ps->text, &end) : 0;
        if (*end || errno || !isfinite(d))
            return fail(ps, "bad number '%s'", ps->text);
        e = lit(is_float ? json_real(d) : json_integer(i));
        next(ps);
    } else if (ps->tok == T_STR) {
        size_t len = strlen(ps->text) - 2, o = 0;
        char *buf = xmalloc(len + 1);
        for (size_t i = 1; i <= len; i++) {
            char ch = ps->text[i];
            if (ch == '\\' && i < len) {
                ch = ps->text[++i];
                ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch == 'r' ? '\r' : ch;
            }
            buf[o++] = ch;
        }
        e = lit(json_stringn(buf, o));
        free(buf);
        next(ps);
    } else if (ps->tok == T_NAME) {
        char *name = xstrdup(ps->text);
        next(ps);
        if (is_op(ps, "("))
            e = parse_call(ps, name);
        else if (!strcmp(name, "true") || !strcmp(name, "false"))
            e = lit(json_boolean(name[0] == 't'));
        else if (!strcmp(name, "null"))
            e = lit(json_null());
        else
            e = parse_ref(ps, name);
        free(name);
        while (e && is_op(ps, "[")) { /* elements: x[0], x[i + 1] */
            next(ps);
            expr *i = parse_coalesce(ps);
            if (!i || !is_op(ps, "]")) {
                expr_free(i);
                expr_free(e);
                return fail(ps, "expected ']'");
            }
            next(ps);
            expr *x = node(EX_OP, OP_INDEX, TY_JSON);
            add_arg(x, e);
            add_arg(x, i);
            e = x;
        }
    } else if (is_op(ps, "(")) {
        next(ps);
        e = parse_coalesce(ps);
        if (e && !is_op(ps, ")"))
            return expr_free(e), fail(ps, "expected ')'");
        if (e)
            next(ps);
    } else {
        e = fail(ps, ps->tok == T_END ? "an expression ends too soon" : "unexpected '%s'",
                 ps->text);
    }
    ps->depth--;
    return e;
}

static expr *parse_unary(parser *ps)
{
    if (is_op(ps, "!") || is_op(ps, "-")) {
        if (part(ps) < 0)
            return NULL;
        int neg = ps->text[0] == '-';
        next(ps);
        expr *a = parse_unary(ps);
        if (!a)
            return NULL;
        expr *e = node(EX_OP, neg ? OP_NEG : OP_NOT, TY_JSON);
        add_arg(e, a);
        return e;
    }
    return parse_primary(ps);
}

/* One binary level: operands from sub, joined by any of ops (op codes in codes). */
static expr *binary(parser *ps, expr *(*sub)(parser *), const char *const *ops,
                    const enum expr_op *codes, int chain)
{
    expr *e = sub(ps);
    while (e && ps->tok == T_OP) {
        int k = 0;
        while (ops[k] && strcmp(ops[k], ps->text))
            k++;
        if (!ops[k] || part(ps) < 0)
            break;
        next(ps);
        expr *b = sub(ps);
        if (!b)
            return expr_free(e), NULL;
        expr *op = node(EX_OP, codes[k], TY_JSON);
        add_arg(op, e);
        add_arg(op, b);
        e = op;
        if (!chain)
            break;
    }
    return e;
}

static expr *parse_mul(parser *ps)
{
    static const char *const ops[] = {"*", "/", "%", NULL};
    static const enum expr_op codes[] = {OP_MUL, OP_DIV, OP_MOD};
    return binary(ps, parse_unary, ops, codes, 1);
}

static expr *parse_add(parser *ps)
{
    static const char *const ops[] = {"+", "-", NULL};
    static const enum expr_op codes[] = {OP_ADD, OP_SUB};
    return binary(ps, parse_mul, ops, codes, 1);
}

static expr *parse_cmp(parser *ps)
{
    static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">", NULL};
    static const enum expr_op codes[] = {OP_EQ, OP_NE, OP_LE, OP_GE, OP_LT, OP_GT};
    return binary(ps, parse_add, ops, codes, 0);
}

static expr *parse_and(parser *ps)
{
    static const char *const ops[] = {"&&", NULL};
    static const enum expr_op codes[] = {OP_AND};
    return binary(ps, parse_cmp, ops, codes, 1);
}

static expr *parse_or(parser *ps)
{
    static const char *const ops[] = {"||", NULL};
    static const enum expr_op codes[] = {OP_OR};
    return binary(ps, parse_and, ops, codes, 1);
}

static expr *parse_coalesce(parser *ps)
{
    static const char *const ops[] = {"??", NULL};
    static const enum expr_op codes[] = {OP_COALESCE};
    return binary(ps, parse_or, ops, codes, 1);
}

expr *expr_parse(const char *text, const expr_refs *refs, char *why, size_t n,
                 int *failed_ref)
{
    parser ps = {.s = text, .p = text, .refs = refs, .why = why, .n = n};
    next(&ps);
    expr *e = ps.failed ? NULL : parse_coalesce(&ps);
    if (e && !ps.failed && ps.tok != T_END)
        fail(&ps, "unexpected '%s' after the expression", ps.text);
    if (e && ps.failed) { /* a bad character the tokenizer met after a whole expression */
        expr_free(e);
        e = NULL;
    }
    free(ps.text);
    *failed_ref = ps.failed_ref;
    return e;
}

/* ---- typing ---- */

static int check(parser *ps, expr *e, expr_type_fn type_of, void *ud)
{
    for (size_t i = 0; i < e->nargs; i++)
        if (check(ps, e->args[i], type_of, ud) < 0)
            return -1;
    if (e->kind == EX_REF)
        e->type = type_of(ud, e->ref);
    if (e->kind != EX_OP)
        return 0;
    if (e->op == OP_NOT || e->op == OP_NEG) {
        wtype a = e->args[0]->type;
        char ab[64];
        int neg = e->op == OP_NEG;
        if (neg ? !is_num(a) : !is_a(a, WT_BOOL))
            return fail(ps, "'%s' takes a %s, not %s", neg ? "-" : "!", neg ? "number" : "bool",
                        tname(a, ab, 64)), -1;
        e->type = neg ? a : TY_BOOL;
        return 0;
    }
    if (e->op == OP_FIELD || e->op == OP_INDEX) {
        wtype a = e->args[0]->type, i = e->args[1]->type;
        char ab[64];
        if (e->op == OP_FIELD ? !is_open(a) : !is_list(a) || !is_a(i, WT_INT))
            return fail(ps, e->op == OP_FIELD ? "a field of %s, which is no object (json)"
                                              : "an element of %s, by an index that is no int",
                        tname(a, ab, 64)), -1;
        e->type = e->op == OP_FIELD || !a.depth ? TY_JSON : (wtype){a.base, (uint8_t)(a.depth - 1)};
        return 0;
    }
    if (e->op < F_INT)
        return type_binary(ps, e) ? 0 : -1;
    size_t f = 0;
    while (FUNCS[f].op != e->op)
        f++;
    return type_call(ps, e, FUNCS[f].name) ? 0 : -1;
}

int expr_check(expr *e, expr_type_fn type_of, void *ud, char *why, size_t n)
{
    parser ps = {.why = why, .n = n};
    return check(&ps, e, type_of, ud);
}

wtype expr_type(const expr *e)
{
    return e->type;
}

dag_value *expr_take_ref(expr *e)
{
    dag_value *v = e->kind == EX_REF ? e->ref : NULL;
    if (v)
        e->ref = NULL;
    return v;
}

int expr_constant(const expr *e)
{
    if (e->kind == EX_REF)
        return e->ref->kind == DV_LIT;
    for (size_t i = 0; i < e->nargs; i++)
        if (!expr_constant(e->args[i]))
            return 0;
    return 1;
}
