/* data.check: declarative expectations on a CSV file, checked in one streaming pass.
 *
 *   expect:
 *     columns: [id, age, label]          these columns are present
 *     rows: { min: 100, max: 1000000 }   the number of data rows is within bounds
 *     not_null: [age]                    no missing value (empty, NA, N/A, NaN, null)
 *     unique: [id]                       no value twice
 *     range: { age: { min: 0, max: 120 } }   numbers within bounds (missing values skipped)
 *     values: { label: [0, 1] }          only these values (missing values skipped)
 *
 * Every expectation is evaluated and reported; if any fails, the task fails as fatal with a
 * summary naming each failed expectation, its count and the first lines where it failed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plugins/data/data.h"

#define EXAMPLES 3

typedef enum { CK_COLUMNS, CK_ROWS, CK_NOT_NULL, CK_UNIQUE, CK_RANGE, CK_VALUES } ck_kind;
static const char *const kind_names[] = {"columns", "rows", "not_null", "unique", "range",
                                         "values"};

typedef struct check {
    ck_kind kind;
    const char *column; /* borrowed from the expectations */
    long col;           /* its index, or -1 when missing */
    json_t *min, *max;  /* bounds (rows, range) */
    json_t *set;        /* values: the allowed ones; unique: those seen */
    size_t failures;
    char examples[EXAMPLES][96];
} check;

typedef struct checks {
    check *v;
    size_t n, cap;
} checks;

static check *add(checks *cs, ck_kind kind, const char *column)
{
    if (cs->n == cs->cap) {
        cs->cap = cs->cap ? 2 * cs->cap : 16;
        cs->v = realloc(cs->v, cs->cap * sizeof *cs->v);
    }
    check *c = &cs->v[cs->n++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->column = column;
    c->col = -1;
    return c;
}

/* A value's key in a set: numbers by value ("1.0" and 1 are the same), text as it is. */
static void value_key(const char *s, char *out, size_t n)
{
    double v;
    if (csv_number(s, &v) == 0)
        snprintf(out, n, "%.15g", v);
    else
        snprintf(out, n, "%s", s);
}

static int json_key(const json_t *v, char *out, size_t n)
{
    if (json_is_string(v))
        value_key(json_string_value(v), out, n);
    else if (json_is_number(v))
        snprintf(out, n, "%.15g", json_number_value(v));
    else if (json_is_boolean(v))
        snprintf(out, n, "%s", json_is_true(v) ? "true" : "false");
    else
        return -1;
    return 0;
}

static int bad_shape(weft_ctx *ctx, const char *what, const char *want)
{
    return weft_fail(ctx, "data.check: expect.%s must be %s", what, want);
}

/* {min: N, max: N}, either bound optional. */
static int bounds_ok(const json_t *b)
{
    const char *k;
    json_t *v;
    if (!json_is_object(b))
        return 0;
    json_object_foreach((json_t *)b, k, v) {
        if ((strcmp(k, "min") && strcmp(k, "max")) || !json_is_number(v))
            return 0;
    }
    return 1;
}

/* Parses one expectation key into checks. */
static int parse_key(weft_ctx *ctx, const char *key, json_t *v, checks *cs)
{
    size_t i;
    json_t *e;
    const char *col;
    char what[160];
    if (!strcmp(key, "columns") || !strcmp(key, "not_null") || !strcmp(key, "unique")) {
        ck_kind kind = key[0] == 'c' ? CK_COLUMNS : key[0] == 'n' ? CK_NOT_NULL : CK_UNIQUE;
        if (!json_is_array(v))
            return bad_shape(ctx, key, "a list of column names");
        json_array_foreach(v, i, e) {
            if (!json_is_string(e))
                return bad_shape(ctx, key, "a list of column names");
            check *c = add(cs, kind, json_string_value(e));
            if (kind == CK_UNIQUE)
                c->set = json_object();
        }
    } else if (!strcmp(key, "rows")) {
        if (!bounds_ok(v))
            return bad_shape(ctx, key, "{min: N, max: N}");
        check *c = add(cs, CK_ROWS, NULL);
        c->min = json_object_get(v, "min");
        c->max = json_object_get(v, "max");
    } else if (!strcmp(key, "range") || !strcmp(key, "values")) {
        if (!json_is_object(v))
            return bad_shape(ctx, key, "a mapping of column names");
        json_object_foreach(v, col, e) {
            snprintf(what, sizeof what, "%s.%s", key, col);
            check *c = add(cs, key[0] == 'r' ? CK_RANGE : CK_VALUES, col);
            if (c->kind == CK_RANGE) {
                if (!bounds_ok(e))
                    return bad_shape(ctx, what, "{min: N, max: N}");
                c->min = json_object_get(e, "min");
                c->max = json_object_get(e, "max");
                continue;
            }
            if (!json_is_array(e))
                return bad_shape(ctx, what, "a list of allowed values");
            c->set = json_object();
            size_t j;
            json_t *a;
            char k[128];
            json_array_foreach(e, j, a) {
                if (json_key(a, k, sizeof k) < 0)
                    return bad_shape(ctx, what, "a list of strings, numbers or booleans");
                json_object_set_new(c->set, k, json_true());
            }
        }
    } else {
        return weft_fail(ctx, "data.check: unknown expectation '%s' (use columns, rows, "
                         "not_null, unique, range, values)", key);
    }
    return WEFT_OK;
}

static void failed_at(check *c, size_t line, const char *value)
{
    if (c->failures < EXAMPLES)
        snprintf(c->examples[c->failures], sizeof c->examples[0], value ? "line %zu: '%.60s'"
                                                                        : "line %zu",
                 line, value);
    c->failures++;
}

static void check_row(check *c, const char *v, size_t line)
{
    char k[128];
    double x;
    switch (c->kind) {
    case CK_NOT_NULL:
        if (csv_is_null(v))
            failed_at(c, line, NULL);
        break;
    case CK_UNIQUE:
        if (json_object_get(c->set, v))
            failed_at(c, line, v);
        else
            json_object_set_new(c->set, v, json_true());
        break;
    case CK_RANGE:
        if (csv_is_null(v))
            break;
        if (csv_number(v, &x) < 0 || (c->min && x < json_number_value(c->min)) ||
            (c->max && x > json_number_value(c->max)))
            failed_at(c, line, v);
        break;
    case CK_VALUES:
        if (csv_is_null(v))
            break;
        value_key(v, k, sizeof k);
        if (!json_object_get(c->set, k))
            failed_at(c, line, v);
        break;
    default:
        break;
    }
}

/* What a failed check found, in words. */
static void describe(const check *c, size_t rows, char *out, size_t n)
{
    if (c->col < 0 && c->kind != CK_ROWS) {
        snprintf(out, n, "the column is missing");
        return;
    }
    switch (c->kind) {
    case CK_ROWS:
        snprintf(out, n, "%zu rows, outside [%g, %g]", rows,
                 c->min ? json_number_value(c->min) : 0.0,
                 c->max ? json_number_value(c->max) : INFINITY);
        return;
    case CK_NOT_NULL:
        snprintf(out, n, "%zu missing value%s", c->failures, c->failures == 1 ? "" : "s");
        break;
    case CK_UNIQUE:
        snprintf(out, n, "%zu repeated value%s", c->failures, c->failures == 1 ? "" : "s");
        break;
    case CK_RANGE:
        snprintf(out, n, "%zu value%s outside [%g, %g] or not a number", c->failures,
                 c->failures == 1 ? "" : "s", c->min ? json_number_value(c->min) : -INFINITY,
                 c->max ? json_number_value(c->max) : INFINITY);
        break;
    case CK_VALUES:
        snprintf(out, n, "%zu value%s not allowed", c->failures, c->failures == 1 ? "" : "s");
        break;
    default:
        out[0] = '\0';
        return;
    }
    size_t used = strlen(out);
    for (size_t i = 0; i < c->failures && i < EXAMPLES && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%s", i ? ", " : " (", c->examples[i]);
    if (used < n)
        snprintf(out + used, n - used, "%s)", c->failures > EXAMPLES ? ", ..." : "");
}

/* Builds the report and the summary of failures; returns how many failed. */
static size_t report(const checks *cs, size_t rows, json_t *rep, char *summary, size_t n)
{
    size_t failed = 0, used = 0;
    json_t *list = json_array();
    for (size_t i = 0; i < cs->n; i++) {
        const check *c = &cs->v[i];
        int ok = c->kind == CK_ROWS
                     ? !((c->min && (double)rows < json_number_value(c->min)) ||
                         (c->max && (double)rows > json_number_value(c->max)))
                     : c->col >= 0 && c->failures == 0;
        char what[512] = "";
        if (!ok)
            describe(c, rows, what, sizeof what);
        json_t *j = json_pack("{s:s, s:b, s:I}", "expectation", kind_names[c->kind], "passed",
                              ok, "failures", (json_int_t)(ok ? 0 : c->failures ? c->failures
                                                                                : 1));
        if (c->column)
            json_object_set_new(j, "column", json_string(c->column));
        if (!ok)
            json_object_set_new(j, "detail", json_string(what));
        json_array_append_new(list, j);
        if (ok)
            continue;
        failed++;
        if (used < n)
            used += (size_t)snprintf(summary + used, n - used, "%s%s%s%s%s: %s",
                                     failed > 1 ? "; " : "", kind_names[c->kind],
                                     c->column ? "(" : "", c->column ? c->column : "",
                                     c->column ? ")" : "", what);
    }
    json_object_set_new(rep, "passed", json_boolean(failed == 0));
    json_object_set_new(rep, "rows", json_integer((json_int_t)rows));
    json_object_set_new(rep, "checks", list);
    return failed;
}

/* Resolves each check's column; a missing one is that check's failure. */
static void resolve(checks *cs, const table *d)
{
    for (size_t i = 0; i < cs->n; i++)
        if (cs->v[i].column)
            cs->v[i].col = csv_find(d->header, d->ncols, cs->v[i].column);
}

static int evaluate(weft_ctx *ctx, checks *cs, table *d)
{
    resolve(cs, d);
    size_t rows = 0;
    int more;
    while ((more = table_next(d)) == 1) {
        rows++;
        for (size_t i = 0; i < cs->n; i++)
            if (cs->v[i].col >= 0)
                check_row(&cs->v[i], d->csv.fields[cs->v[i].col], d->csv.line);
    }
    if (more < 0)
        return WEFT_FAIL;
    json_t *rep = json_object();
    char summary[2048] = "";
    size_t failed = report(cs, rows, rep, summary, sizeof summary);
    char *text = json_dumps(rep, JSON_COMPACT);
    weft_log(ctx, "data.check: %s: %zu rows, %zu of %zu expectations failed", d->name, rows,
             failed, cs->n);
    for (size_t i = 0; i < json_array_size(json_object_get(rep, "checks")); i++) {
        char *line = json_dumps(json_array_get(json_object_get(rep, "checks"), i),
                                JSON_COMPACT);
        weft_log(ctx, "  %s", line);
        free(line);
    }
    int rc = WEFT_OK;
    if (failed)
        rc = weft_fail(ctx, "data.check: %zu of %zu expectations failed on %s: %s", failed,
                       cs->n, d->name, summary);
    else if (weft_output_json(ctx, "report", text) != WEFT_OK ||
             weft_output_int(ctx, "rows", (int64_t)rows) != WEFT_OK)
        rc = weft_fail(ctx, "data.check: cannot set the outputs");
    free(text);
    json_decref(rep);
    return rc;
}

int data_check_run(weft_ctx *ctx)
{
    const char *text;
    if (weft_input_json(ctx, "expect", &text) != WEFT_OK)
        return weft_fail(ctx, "data.check: input 'expect' is missing");
    json_t *expect = json_loads(text, 0, NULL);
    if (!json_is_object(expect) || !json_object_size(expect)) {
        json_decref(expect);
        return weft_fail(ctx, "data.check: expect must be a mapping of expectations");
    }
    checks cs = {0};
    int rc = WEFT_OK;
    const char *k;
    json_t *v;
    json_object_foreach(expect, k, v) {
        if (rc == WEFT_OK)
            rc = parse_key(ctx, k, v, &cs);
    }
    table d;
    if (rc == WEFT_OK && (rc = table_open(ctx, "data.check", "dataset", &d)) == WEFT_OK) {
        rc = evaluate(ctx, &cs, &d);
        table_close(&d);
    }
    for (size_t i = 0; i < cs.n; i++)
        json_decref(cs.v[i].set);
    free(cs.v);
    json_decref(expect);
    return rc;
}
