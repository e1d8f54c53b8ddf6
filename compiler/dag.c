/* dag: compiled workflows. See dag.h. */
#include "compiler/dag.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/xmem.h"
#include "compiler/expr.h"

void dag_value_free(dag_value *v)
{
    if (!v)
        return;
    json_decref(v->lit);
    free(v->port);
    expr_free(v->expr);
    for (size_t i = 0; i < v->n; i++) {
        dag_value_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v);
}

const char *dag_intern(dag *d, const char *s)
{
    if (!d->strings)
        d->strings = strmap_new();
    const char *held = strmap_get(d->strings, s);
    if (!held) {
        char *copy = xstrdup(s);
        strmap_put(d->strings, s, copy);
        held = copy;
    }
    return held;
}

/* An expression's references are values: their outputs too. */
typedef struct each_out {
    void (*fn)(void *ud, dag_value *out);
    void *ud;
} each_out;

static void each_in_expr(void *ud, dag_value *ref)
{
    const each_out *e = ud;
    dag_value_each_out(ref, e->fn, e->ud);
}

void dag_value_each_out(dag_value *v, void (*fn)(void *ud, dag_value *out), void *ud)
{
    if (!v)
        return;
    if (v->kind == DV_OUT)
        fn(ud, v);
    if (v->kind == DV_EXPR) {
        each_out e = {fn, ud};
        expr_each_ref(v->expr, each_in_expr, &e);
    }
    for (size_t i = 0; i < v->n; i++)
        dag_value_each_out(v->items[i], fn, ud);
}

void dag_free(dag *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->ntasks; i++) {
        dag_task *t = &d->tasks[i];
        free(t->name);
        free(t->cache_version);
        res_free(&t->res, &t->nres);
        for (size_t k = 0; k < t->nlabels; k++)
            free(t->labels[k]);
        free(t->labels);
        dag_value_free(t->when);
        free(t->when_text);
        free(t->pool);
        for (size_t k = 0; k < t->nsecrets; k++) {
            free(t->secret_envs[k]);
            free(t->secret_names[k]);
        }
        free(t->secret_envs);
        free(t->secret_names);
        for (size_t k = 0; k < t->ninputs; k++) {
            free(t->input_names[k]);
            dag_value_free(t->inputs[k]);
        }
        free(t->input_names);
        free(t->inputs);
        free(t->parents);
        free(t->children);
        dag_value_free(t->map);
        for (size_t k = 0; k < t->noutputs; k++)
            free(t->output_names[k]);
        free(t->output_names);
    }
    free(d->tasks);
    free(d->order);
    strmap_destroy_free(&d->strings);
    free(d->name);
    res_free(&d->limits, &d->nlimits);
    free(d->file);
    free(d->hash);
    json_decref(d->params);
    json_decref(d->schedule);
    json_decref(d->schedule_vars);
    json_decref(d->notify);
    free(d);
}

/* Appends the string form of a scalar JSON value (for interpolation). */
static void append_text(char **buf, size_t *len, size_t *cap, const json_t *v)
{
    char num[64];
    const char *s = num;
    char *dumped = NULL;
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        text_double(json_real_value(v), num, sizeof num);
    else if (json_is_boolean(v))
        s = json_is_true(v) ? "true" : "false";
    else
        s = dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    size_t l = strlen(s);
    xgrow(buf, cap, *len + l + 1, 1);
    memcpy(*buf + *len, s, l + 1);
    *len += l;
    free(dumped);
}

/* An expression's references resolve like any value, in the same scope. */
typedef struct in_scope {
    const dag *d;
    const dag_scope *sc;
} in_scope;

static json_t *resolve_ref(void *ud, const dag_value *ref, char *why, size_t n)
{
    const in_scope *s = ud;
    return dag_resolve_value(s->d, ref, s->sc, why, n);
}

json_t *dag_resolve_value(const dag *d, const dag_value *v, const dag_scope *sc, char *why,
                          size_t n)
{
    switch (v->kind) {
    case DV_EXPR: {
        in_scope s = {d, sc};
        return expr_eval(v->expr, resolve_ref, &s, why, n);
    }
    case DV_LIT:
        return json_incref(v->lit);
    case DV_ITEM:
        if (!sc->item)
            snprintf(why, n, "${item} outside a mapped task");
        return sc->item ? json_deep_copy(sc->item) : NULL;
    case DV_INDEX:
        if (sc->index < 0)
            snprintf(why, n, "${index} outside a mapped task");
        return sc->index >= 0 ? json_integer(sc->index) : NULL;
    case DV_OUT: {
        const json_t *outs = sc->outputs[v->task];
        json_t *o = json_object_get(outs, v->port);
        if (!outs && sc->missing)
            *sc->missing = 1;
        if (!outs)
            snprintf(why, n, "task '%s' was skipped, so it made no output '%s'",
                     d->tasks[v->task].name, v->port);
        else if (!o)
            snprintf(why, n, "task '%s' did not produce output '%s'", d->tasks[v->task].name,
                     v->port);
        return json_incref(o);
    }
    case DV_CONCAT: {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        xgrow(&buf, &cap, 1, 1);
        for (size_t i = 0; i < v->n; i++) {
            json_t *part = dag_resolve_value(d, v->items[i], sc, why, n);
            if (!part) {
                free(buf);
                return NULL;
            }
            append_text(&buf, &len, &cap, part);
            json_decref(part);
        }
        json_t *s = json_stringn(buf, len);
        free(buf);
        if (!s)
            snprintf(why, n, "interpolated string is not valid UTF-8");
        return s;
    }
    case DV_LIST:
    case DV_MAP: {
        json_t *out = v->kind == DV_LIST ? json_array() : json_object();
        for (size_t i = 0; i < v->n; i++) {
            json_t *e = dag_resolve_value(d, v->items[i], sc, why, n);
            if (!e) {
                json_decref(out);
                return NULL;
            }
            if (v->kind == DV_LIST)
                json_array_append_new(out, e);
            else
                json_object_set_new(out, v->keys[i], e);
        }
        return out;
    }
    }
    return NULL;
}

json_t *dag_resolve_inputs(const dag *d, size_t i, const dag_scope *sc, char *why, size_t n)
{
    const dag_task *t = &d->tasks[i];
    json_t *obj = json_object();
    for (size_t k = 0; k < t->ninputs; k++) {
        json_t *v = dag_resolve_value(d, t->inputs[k], sc, why, n);
        if (!v) {
            json_decref(obj);
            return NULL;
        }
        json_object_set_new(obj, t->input_names[k], v);
    }
    return obj;
}

void dag_unit_name(const dag *d, int task, int elem, char *buf, size_t n)
{
    const char *name = d->tasks[task].name;
    if (elem >= 0) {
        snprintf(buf, n, "%s[%d]", name, elem);
    } else if (n) { /* as snprintf "%s" would, for a fifth of its cost (twice a task) */
        size_t len = strlen(name);
        len = len < n ? len : n - 1;
        memcpy(buf, name, len);
        buf[len] = '\0';
    }
}

size_t dag_min_success(const dag_task *t, size_t n)
{
    if (t->min_success >= 0)
        return (size_t)t->min_success < n ? (size_t)t->min_success : n;
    double need = ceil(t->min_success_pct * (double)n / 100.0 - 1e-9);
    return need <= 0 ? 0 : need >= (double)n ? n : (size_t)need;
}

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    xgrow(&b->s, &b->cap, b->len + (size_t)n + 1, 1);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The length of the call a task's name sits in: "prep.split" is in prep (4), "prep.q.x" in
 * prep.q; 0 for a task of the workflow itself (names have no '.' of their own). */
static size_t call_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? (size_t)(dot - name) : 0;
}

/* Whether the call prefix (len bytes) holds a call of its own named by task i's name:
 * the next part of i's call after prefix, which no earlier task gave (*first = i). */
static int subcall_at(const dag *d, size_t i, const char *prefix, size_t len)
{
    const char *n = d->tasks[i].name;
    size_t cl = call_len(n);
    if (cl <= len || strncmp(n, prefix, len) || (len && n[len] != '.'))
        return 0;
    size_t start = len ? len + 1 : 0, end = start + strcspn(n + start, ".");
    for (size_t k = 0; k < i; k++) {
        const char *m = d->tasks[k].name;
        if (call_len(m) > len && !strncmp(m, n, end) && (m[end] == '.'))
            return 0;
    }
    return (int)end;
}

/* The tasks in call prefix (len bytes), and each call inside it as a nested cluster, with
 * node(i) printing task i's line. */
static void render_calls(sbuf *b, const dag *d, const char *prefix, size_t len, int mermaid,
                         void (*node)(sbuf *, const dag *, size_t), int depth)
{
    for (size_t i = 0; i < d->ntasks; i++)
        if (call_len(d->tasks[i].name) == len && !strncmp(d->tasks[i].name, prefix, len))
            node(b, d, i);
    for (size_t i = 0; i < d->ntasks && depth < 16; i++) {
        int end = subcall_at(d, i, prefix, len);
        if (!end)
            continue;
        const char *n = d->tasks[i].name;
        if (mermaid)
            sb_printf(b, "  subgraph c%zu_%d [\"%.*s (workflow)\"]\n", i, depth, end, n);
        else
            sb_printf(b, "  subgraph \"cluster_%.*s\" {\n  label=\"%.*s (workflow)\";\n"
                         "  style=dashed;\n", end, n, end, n);
        render_calls(b, d, n, (size_t)end, mermaid, node, depth + 1);
        sb_printf(b, mermaid ? "  end\n" : "  }\n");
    }
}

/* A task with a condition: dashed, and says so. */
static void dot_node(sbuf *b, const dag *d, size_t i)
{
    sb_printf(b, "  \"%s\" [label=\"%s\\n(%s)%s\"%s];\n", d->tasks[i].name,
              d->tasks[i].name, d->tasks[i].type, d->tasks[i].when ? "\\nwhen ..." : "",
              d->tasks[i].when ? ", style=\"rounded,dashed\"" : "");
}

/* Mermaid ids cannot contain '-'; use t<index> and put names in labels. */
static void mermaid_node(sbuf *b, const dag *d, size_t i)
{
    sb_printf(b, "  t%zu[\"%s<br/><small>%s%s</small>\"]\n", i, d->tasks[i].name,
              d->tasks[i].type, d->tasks[i].when ? ", when ..." : "");
}

char *dag_render_dot(const dag *d)
{
    sbuf b = {0};
    sb_printf(&b, "digraph \"%s\" {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
              d->name);
    render_calls(&b, d, "", 0, 0, dot_node, 0);
    for (size_t i = 0; i < d->ntasks; i++)
        for (size_t k = 0; k < d->tasks[i].nchildren; k++)
            sb_printf(&b, "  \"%s\" -> \"%s\";\n", d->tasks[i].name,
                      d->tasks[d->tasks[i].children[k]].name);
    sb_printf(&b, "}\n");
    return b.s;
}

char *dag_render_mermaid(const dag *d)
{
    sbuf b = {0};
    sb_printf(&b, "flowchart LR\n");
    render_calls(&b, d, "", 0, 1, mermaid_node, 0);
    for (size_t i = 0; i < d->ntasks; i++)
        for (size_t k = 0; k < d->tasks[i].nchildren; k++)
            sb_printf(&b, "  t%zu --> t%d\n", i, d->tasks[i].children[k]);
    return b.s;
}
