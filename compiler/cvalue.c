/* cvalue: literal typing, ${...} references and type checks for the compiler.
 * See compile_int.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/artref.h"
#include "common/xmem.h"
#include "compiler/compile_int.h"
#include "compiler/expr.h"

static int match(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return 1;
    return 0;
}

static int is_int_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s))
        s++;
    return *s == '\0';
}

static int is_float_text(const char *s)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return 0;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v))
        return 0;
    /* Reject hex floats and the like: core-schema floats use digits, '.', 'e' and signs. */
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr(".eE+-", *p))
            return 0;
    return 1;
}

json_t *cv_scalar(const ynode *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    const char *s = n->text;
    if (!n->plain) {
        json_t *str = json_string(s);
        return str ? str : json_string("");
    }
    if (match(s, nulls))
        return json_null();
    if (match(s, trues))
        return json_true();
    if (match(s, falses))
        return json_false();
    if (is_int_text(s)) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno == 0)
            return json_integer(v);
    }
    if (is_float_text(s))
        return json_real(strtod(s, NULL));
    json_t *str = json_string(s);
    return str ? str : json_string("");
}

json_t *cv_literal(const ynode *n)
{
    if (n->kind == YN_SCALAR)
        return cv_scalar(n);
    json_t *out = n->kind == YN_SEQ ? json_array() : json_object();
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == YN_SEQ)
            json_array_append_new(out, cv_literal(n->items[i]));
        else
            json_object_set_new(out, n->keys[i]->text, cv_literal(n->items[i]));
    }
    return out;
}

static dag_value *new_value(enum dv_kind kind)
{
    dag_value *v = xcalloc(1, sizeof *v);
    v->kind = kind;
    return v;
}

static dag_value *lit_value(json_t *lit)
{
    dag_value *v = new_value(DV_LIT);
    v->lit = lit;
    return v;
}

/* Whether lit may join the literal list lits: a scalar of the type of those before it. */
static int same_scalar(const json_t *lits, const json_t *lit)
{
    wtype t = wtype_of_json(lit);
    if (t.depth || t.base == WT_JSON || wtype_is_artifact(t) || json_is_null(lit))
        return 0;
    if (!json_array_size(lits))
        return 1;
    wtype first = wtype_of_json(json_array_get(lits, 0));
    return first.base == t.base;
}

static void push_item(dag_value *v, dag_value *item, size_t *cap)
{
    xgrow(&v->items, cap, v->n + 1, sizeof *v->items);
    v->items[v->n++] = item;
}

static void add_dep(int t, int **deps, size_t *n, size_t *cap)
{
    for (size_t i = 0; i < *n; i++)
        if ((*deps)[i] == t)
            return;
    xgrow(deps, cap, *n + 1, sizeof **deps);
    (*deps)[(*n)++] = t;
}

static int valid_ident(const char *s, size_t len)
{
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    return 1;
}

/* ${TASK.error.message}, ${TASK.error.class} and ${TASK.error.log}: the error of the task
 * this one is the
 * catch handler of (a string; the core sets it when it routes the failure here). */
static dag_value *compile_error_ref(cc *c, const ynode *n, const char *ref, int self,
                                   int **deps, size_t *ndeps, size_t *capdeps)
{
    const char *dot = strchr(ref, '.');
    char *task = xstrndup(ref, (size_t)(dot - ref));
    intptr_t idx = (intptr_t)strmap_get(c->task_index, task) - 1;
    dag_value *v = NULL;
    if (idx < 0)
        diag_add(c->d, n->line, n->col, "unknown task '%s' in ${%s}", task, ref);
    else if (self < 0)
        diag_add(c->d, n->line, n->col, "${%s}: only a catch handler reads an error", ref);
    else if (c->g->tasks[idx].catch_next != self)
        diag_add(c->d, n->line, n->col, "${%s}: task '%s' does not catch to '%s' (give it "
                 "catch: { next: %s })", ref, task, c->g->tasks[self].name,
                 c->g->tasks[self].name);
    else {
        v = xcalloc(1, sizeof *v);
        v->kind = DV_OUT;
        v->task = (int)idx;
        v->port = xstrdup(dot + 1); /* "error.message", "error.class" or "error.log" */
        add_dep((int)idx, deps, ndeps, capdeps);
    }
    free(task);
    return v;
}

/* Compiles the reference text inside ${...} into a value (a parameter's literal or an
 * output reference). Reports and returns NULL on error. */
static dag_value *compile_ref(cc *c, const ynode *n, const char *ref, int self, int **deps,
                              size_t *ndeps, size_t *capdeps)
{
    const char *dot = strchr(ref, '.');
    if (dot && strncmp(ref, "params.", 7) == 0 && c->params_task >= 0) {
        /* A called workflow: its caller's values arrive as outputs of its params task. */
        if (!strmap_get(c->declared, ref + 7)) {
            diag_add(c->d, n->line, n->col, "unknown parameter '%s' in ${%s}", ref + 7, ref);
            return NULL;
        }
        dag_value *v = new_value(DV_OUT);
        v->task = c->params_task;
        v->port = xstrdup(ref + 7);
        add_dep(c->params_task, deps, ndeps, capdeps);
        return v;
    }
    if (dot && strncmp(ref, "params.", 7) == 0) {
        json_t *v = json_object_get(c->params, ref + 7);
        if (strmap_get(c->secret_params, ref + 7)) {
            diag_add(c->d, n->line, n->col, "parameter '%s' is a secret: it can only name a "
                     "task's secret (secrets: { VAR: \"${%s}\" })", ref + 7, ref);
            return NULL;
        }
        if (!v) {
            /* A declared parameter without a value was reported where it is declared. */
            if (!strmap_get(c->declared, ref + 7))
                diag_add(c->d, n->line, n->col, "unknown parameter '%s' in ${%s}", ref + 7,
                         ref);
            return NULL;
        }
        return lit_value(json_incref(v));
    }
    if (dot && strncmp(ref, "schedule.", 9) == 0) {
        json_t *v = json_object_get(c->g->schedule_vars, ref + 9);
        if (!v) {
            diag_add(c->d, n->line, n->col, "unknown ${%s}: a schedule gives ${schedule.time}, "
                     "${schedule.date}, ${schedule.interval_start} and "
                     "${schedule.interval_end}", ref);
            return NULL;
        }
        return lit_value(json_incref(v));
    }
    if (!strcmp(ref, "item") || !strcmp(ref, "index")) {
        if (self < 0 || !c->mapped[self] || c->in_map) {
            diag_add(c->d, n->line, n->col, "${%s} is defined only in the inputs of a task "
                     "with 'map'", ref);
            return NULL;
        }
        return new_value(ref[1] == 't' ? DV_ITEM : DV_INDEX);
    }
    if (dot && (!strcmp(dot, ".error.message") || !strcmp(dot, ".error.class") ||
                !strcmp(dot, ".error.log")))
        return compile_error_ref(c, n, ref, self, deps, ndeps, capdeps);
    const char *mid = dot ? strstr(dot, ".outputs.") : NULL;
    if (!dot || mid != dot || !valid_ident(ref, (size_t)(dot - ref)) ||
        !valid_ident(dot + 9, strlen(dot + 9))) {
        diag_add(c->d, n->line, n->col,
                 "bad reference ${%s}: use ${params.NAME}, ${TASK.outputs.NAME}, "
                 "${TASK.error.message}, ${schedule.time}, ${item} or ${index}", ref);
        return NULL;
    }
    char *task = xstrndup(ref, (size_t)(dot - ref));
    const char *port = dot + 9;
    intptr_t idx = (intptr_t)strmap_get(c->task_index, task) - 1;
    dag_value *v = NULL;
    if (idx < 0) {
        diag_add(c->d, n->line, n->col, "unknown task '%s' in ${%s}", task, ref);
    } else if (idx == self) {
        diag_add(c->d, n->line, n->col, "task '%s' refers to its own output in ${%s}", task,
                 ref);
    } else if (self >= 0 && c->g->tasks[self].catch_of == idx) {
        diag_add(c->d, n->line, n->col, "task '%s' runs only when '%s' failed, so it cannot read "
                 "${%s}; use ${%s.error.message} or ${%s.error.class}", c->g->tasks[self].name,
                 task, ref, task, task);
    } else {
        const tt_decl *decl = c->decls[idx];
        if (decl && !tt_find_port(decl->outputs, decl->noutputs, port)) {
            char *list = tt_port_list(decl->outputs, decl->noutputs);
            diag_add(c->d, n->line, n->col, "task '%s' (type %s) has no output '%s'; its "
                     "outputs are: %s", task, decl->name, port, list);
            free(list);
        } else {
            v = new_value(DV_OUT);
            v->task = (int)idx;
            v->port = xstrdup(port);
            add_dep((int)idx, deps, ndeps, capdeps);
        }
    }
    free(task);
    return v;
}

/* Where compile_ref's arguments wait while an expression's references are compiled. */
typedef struct ref_site {
    cc *c;
    const ynode *n;
    int self;
    int **deps;
    size_t *ndeps, *capdeps;
} ref_site;

static dag_value *expr_ref(void *ud, const char *ref)
{
    ref_site *r = ud;
    return compile_ref(r->c, r->n, ref, r->self, r->deps, r->ndeps, r->capdeps);
}

/* Compiles the text inside ${...}: a bare reference stays one (DV_LIT, DV_OUT, ...);
 * anything else is a DV_EXPR, typed later (cv_check). Reports and returns NULL on error. */
static dag_value *compile_expr(cc *c, const ynode *n, const char *text, int self, int **deps,
                               size_t *ndeps, size_t *capdeps)
{
    /* Made of name characters alone, it is a reference as it always was (a task named
     * 1st or a-b-, which the expression grammar would read otherwise). */
    if (*text && strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789_.-") == strlen(text))
        return compile_ref(c, n, text, self, deps, ndeps, capdeps);
    ref_site site = {c, n, self, deps, ndeps, capdeps};
    expr_refs refs = {expr_ref, &site};
    char why[300];
    int failed_ref = 0;
    expr *e = expr_parse(text, &refs, why, sizeof why, &failed_ref);
    if (!e) {
        if (!failed_ref)
            diag_add(c->d, n->line, n->col, "bad expression ${%s}: %s", text, why);
        return NULL;
    }
    dag_value *bare = expr_take_ref(e);
    if (bare) {
        expr_free(e);
        return bare;
    }
    dag_value *v = new_value(DV_EXPR);
    v->expr = e;
    return v;
}

/* The '}' that ends the ${ starting at s (s points after "${"), skipping quoted strings in
 * it, or NULL. */
static const char *expr_end(const char *s)
{
    for (; *s && *s != '}'; s++) {
        if (*s != '"' && *s != '\'')
            continue;
        char q = *s++;
        while (*s && *s != q)
            s += s[0] == '\\' && s[1] ? 2 : 1;
        if (!*s)
            return NULL;
    }
    return *s ? s : NULL;
}

/* Compiles a string scalar with ${...} into DV_LIT, DV_OUT (whole-string reference),
 * DV_EXPR (a whole-string expression) or DV_CONCAT. */
static dag_value *compile_string(cc *c, const ynode *n, int self, int **deps, size_t *ndeps,
                                 size_t *capdeps)
{
    const char *s = n->text;
    dag_value *cat = new_value(DV_CONCAT);
    size_t cap = 0;
    char *text = xmalloc(strlen(s) + 1);
    size_t tl = 0;
    int ok = 1;
    while (*s && ok) {
        if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
            memcpy(text + tl, "${", 2);
            tl += 2;
            s += 3;
            continue;
        }
        if (s[0] != '$' || s[1] != '{') {
            text[tl++] = *s++;
            continue;
        }
        const char *end = expr_end(s + 2);
        if (!end) {
            diag_add(c->d, n->line, n->col, "unterminated '${' in \"%s\"", n->text);
            ok = 0;
            break;
        }
        if (tl) {
            push_item(cat, lit_value(json_stringn(text, tl)), &cap);
            tl = 0;
        }
        char *src = xstrndup(s + 2, (size_t)(end - s - 2));
        dag_value *ref = compile_expr(c, n, src, self, deps, ndeps, capdeps);
        free(src);
        if (!ref)
            ok = 0;
        else
            push_item(cat, ref, &cap);
        s = end + 1;
    }
    if (ok && tl)
        push_item(cat, lit_value(json_stringn(text, tl)), &cap);
    free(text);
    if (!ok) {
        dag_value_free(cat);
        return NULL;
    }
    for (size_t i = 0; cat->n > 1 && i < cat->n; i++) {
        const dag_value *it = cat->items[i];
        if (it->kind == DV_LIT && wtype_is_artifact(wtype_of_json(it->lit))) {
            diag_add(c->d, n->line, n->col, "\"%s\": a file or dir parameter is an artifact, "
                     "not text, and cannot be part of a string; pass it whole (to shell, "
                     "through env, where it arrives as a local path)", n->text);
            dag_value_free(cat);
            return NULL;
        }
    }
    if (cat->n == 1) {
        /* A whole-string reference keeps its type ("${params.n}" stays an int); escaped
         * text alone is a plain string. */
        dag_value *only = cat->items[0];
        cat->n = 0;
        dag_value_free(cat);
        return only;
    }
    if (cat->n == 0) {
        dag_value_free(cat);
        return lit_value(json_string(""));
    }
    return cat;
}

dag_value *cv_compile(cc *c, const ynode *n, int self, int **deps, size_t *ndeps,
                      size_t *capdeps)
{
    if (n->kind == YN_SCALAR) {
        if (!strstr(n->text, "${") && !strstr(n->text, "$${"))
            return lit_value(cv_scalar(n));
        return compile_string(c, n, self, deps, ndeps, capdeps);
    }
    dag_value *v = new_value(n->kind == YN_SEQ ? DV_LIST : DV_MAP);
    size_t cap = 0, kcap = 0;
    int ok = 1;
    /* A list of scalars of one type is kept as one literal (a million-item list costs its
     * JSON, not a value node per item); cv_check and cv_ingest still see its items. */
    json_t *lits = v->kind == DV_LIST ? json_array() : NULL;
    for (size_t i = 0; i < n->n; i++) {
        dag_value *item = cv_compile(c, n->items[i], self, deps, ndeps, capdeps);
        if (!item) {
            ok = 0;
            continue;
        }
        if (lits && item->kind == DV_LIT && same_scalar(lits, item->lit)) {
            json_array_append_new(lits, item->lit);
            item->lit = NULL;
            dag_value_free(item);
            continue;
        }
        if (lits) { /* not all alike: the items so far become values again */
            for (size_t k = 0; k < json_array_size(lits); k++)
                push_item(v, lit_value(json_incref(json_array_get(lits, k))), &cap);
            json_decref(lits);
            lits = NULL;
        }
        if (v->kind == DV_MAP) {
            xgrow(&v->keys, &kcap, v->n + 1, sizeof *v->keys);
            v->keys[v->n] = xstrdup(n->keys[i]->text);
        }
        push_item(v, item, &cap);
    }
    if (lits && ok && json_array_size(lits)) {
        v->kind = DV_LIT;
        v->lit = lits;
        lits = NULL;
    }
    json_decref(lits);
    json_t *lit = ok && v->kind == DV_MAP ? cv_literal(n) : NULL;
    if (lit && cv_refuse_refs(c, lit, n, "a mapping"))
        ok = 0;
    json_decref(lit);
    if (!ok) {
        dag_value_free(v);
        return NULL;
    }
    return v;
}

json_t *cv_artifacts(cc *c, json_t *v, wtype t, const ynode *n, const char *what)
{
    if (t.depth > 0 && json_is_array(v)) {
        /* Every element is tried (a remote client learns of every path it must upload). */
        wtype elem = {t.base, (uint8_t)(t.depth - 1)};
        int ok = 1;
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *e = cv_artifacts(c, json_incref(json_array_get(v, i)), elem, n, what);
            if (e)
                json_array_set_new(v, i, e);
            ok &= e != NULL;
        }
        if (!ok) {
            json_decref(v);
            return NULL;
        }
        return v;
    }
    if (t.depth > 0 || !wtype_is_artifact(t) || !json_is_string(v))
        return v;
    const char *path = json_string_value(v);
    int is_dir = t.base == WT_DIR;
    json_t *ref = NULL;
    char why[300] = "";
    if (!*path) {
        diag_add(c->d, n->line, n->col, "%s: an empty path", what);
    } else if (!c->in->ingest) {
        ref = artref_pending(path, is_dir);
    } else if (c->in->ingest(c->in->ingest_ud, path, is_dir, &ref, why, sizeof why) != 0) {
        diag_add(c->d, n->line, n->col, "%s: %s", what, why);
        ref = NULL;
    }
    json_decref(v);
    return ref;
}

static int holds_ref(const json_t *v)
{
    if (artref_hash(v))
        return 1;
    size_t i;
    const char *k;
    json_t *e;
    if (json_is_array(v))
        json_array_foreach(v, i, e) if (holds_ref(e)) return 1;
    if (json_is_object(v))
        json_object_foreach((json_t *)v, k, e) if (holds_ref(e)) return 1;
    return 0;
}

int cv_refuse_refs(cc *c, const json_t *v, const ynode *n, const char *what)
{
    if (!holds_ref(v))
        return 0;
    diag_add(c->d, n->line, n->col, "%s: an artifact reference cannot be written in a "
             "workflow; name the file or directory by its path", what);
    return 1;
}

/* Whether v is a list of literals written as the list n (cv_compile keeps one as one
 * literal): checked and ingested item by item, as a list of values would be. */
static int is_literal_list(const dag_value *v, const ynode *n)
{
    return json_is_array(v->lit) && n->kind == YN_SEQ && n->n == json_array_size(v->lit);
}

void cv_ingest(cc *c, dag_value *v, wtype want, const ynode *n, const char *what)
{
    if (v->kind == DV_LIT && is_literal_list(v, n) && want.depth > 0) {
        for (size_t i = 0; i < json_array_size(v->lit); i++) {
            dag_value it = {.kind = DV_LIT, .lit = json_incref(json_array_get(v->lit, i))};
            cv_ingest(c, &it, (wtype){want.base, (uint8_t)(want.depth - 1)}, n->items[i], what);
            json_array_set_new(v->lit, i, it.lit);
        }
    } else if (v->kind == DV_LIT) {
        json_t *ref = cv_artifacts(c, json_incref(v->lit), want, n, what);
        if (ref) {
            json_decref(v->lit);
            v->lit = ref;
        }
    } else if (v->kind == DV_LIST && want.depth > 0) {
        for (size_t i = 0; i < v->n; i++)
            cv_ingest(c, v->items[i], (wtype){want.base, (uint8_t)(want.depth - 1)},
                      n->kind == YN_SEQ && i < n->n ? n->items[i] : n, what);
    }
}

/* The static type of an output reference: the declared port, or for a mirrored ("*")
 * output, the type of the producing task's input of the same name; a list of it when the
 * producer is mapped. */
static wtype ref_type(cc *c, const dag_value *v, int depth);
static wtype value_type(cc *c, const dag_value *v, int self, int depth);

/* An expression's references, typed for expr_check. */
typedef struct type_site {
    cc *c;
    int self, depth;
} type_site;

static wtype expr_ref_type(void *ud, const dag_value *ref)
{
    const type_site *t = ud;
    return value_type(t->c, ref, t->self, t->depth + 1);
}

/* Types an expression: 0, or -1 with why. */
static int check_expr(cc *c, const dag_value *v, int self, int depth, char *why, size_t n)
{
    type_site t = {c, self, depth};
    return expr_check(v->expr, expr_ref_type, &t, why, n);
}

static wtype value_type(cc *c, const dag_value *v, int self, int depth)
{
    switch (v->kind) {
    case DV_EXPR: {
        char why[300];
        return depth < 16 && check_expr(c, v, self, depth, why, sizeof why) == 0
                   ? expr_type(v->expr)
                   : (wtype){WT_ANY, 0};
    }
    case DV_OUT:
        return ref_type(c, v, depth + 1);
    case DV_LIT:
        return wtype_of_json(v->lit);
    case DV_CONCAT:
        return (wtype){WT_STRING, 0};
    case DV_ITEM:
        return self >= 0 ? c->item_types[self] : (wtype){WT_ANY, 0};
    case DV_INDEX:
        return (wtype){WT_INT, 0};
    case DV_LIST: {
        /* list<T> when every item is a T, list<any> otherwise */
        wtype first = v->n ? value_type(c, v->items[0], self, depth) : (wtype){WT_ANY, 0};
        for (size_t i = 1; i < v->n && first.base != WT_ANY; i++) {
            wtype t = value_type(c, v->items[i], self, depth);
            if (t.base != first.base || t.depth != first.depth)
                first = (wtype){WT_ANY, 0};
        }
        if (first.depth >= WTYPE_MAX_DEPTH)
            first = (wtype){WT_ANY, 0};
        return (wtype){first.base, (uint8_t)(first.depth + 1)};
    }
    case DV_MAP:
        return (wtype){WT_JSON, 0};
    }
    return (wtype){WT_ANY, 0};
}

static wtype port_type(cc *c, const dag_value *v, int depth)
{
    if (!strncmp(v->port, "error.", 6))
        return (wtype){WT_STRING, 0};
    const tt_decl *decl = c->decls[v->task];
    if (!decl)
        return (wtype){WT_ANY, 0};
    const tt_port *p = tt_find_port(decl->outputs, decl->noutputs, v->port);
    if (!p || strcmp(p->name, "*") != 0 || depth > 16)
        return p ? p->type : (wtype){WT_ANY, 0};
    const dag_task *t = &c->g->tasks[v->task];
    for (size_t i = 0; i < t->ninputs; i++)
        if (strcmp(t->input_names[i], v->port) == 0 && t->inputs[i])
            return value_type(c, t->inputs[i], v->task, depth);
    return (wtype){WT_ANY, 0};
}

static wtype ref_type(cc *c, const dag_value *v, int depth)
{
    wtype t = port_type(c, v, depth);
    if (c->mapped[v->task] && strncmp(v->port, "error.", 6) != 0 && t.base != WT_ANY &&
        t.depth < WTYPE_MAX_DEPTH)
        t.depth++;
    else if (c->mapped[v->task] && t.base == WT_ANY)
        t = (wtype){WT_ANY, 1};
    return t;
}

wtype cv_type(cc *c, const dag_value *v)
{
    return value_type(c, v, -1, 0);
}

/* Returns NULL for literal resolution of a constant expression: it reads no reference. */
static json_t *no_ref(void *ud, const dag_value *ref, char *why, size_t n)
{
    (void)ud;
    if (ref->kind == DV_LIT)
        return json_incref(ref->lit);
    snprintf(why, n, "a reference in a constant expression");
    return NULL;
}

/* An expression where want is declared: well typed, of a type want takes, and (when it
 * reads nothing that comes later) computable now. */
static void check_expr_value(cc *c, const dag_value *v, wtype want, const ynode *n,
                             const char *what)
{
    char wb[64], gb[64], why[300];
    if (check_expr(c, v, c->self, 0, why, sizeof why) < 0) {
        diag_add(c->d, n->line, n->col, "%s: %s", what, why);
        return;
    }
    wtype got = expr_type(v->expr);
    if (!wtype_assignable(want, got)) {
        diag_add(c->d, n->line, n->col, "%s: expected %s, but the expression is %s", what,
                 wtype_format(want, wb, sizeof wb), wtype_format(got, gb, sizeof gb));
        return;
    }
    json_t *now = expr_constant(v->expr) ? expr_eval(v->expr, no_ref, NULL, why, sizeof why)
                                         : json_null();
    if (!now)
        diag_add(c->d, n->line, n->col, "%s: %s", what, why);
    json_decref(now);
}

/* The expressions inside a list or mapping passed where any value goes: each well typed. */
static void check_nested(cc *c, const dag_value *v, const ynode *n, const char *what)
{
    for (size_t i = 0; i < v->n; i++) {
        const dag_value *it = v->items[i];
        const ynode *in = n->kind == YN_SEQ || n->kind == YN_MAP ? (i < n->n ? n->items[i] : n)
                                                                 : n;
        if (it->kind == DV_EXPR)
            check_expr_value(c, it, (wtype){WT_ANY, 0}, in, what);
        else if (it->kind == DV_LIST || it->kind == DV_MAP)
            check_nested(c, it, in, what);
    }
}

/* A list of literals (is_literal_list), checked as cv_check checks a list of values. */
static void check_literal_list(cc *c, const dag_value *v, wtype want, const ynode *n,
                               const char *what)
{
    char wb[64];
    if (want.depth == 0 && (want.base == WT_JSON || want.base == WT_ANY))
        return;
    if (want.depth == 0) {
        diag_add(c->d, n->line, n->col, "%s: expected %s, got a list", what,
                 wtype_format(want, wb, sizeof wb));
        return;
    }
    for (size_t i = 0; i < json_array_size(v->lit); i++) {
        char item[300];
        snprintf(item, sizeof item, "%s[%zu]", what, i);
        dag_value it = {.kind = DV_LIT, .lit = json_array_get(v->lit, i)};
        cv_check(c, &it, (wtype){want.base, (uint8_t)(want.depth - 1)}, n->items[i], item);
    }
}

void cv_check(cc *c, const dag_value *v, wtype want, const ynode *n, const char *what)
{
    char wb[64], gb[64], why[256];
    switch (v->kind) {
    case DV_EXPR:
        check_expr_value(c, v, want, n, what);
        return;
    case DV_LIT:
        if (is_literal_list(v, n)) {
            check_literal_list(c, v, want, n, what);
            return;
        }
        if (!json_is_null(v->lit) && !wtype_check_json(want, v->lit, why, sizeof why))
            diag_add(c->d, n->line, n->col, "%s: %s", what, why);
        return;
    case DV_OUT: {
        wtype got = ref_type(c, v, 0);
        if (!wtype_assignable(want, got))
            diag_add(c->d, n->line, n->col, "%s: expected %s, but output '%s' of task '%s' is %s",
                     what, wtype_format(want, wb, sizeof wb), v->port, c->g->tasks[v->task].name,
                     wtype_format(got, gb, sizeof gb));
        return;
    }
    case DV_ITEM:
    case DV_INDEX: {
        wtype got = value_type(c, v, c->self, 0);
        if (!wtype_assignable(want, got))
            diag_add(c->d, n->line, n->col, "%s: expected %s, but ${%s} is %s", what,
                     wtype_format(want, wb, sizeof wb), v->kind == DV_ITEM ? "item" : "index",
                     wtype_format(got, gb, sizeof gb));
        return;
    }
    case DV_CONCAT:
        for (size_t i = 0; i < v->n; i++) /* any value may become text inside text */
            if (v->items[i]->kind == DV_EXPR)
                check_expr_value(c, v->items[i], (wtype){WT_ANY, 0}, n, what);
        if (!wtype_assignable(want, (wtype){WT_STRING, 0}) &&
            !(want.depth == 0 && want.base >= WT_FILE && want.base != WT_JSON))
            diag_add(c->d, n->line, n->col, "%s: expected %s, got an interpolated string", what,
                     wtype_format(want, wb, sizeof wb));
        return;
    case DV_LIST:
        if (want.depth == 0 && (want.base == WT_JSON || want.base == WT_ANY)) {
            check_nested(c, v, n, what);
            return;
        }
        if (want.depth == 0) {
            diag_add(c->d, n->line, n->col, "%s: expected %s, got a list", what,
                     wtype_format(want, wb, sizeof wb));
            return;
        }
        for (size_t i = 0; i < v->n; i++) {
            char item[300];
            snprintf(item, sizeof item, "%s[%zu]", what, i);
            cv_check(c, v->items[i], (wtype){want.base, (uint8_t)(want.depth - 1)},
                     n->kind == YN_SEQ && i < n->n ? n->items[i] : n, item);
        }
        return;
    case DV_MAP:
        if (!(want.depth == 0 && (want.base == WT_JSON || want.base == WT_ANY)))
            diag_add(c->d, n->line, n->col, "%s: expected %s, got a mapping", what,
                     wtype_format(want, wb, sizeof wb));
        else
            check_nested(c, v, n, what);
        return;
    }
}
