/* expr_eval: evaluating an expression's tree (see expr.h). Values are JSON; a value of the
 * wrong kind at run time (a json output that is not a number, say), a number out of range
 * or text that does not parse fails with why. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/xmem.h"
#include "compiler/expr_int.h"

#define RANGE_MAX 1000000      /* elements range() may make, and a list may have */
#define TEXT_MAX (16u << 20)   /* bytes a string made by an expression may have */

typedef struct ev {
    expr_resolve_fn resolve;
    void *ud;
    char *why;
    size_t n;
} ev;

static json_t *bad(ev *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why, v->n, fmt, ap);
    va_end(ap);
    return NULL;
}

static json_t *eval(ev *v, const expr *e);

/* The text string() makes of a value (caller frees). */
static char *text_of(const json_t *a)
{
    char num[64];
    if (json_is_string(a))
        return xstrdup(json_string_value(a));
    if (json_is_integer(a)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(a));
        return xstrdup(num);
    }
    if (json_is_real(a))
        return xstrdup(text_double(json_real_value(a), num, sizeof num));
    if (json_is_boolean(a))
        return xstrdup(json_is_true(a) ? "true" : "false");
    return json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

static int same(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) /* exactly, past 2^53 too */
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal(a, b);
}

/* ---- operators ---- */

static json_t *arith(ev *v, enum expr_op op, const json_t *a, const json_t *b)
{
    if (!json_is_number(a) || !json_is_number(b))
        return bad(v, "arithmetic on a value that is not a number");
    if (op == OP_MOD && (!json_is_integer(a) || !json_is_integer(b)))
        return bad(v, "%% takes ints");
    if (json_is_integer(a) && json_is_integer(b) && op != OP_DIV) {
        long long x = json_integer_value(a), y = json_integer_value(b), r = 0;
        int over = op == OP_ADD ? __builtin_add_overflow(x, y, &r)
                   : op == OP_SUB ? __builtin_sub_overflow(x, y, &r)
                   : op == OP_MUL ? __builtin_mul_overflow(x, y, &r)
                                  : 0;
        if (op == OP_MOD) {
            if (y == 0)
                return bad(v, "%% by zero");
            r = y == -1 ? 0 : x % y;
        }
        return over ? bad(v, "an int past 64 bits") : json_integer(r);
    }
    double x = json_number_value(a), y = json_number_value(b);
    if (op == OP_DIV && y == 0)
        return bad(v, "division by zero");
    double r = op == OP_ADD ? x + y : op == OP_SUB ? x - y : op == OP_MUL ? x * y : x / y;
    return isfinite(r) ? json_real(r) : bad(v, "a number past what a float holds");
}

static json_t *add(ev *v, const json_t *a, const json_t *b)
{
    if (json_is_string(a) && json_is_string(b)) {
        if (json_string_length(a) + json_string_length(b) > TEXT_MAX)
            return bad(v, "a string longer than %u bytes", TEXT_MAX);
        char *s = xasprintf("%s%s", json_string_value(a), json_string_value(b));
        json_t *r = json_string(s);
        free(s);
        return r;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) + json_array_size(b) > RANGE_MAX)
            return bad(v, "a list longer than %d", RANGE_MAX);
        json_t *r = json_copy((json_t *)a);
        json_array_extend(r, (json_t *)b);
        return r;
    }
    return arith(v, OP_ADD, a, b);
}

static json_t *order(ev *v, enum expr_op op, const json_t *a, const json_t *b)
{
    int c;
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        c = x < y ? -1 : x > y;
    } else if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        c = x < y ? -1 : x > y;
    } else if (json_is_string(a) && json_is_string(b)) {
        c = strcmp(json_string_value(a), json_string_value(b));
    } else {
        return bad(v, "cannot order values that are not both numbers or both strings");
    }
    return json_boolean(op == OP_LT ? c < 0 : op == OP_LE ? c <= 0 : op == OP_GT ? c > 0
                                                                                 : c >= 0);
}

/* && and ||, from their first operand's value a: the second is evaluated only if needed. */
static json_t *logic(ev *v, const expr *e, json_t *a)
{
    if (!json_is_boolean(a))
        return bad(v, "%s on a value that is not a bool", e->op == OP_OR ? "||" : "&&");
    if (json_is_true(a) == (e->op == OP_OR))
        return json_boolean(json_is_true(a));
    json_t *b = eval(v, e->args[1]);
    if (b && !json_is_boolean(b)) {
        json_decref(b);
        return bad(v, "%s on a value that is not a bool", e->op == OP_OR ? "||" : "&&");
    }
    return b;
}

/* ---- functions ---- */

static json_t *to_number(ev *v, const json_t *a, int as_int)
{
    double d;
    if (json_is_boolean(a))
        d = json_is_true(a);
    else if (json_is_number(a))
        d = json_number_value(a);
    else if (json_is_string(a)) {
        const char *s = json_string_value(a);
        char *end;
        errno = 0;
        if (as_int && !strpbrk(s, ".eE")) {
            long long i = strtoll(s, &end, 10);
            if (*s && !*end && !errno)
                return json_integer(i);
        }
        d = strtod(s, &end);
        /* decimal only: no hex, no nan or inf */
        if (!*s || *end || errno || !isfinite(d) || strpbrk(s, "xXpP"))
            return bad(v, "%s(): '%.80s' is not a number", as_int ? "int" : "float", s);
    } else {
        return bad(v, "%s() of a value that is not a number, string or bool",
                   as_int ? "int" : "float");
    }
    if (!as_int)
        return json_real(d);
    if (!isfinite(d) || d >= 9.2e18 || d <= -9.2e18)
        return bad(v, "int(): %g is past 64 bits", d);
    return json_integer((json_int_t)d);
}

static json_t *split(const char *s, const char *sep, int lines)
{
    json_t *r = json_array();
    size_t seplen = strlen(sep);
    while (*s || !lines) {
        const char *end = strstr(s, sep);
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (lines && len && s[len - 1] == '\r')
            len--;
        json_array_append_new(r, json_stringn(s, len));
        if (!end)
            break;
        s = end + seplen;
    }
    return r;
}

static json_t *format(ev *v, const expr *e, json_t **args)
{
    const char *f = json_string_value(args[0]);
    size_t used = 1, cap = strlen(f) + 1, len = 0;
    char *out = xmalloc(cap);
    for (const char *p = f; *p; p++) {
        const char *piece = NULL;
        char *owned = NULL;
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            piece = p[0] == '{' ? "{" : "}";
            p++;
        } else if (p[0] == '{' && p[1] == '}') {
            if (used >= e->nargs) {
                free(out);
                return bad(v, "format(): more {} than values (%zu)", e->nargs - 1);
            }
            piece = owned = text_of(args[used++]);
            p++;
        }
        size_t l = piece ? strlen(piece) : 1;
        if (len + l > TEXT_MAX) {
            free(owned);
            free(out);
            return bad(v, "format(): a string longer than %u bytes", TEXT_MAX);
        }
        xgrow(&out, &cap, len + l + 1, 1);
        memcpy(out + len, piece ? piece : p, l);
        len += l;
        free(owned);
    }
    if (used != e->nargs) {
        free(out);
        return bad(v, "format(): %zu values for %zu {}", e->nargs - 1, used - 1);
    }
    json_t *r = json_stringn(out, len);
    free(out);
    return r;
}

/* Characters (not bytes) of UTF-8 text. */
static json_int_t utf8_chars(const char *s)
{
    json_int_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static json_t *join(ev *v, const json_t *list, const char *sep)
{
    size_t len = 0, cap = 64, seplen = strlen(sep);
    char *out = xmalloc(cap);
    for (size_t i = 0; i < json_array_size(list); i++) {
        char *t = text_of(json_array_get(list, i));
        size_t tl = strlen(t);
        if (len + seplen + tl > TEXT_MAX) {
            free(t);
            free(out);
            return bad(v, "join(): a string longer than %u bytes", TEXT_MAX);
        }
        xgrow(&out, &cap, len + seplen + tl + 1, 1);
        if (i) {
            memcpy(out + len, sep, seplen);
            len += seplen;
        }
        memcpy(out + len, t, tl);
        len += tl;
        free(t);
    }
    json_t *r = json_stringn(out, len);
    free(out);
    return r ? r : bad(v, "join(): not valid UTF-8");
}

static json_t *call(ev *v, const expr *e, json_t **a)
{
    const char *s0 = json_string_value(a[0]), *s1 = e->nargs > 1 ? json_string_value(a[1]) : 0;
    switch (e->op) {
    case F_INT:
    case F_FLOAT:
        return to_number(v, a[0], e->op == F_INT);
    case F_STRING: {
        char *t = text_of(a[0]);
        json_t *r = json_string(t);
        free(t);
        return r ? r : bad(v, "string(): not valid UTF-8");
    }
    case F_JSON: {
        char *t = json_dumps(a[0], JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        json_t *r = json_string(t);
        free(t);
        return r;
    }
    case F_LEN:
        return json_is_array(a[0]) ? json_integer((json_int_t)json_array_size(a[0]))
               : s0 ? json_integer(utf8_chars(s0))
                    : bad(v, "len() of a value that is neither a list nor a string");
    case F_CONTAINS:
        if (s0) {
            char *t = text_of(a[1]);
            json_t *r = json_boolean(strstr(s0, t) != NULL);
            free(t);
            return r;
        }
        if (!json_is_array(a[0]))
            return bad(v, "contains() in a value that is neither a list nor a string");
        for (size_t i = 0; i < json_array_size(a[0]); i++)
            if (same(json_array_get(a[0], i), a[1]))
                return json_true();
        return json_false();
    case F_STARTSWITH:
        if (!s0 || !s1)
            return bad(v, "startswith() of values that are not strings");
        return json_boolean(!strncmp(s0, s1, strlen(s1)));
    case F_JOIN:
        if (!json_is_array(a[0]) || !s1)
            return bad(v, "join() takes a list and a string");
        return join(v, a[0], s1);
    case F_SPLIT:
        if (!s0 || !s1 || !*s1)
            return bad(v, "split() needs a string and a separator that is not empty");
        return split(s0, s1, 0);
    case F_LINES:
        return s0 ? split(s0, "\n", 1) : bad(v, "lines() of a value that is not a string");
    case F_FROMJSON: {
        json_error_t jerr;
        json_t *r = s0 ? json_loads(s0, JSON_DECODE_ANY, &jerr) : NULL;
        return r ? r : bad(v, "fromjson(): %s", s0 ? jerr.text : "not a string");
    }
    case F_FORMAT:
        return s0 ? format(v, e, a) : bad(v, "format() of a value that is not a string");
    default: { /* F_RANGE */
        if (!json_is_integer(a[0]) || !json_is_integer(a[1]))
            return bad(v, "range() of values that are not ints");
        json_int_t lo = json_integer_value(a[0]), hi = json_integer_value(a[1]);
        if (hi > lo && (uint64_t)hi - (uint64_t)lo > RANGE_MAX)
            return bad(v, "range(%lld, %lld) would make more than %d elements", (long long)lo,
                       (long long)hi, RANGE_MAX);
        json_t *r = json_array();
        for (json_int_t i = lo; i < hi; i++)
            json_array_append_new(r, json_integer(i));
        return r;
    }
    }
}

/* ---- parts ---- */

static json_t *member(ev *v, const json_t *obj, const json_t *name)
{
    const char *k = json_string_value(name);
    if (!json_is_object(obj))
        return bad(v, "no field '%s': the value is not an object", k);
    json_t *f = json_object_get(obj, k);
    return f ? json_incref(f) : bad(v, "no field '%s'", k);
}

static json_t *element(ev *v, const json_t *list, const json_t *index)
{
    if (!json_is_array(list) || !json_is_integer(index))
        return bad(v, "an element of a value that is not a list, or by an index not an int");
    json_int_t i = json_integer_value(index);
    if (i < 0 || (size_t)i >= json_array_size(list))
        return bad(v, "index %lld is past the list's %zu elements", (long long)i,
                   json_array_size(list));
    return json_incref(json_array_get(list, (size_t)i));
}

/* ---- the tree ---- */

static json_t *eval_op(ev *v, const expr *e)
{
    if (e->op == OP_COALESCE) {
        json_t *a = eval(v, e->args[0]);
        return a ? a : eval(v, e->args[1]);
    }
    json_t *args[16], **a = e->nargs <= 16 ? args : xcalloc(e->nargs, sizeof *a);
    size_t got = 0;
    json_t *r = NULL;
    for (; got < e->nargs; got++)
        if (!(a[got] = (e->op == OP_AND || e->op == OP_OR) && got ? NULL
                                                                  : eval(v, e->args[got])))
            break;
    int need = e->op == OP_AND || e->op == OP_OR ? 1 : (int)e->nargs;
    if ((int)got >= need) {
        switch (e->op) {
        case OP_OR:
        case OP_AND:
            r = logic(v, e, a[0]);
            break;
        case OP_NOT:
            r = json_is_boolean(a[0]) ? json_boolean(!json_is_true(a[0]))
                                      : bad(v, "! on a value that is not a bool");
            break;
        case OP_NEG:
            r = json_is_integer(a[0]) && json_integer_value(a[0]) == INT64_MIN
                    ? bad(v, "an int past 64 bits")
                : json_is_integer(a[0]) ? json_integer(-json_integer_value(a[0]))
                : json_is_real(a[0])  ? json_real(-json_real_value(a[0]))
                                      : bad(v, "- on a value that is not a number");
            break;
        case OP_EQ:
        case OP_NE:
            r = json_boolean(same(a[0], a[1]) == (e->op == OP_EQ));
            break;
        case OP_LT:
        case OP_LE:
        case OP_GT:
        case OP_GE:
            r = order(v, e->op, a[0], a[1]);
            break;
        case OP_ADD:
            r = add(v, a[0], a[1]);
            break;
        case OP_FIELD:
            r = member(v, a[0], a[1]);
            break;
        case OP_INDEX:
            r = element(v, a[0], a[1]);
            break;
        case OP_SUB:
        case OP_MUL:
        case OP_DIV:
        case OP_MOD:
            r = arith(v, e->op, a[0], a[1]);
            break;
        default:
            r = call(v, e, a);
        }
    }
    for (size_t i = 0; i < got && i < e->nargs; i++)
        json_decref(a[i]);
    if (a != args)
        free(a);
    return r;
}

static json_t *eval(ev *v, const expr *e)
{
    switch (e->kind) {
    case EX_LIT:
        return json_incref(e->lit);
    case EX_REF:
        return v->resolve(v->ud, e->ref, v->why, v->n);
    default:
        return eval_op(v, e);
    }
}

json_t *expr_eval(const expr *e, expr_resolve_fn resolve, void *ud, char *why, size_t n)
{
    ev v = {resolve, ud, why, n};
    if (n)
        why[0] = '\0';
    json_t *r = eval(&v, e);
    if (!r && n && !why[0])
        snprintf(why, n, "the expression has no value");
    return r;
}
