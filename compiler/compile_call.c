/* compile_call: subworkflows.
 *
 *   prep:
 *     type: workflow
 *     uses: features.yaml               # relative to this file
 *     with: { dataset: "${params.tumours}", seed: 7 }
 *   train:
 *     type: train.xgboost
 *     with: { dataset: "${prep.outputs.train}" }
 *
 * features.yaml is an ordinary workflow file: its params: are what `with:` passes, and its
 * top-level outputs: what the caller reads:
 *
 *   outputs:
 *     train: "${split.outputs.train}"                     # typed as what it names
 *     rows: { type: int, value: "${ count.outputs.n }" }  # or checked against a type
 *
 * The called file is compiled on its own (its errors name it), every ${params.X} in it
 * reading output X of an extra task of its own, `params`. Its tasks then join the caller's
 * DAG named prep.NAME: prep.params holds the values `with:` passes (its defaults fill the
 * rest), and prep itself becomes the exit, which waits for every task inside and whose
 * outputs are the called file's outputs. Both are decided by the scheduler (DK_ENTRY,
 * DK_EXIT).
 * Retries, memoization, weft retry, cancel and status see ordinary tasks with dotted
 * names. A file that calls itself, directly or not, is refused, and calls nest at most
 * BUNDLE_MAX_DEPTH deep. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/xmem.h"
#include "compiler/bundle.h"
#include "compiler/compile_int.h"
#include "compiler/diag.h"
#include "compiler/expr.h"

/* A workflow a task calls, compiled. */
typedef struct cc_call {
    dag *g;
    cc_callee callee;
} cc_call;

/* The text of the file key names (at path on the disk): carried with the workflow, or read
 * from the disk when the caller allows it. NULL after reporting at n. Caller frees. */
static char *called_text(cc *c, const char *key, const char *path, const ynode *n,
                         size_t *len)
{
    const json_t *carried = json_object_get(c->bundle, key);
    if (json_is_string(carried)) {
        *len = json_string_length(carried);
        return xstrndup(json_string_value(carried), *len);
    }
    if (!c->in->read_calls) {
        diag_add(c->d, n->line, n->col, "uses: '%s' is not carried with the workflow (weft "
                 "submit and weft run carry the files a workflow calls)", key);
        return NULL;
    }
    char *text = NULL;
    weft_err err = {0};
    if (fs_read_file(path, COMPILE_MAX_FILE, &text, len, &err) < 0) {
        diag_add(c->d, n->line, n->col, "uses: %s", err.msg);
        return NULL;
    }
    return text;
}

/* Whether key is the file being compiled or one calling it (reported at n). */
static int calls_back(cc *c, const char *key, const ynode *n)
{
    int back = !strcmp(key, c->in->key);
    for (size_t i = 0; i < c->in->ncallers && !back; i++)
        back = !strcmp(key, c->in->callers[i]);
    if (!back)
        return 0;
    char chain[2048];
    size_t o = 0;
    for (size_t i = 0; i < c->in->ncallers && o < sizeof chain; i++)
        o += (size_t)snprintf(chain + o, sizeof chain - o, "%s -> ", c->in->callers[i]);
    if (o < sizeof chain)
        snprintf(chain + o, sizeof chain - o, "%s -> %s", c->in->key, key);
    diag_add(c->d, n->line, n->col, "uses: '%s' calls itself (%s); a workflow cannot recurse",
             key, chain);
    return 1;
}

void cc_call_compile(cc *c, int self, const ynode *tn)
{
    /* What belongs to the tasks inside: an attempt's fields, and a task's own. */
    static const char *const call_refused[] = {"timeout", "catch", "when", "outputs", NULL};
    const char *const *refused[] = {cc_worker_fields, call_refused};
    dag_task *t = &c->g->tasks[self];
    t->kind = DK_EXIT;
    const ynode *k;
    for (size_t i = 0; i < 2; i++)
        for (size_t pos = 0; (k = cc_refused_key(tn, refused[i], &pos));)
            diag_add(c->d, k->line, k->col, "task '%s': '%s' does not apply to a call of a "
                     "workflow (type: workflow); put it on the tasks inside", t->name, k->text);
    const ynode *uses = ytree_get(tn, "uses");
    char key[1024];
    if (!uses) {
        diag_add(c->d, tn->line, tn->col, "task '%s' (type: workflow) has no 'uses' (the "
                 "workflow file it calls)", t->name);
        return;
    }
    if (!cc_expect(c, uses, YN_SCALAR, "'uses'"))
        return;
    if (bundle_key(c->in->key, uses->text, key, sizeof key) < 0) {
        diag_add(c->d, uses->line, uses->col, "%s", key);
        return;
    }
    if (calls_back(c, key, uses) || c->in->budget->exceeded)
        return; /* past the budget: said once, where it ran out */
    if (c->in->ncallers + 1 >= BUNDLE_MAX_DEPTH) {
        diag_add(c->d, uses->line, uses->col, "uses: '%s': calls nest deeper than %d", key,
                 BUNDLE_MAX_DEPTH);
        return;
    }
    /* Its path from where weft runs: where it is read, and what its errors name. */
    char shown[4400];
    snprintf(shown, sizeof shown, "%s%s%s", c->root_dir, *c->root_dir ? "/" : "", key);
    size_t len = 0;
    char *text = called_text(c, key, shown, uses, &len);
    if (!text)
        return;
    const char **callers = xcalloc(c->in->ncallers + 1, sizeof *callers);
    for (size_t i = 0; i < c->in->ncallers; i++)
        callers[i] = c->in->callers[i];
    callers[c->in->ncallers] = c->in->key;
    compile_input in = *c->in;
    in.file = shown;
    in.text = text;
    in.len = len;
    in.params = NULL;
    in.nparams = 0;
    in.param_values = NULL;
    in.placeholders = 0;
    in.bundle = c->bundle;
    in.key = key;
    in.callers = callers;
    in.ncallers = c->in->ncallers + 1;
    diag *d = diag_new(shown);
    cc_call *call = xcalloc(1, sizeof *call);
    call->g = cc_compile(&in, d, c->root_dir, &call->callee);
    diag_merge(c->d, d);
    diag_destroy(&d);
    free(callers);
    free(text);
    if (!call->g) {
        cc_free_callee(&call->callee);
        free(call);
        return;
    }
    c->calls[self] = call;
    c->own_decls[self] = call->callee.sig;
    call->callee.sig = NULL;
    c->decls[self] = c->own_decls[self];
}

void cc_call_defaults(cc *c, int self)
{
    cc_call *call = c->calls ? c->calls[self] : NULL;
    dag_task *t = &c->g->tasks[self];
    const char *name;
    json_t *v;
    if (!call)
        return;
    json_object_foreach(call->callee.defaults, name, v) {
        size_t k;
        for (k = 0; k < t->ninputs && strcmp(t->input_names[k], name); k++) {
        }
        if (k < t->ninputs)
            continue;
        t->input_names = xrealloc(t->input_names, (t->ninputs + 1) * sizeof *t->input_names);
        t->inputs = xrealloc(t->inputs, (t->ninputs + 1) * sizeof *t->inputs);
        dag_value *dv = xcalloc(1, sizeof *dv);
        dv->kind = DV_LIT;
        dv->lit = json_deep_copy(v);
        t->input_names[t->ninputs] = xstrdup(name);
        t->inputs[t->ninputs++] = dv;
    }
}

/* ---- splicing a called workflow into its caller ---- */

static void shift_ref(void *ud, dag_value *v)
{
    v->task += *(const int *)ud;
}

static void shift_value(dag_value *v, int base)
{
    if (v)
        dag_value_each_out(v, shift_ref, &base);
}

/* Adds task to deps (no duplicates). */
static void add(int **deps, size_t *n, int task)
{
    for (size_t i = 0; i < *n; i++)
        if ((*deps)[i] == task)
            return;
    *deps = xrealloc(*deps, (*n + 1) * sizeof **deps);
    (*deps)[(*n)++] = task;
}

static void collect_ref(void *ud, dag_value *v)
{
    int **acc = ud;
    add((int **)acc[0], (size_t *)acc[1], v->task);
}

/* Moves task k of the called dag to slot to of the caller, renamed prefix.NAME, its values
 * and catch links shifted by base; its parents become its deps there. */
static void move_task(cc *c, const char *prefix, dag_task *from, int to, int base, int **deps,
                      size_t *ndeps)
{
    dag_task *t = &c->g->tasks[to];
    *t = *from;
    memset(from, 0, sizeof *from);
    t->type = dag_intern(c->g, t->type); /* the called dag's strings go with it */
    t->type_version = dag_intern(c->g, t->type_version);
    t->place = t->place ? dag_intern(c->g, t->place) : NULL;
    char *own = t->name;
    t->name = xasprintf("%s.%s", prefix, own);
    free(own);
    for (size_t i = 0; i < t->ninputs; i++)
        shift_value(t->inputs[i], base);
    shift_value(t->when, base);
    shift_value(t->map, base);
    if (t->catch_next >= 0)
        t->catch_next += base;
    if (t->catch_of >= 0)
        t->catch_of += base;
    deps[to] = NULL;
    ndeps[to] = 0;
    for (size_t i = 0; i < t->nparents; i++)
        add(&deps[to], &ndeps[to], t->parents[i] + base);
    free(t->parents);
    free(t->children);
    t->parents = t->children = NULL;
    t->nparents = t->nchildren = 0;
}

/* Splices the workflow task self calls into the caller's tasks. */
static void splice(cc *c, int self, cc_call *call, int ***deps, size_t **ndeps)
{
    dag *g = c->g, *sub = call->g;
    int base = (int)g->ntasks, m = (int)sub->ntasks;
    int *sink = xcalloc((size_t)m + 1, sizeof *sink);
    for (int k = 0; k < m; k++)
        sink[k] = sub->tasks[k].nchildren == 0;
    g->tasks = xrealloc(g->tasks, (g->ntasks + (size_t)m) * sizeof *g->tasks);
    *deps = xrealloc(*deps, (g->ntasks + (size_t)m) * sizeof **deps);
    *ndeps = xrealloc(*ndeps, (g->ntasks + (size_t)m) * sizeof **ndeps);
    g->ntasks += (size_t)m;
    const char *prefix = g->tasks[self].name;
    for (int k = 0; k < m; k++)
        move_task(c, prefix, &sub->tasks[k], base + k, base, *deps, *ndeps);
    /* The entry takes the call's values and what they wait for. */
    dag_task *call_t = &g->tasks[self], *entry = &g->tasks[base + call->callee.params_task];
    entry->input_names = call_t->input_names;
    entry->inputs = call_t->inputs;
    entry->ninputs = call_t->ninputs;
    int e = base + call->callee.params_task;
    free((*deps)[e]);
    (*deps)[e] = (*deps)[self];
    (*ndeps)[e] = (*ndeps)[self];
    /* Nothing inside starts before the entry: the call's values and needs come first. */
    for (int k = 0; k < m; k++)
        if (base + k != e && !(*ndeps)[base + k])
            add(&(*deps)[base + k], &(*ndeps)[base + k], e);
    /* The exit reads the called workflow's outputs, and waits for every task inside. */
    call_t->ninputs = call->callee.nouts;
    call_t->input_names = call->callee.out_names;
    call_t->inputs = call->callee.outs;
    call->callee.out_names = NULL;
    call->callee.outs = NULL;
    call->callee.nouts = 0;
    (*deps)[self] = NULL;
    (*ndeps)[self] = 0;
    void *acc[2] = {&(*deps)[self], &(*ndeps)[self]};
    for (size_t i = 0; i < call_t->ninputs; i++) {
        shift_value(call_t->inputs[i], base);
        dag_value_each_out(call_t->inputs[i], collect_ref, acc);
    }
    for (int k = 0; k < m; k++)
        if (sink[k])
            add(&(*deps)[self], &(*ndeps)[self], base + k);
    free(sink);
    sub->ntasks = 0; /* its tasks live on in the caller */
}

void cc_splice_calls(cc *c, size_t ncompiled, int ***deps, size_t **ndeps)
{
    for (size_t i = 0; c->calls && i < ncompiled; i++)
        if (c->calls[i])
            splice(c, (int)i, c->calls[i], deps, ndeps);
}

void cc_free_calls(cc *c, size_t ncompiled)
{
    for (size_t i = 0; c->calls && i < ncompiled; i++) {
        if (!c->calls[i])
            continue;
        dag_free(c->calls[i]->g);
        cc_free_callee(&c->calls[i]->callee);
        free(c->calls[i]);
    }
    free(c->calls);
}

/* ---- the called side ---- */

/* A port of name and type t, owned. */
static tt_port port(const char *name, wtype t, int optional, const char *doc)
{
    return (tt_port){.name = xstrdup(name), .type = t, .optional = optional,
                     .doc = xstrdup(doc)};
}

/* The declared type of parameter name (c->declared holds it packed). */
static wtype param_type(cc *c, const char *name)
{
    uintptr_t packed = (uintptr_t)strmap_get(c->declared, name);
    return (wtype){(uint8_t)((packed - 1) % 256), (uint8_t)((packed - 1) / 256)};
}

/* A declaration of the workflow's own making (strings static, ports owned). */
static tt_decl *new_decl(void)
{
    tt_decl *d = xcalloc(1, sizeof *d);
    d->name = (char *)"workflow";
    d->version = (char *)"1";
    d->plugin = (char *)"weft";
    d->plugin_version = (char *)"1";
    d->path = (char *)"";
    return d;
}

tt_decl *cc_params_decl(cc *c)
{
    tt_decl *d = new_decl();
    size_t pos = 0;
    const char *name;
    void *unused;
    d->outputs = xcalloc(strmap_count(c->declared) + 1, sizeof *d->outputs);
    while (strmap_next(c->declared, &pos, &name, &unused))
        d->outputs[d->noutputs++] = port(name, param_type(c, name), 0, "a parameter");
    return d;
}

/* One output: "${...}" or {type: T, value: "${...}"} at v. Its value (NULL after reporting)
 * and type. */
static dag_value *one_output(cc *c, const ynode *k, const ynode *v, wtype *type)
{
    static const char *const known[] = {"type", "value", NULL};
    const ynode *vn = v, *tn = NULL;
    wtype want = {WT_ANY, 0};
    char what[200];
    if (v->kind == YN_MAP) {
        cc_check_keys(c, v, "an output", known);
        tn = ytree_get(v, "type");
        vn = ytree_get(v, "value");
        if (!vn) {
            diag_add(c->d, v->line, v->col, "output '%s' has no 'value'", k->text);
            return NULL;
        }
        if (tn && (!cc_expect(c, tn, YN_SCALAR, "'type'") || wtype_parse(tn->text, &want) < 0)) {
            if (tn->kind == YN_SCALAR)
                diag_add(c->d, tn->line, tn->col, "unknown type '%s' for output '%s'",
                         tn->text, k->text);
            return NULL;
        }
    }
    int *deps = NULL;
    size_t ndeps = 0, cap = 0;
    dag_value *dv = cv_compile(c, vn, -1, &deps, &ndeps, &cap);
    free(deps);
    if (!dv)
        return NULL;
    snprintf(what, sizeof what, "output '%s'", k->text);
    c->self = -1;
    cv_check(c, dv, want, vn, what); /* with no type: the expression's own errors */
    *type = tn ? want : cv_type(c, dv);
    return dv;
}

void cc_workflow_outputs(cc *c, const ynode *on)
{
    if (!on || !cc_expect(c, on, YN_MAP, "'outputs'"))
        return;
    cc_callee *ce = c->callee;
    tt_decl *sig = ce ? ce->sig : NULL;
    if (sig)
        sig->outputs = xcalloc(on->n + 1, sizeof *sig->outputs);
    if (ce) {
        ce->out_names = xcalloc(on->n + 1, sizeof *ce->out_names);
        ce->outs = xcalloc(on->n + 1, sizeof *ce->outs);
    }
    for (size_t i = 0; i < on->n; i++) {
        const ynode *k = on->keys[i];
        wtype t = {WT_ANY, 0};
        if (!cc_port_name_ok(k->text)) {
            diag_add(c->d, k->line, k->col, "bad output name '%s' (use [a-z0-9_])", k->text);
            continue;
        }
        dag_value *v = one_output(c, k, on->items[i], &t);
        if (!v || !ce) {
            dag_value_free(v);
            continue;
        }
        ce->out_names[ce->nouts] = xstrdup(k->text);
        ce->outs[ce->nouts++] = v;
        if (sig)
            sig->outputs[sig->noutputs++] = port(k->text, t, 0, "an output of the workflow");
    }
}

/* The call's declaration: its parameters as inputs (outputs come with cc_workflow_outputs),
 * and their defaults. */
void cc_callee_begin(cc *c)
{
    cc_callee *ce = c->callee;
    ce->sig = new_decl();
    ce->defaults = json_object();
    size_t pos = 0;
    const char *name;
    void *unused;
    ce->sig->inputs = xcalloc(strmap_count(c->declared) + 1, sizeof *ce->sig->inputs);
    while (strmap_next(c->declared, &pos, &name, &unused)) {
        json_t *dflt = json_object_get(c->params, name);
        ce->sig->inputs[ce->sig->ninputs++] = port(name, param_type(c, name), dflt != NULL,
                                                   "a parameter of the workflow");
        if (dflt)
            json_object_set(ce->defaults, name, dflt);
    }
}

void cc_callee_refuse(cc *c, const ynode *root)
{
    static const char *const refused[] = {"limits", "concurrency", "timeout", NULL};
    const ynode *k;
    for (size_t pos = 0; (k = cc_refused_key(root, refused, &pos));)
        diag_add(c->d, k->line, k->col, "'%s' does not apply to a workflow that is called: it "
                 "runs within its caller's run (give it to the caller, or timeouts to the "
                 "tasks)", k->text);
}

void cc_free_callee(cc_callee *ce)
{
    cc_free_decl(ce->sig);
    json_decref(ce->defaults);
    for (size_t i = 0; i < ce->nouts; i++) {
        free(ce->out_names[i]);
        dag_value_free(ce->outs[i]);
    }
    free(ce->out_names);
    free(ce->outs);
    memset(ce, 0, sizeof *ce);
}
