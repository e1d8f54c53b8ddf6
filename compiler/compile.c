/* compile: workflow YAML to a typed DAG. See compile.h.
 *
 * Passes: parse YAML into a positioned tree; read the top-level sections; resolve
 * parameters (defaults, then -p overrides); collect task names; compile each task (type,
 * inputs, needs, timeout, retry, resources) and check its inputs against the declaration;
 * derive edges; reject cycles; order topologically. Every pass keeps going after an error
 * so that one run reports every problem. */
#include "compiler/compile.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errclass.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/units.h"
#include "common/xmem.h"
#include "compiler/compile_int.h"

/* Fields of DESIGN.md's language that this version does not implement yet. Using one is an
 * error rather than a silently ignored line. */

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

int cc_valid_name(const char *s, int allow_underscore)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' ||
              (allow_underscore && *s == '_')))
            return 0;
    return 1;
}

const ynode *cc_refused_key(const ynode *map, const char *const *refused, size_t *pos)
{
    for (; *pos < map->n; (*pos)++)
        if (in_list(map->keys[*pos]->text, refused))
            return map->keys[(*pos)++];
    return NULL;
}

int cc_port_name_ok(const char *s)
{
    return *s && !s[strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_")];
}

/* Reports keys of map not in known. */
void cc_check_keys(cc *c, const ynode *map, const char *where, const char *const *known)
{
    for (size_t i = 0; i < map->n; i++) {
        const ynode *k = map->keys[i];
        if (!in_list(k->text, known))
            diag_add(c->d, k->line, k->col, "unknown field '%s' in %s", k->text, where);
    }
}

const ynode *cc_expect(cc *c, const ynode *n, enum ynode_kind kind, const char *what)
{
    static const char *const names[] = {"a scalar", "a list", "a mapping"};
    if (!n)
        return NULL;
    if (n->kind != kind) {
        diag_add(c->d, n->line, n->col, "%s must be %s, not a %s", what, names[kind],
                 ytree_kind_name(n));
        return NULL;
    }
    return n;
}

int cc_get_duration(cc *c, const ynode *n, const char *what, int64_t *out)
{
    if (!cc_expect(c, n, YN_SCALAR, what))
        return -1;
    if (units_duration_ms(n->text, out) < 0) {
        diag_add(c->d, n->line, n->col,
                 "%s: bad duration '%s' (use a number and a unit: 500ms, 2s, 10m, 1h)", what,
                 n->text);
        return -1;
    }
    return 0;
}

int cc_get_int(cc *c, const ynode *n, const char *what, long long lo, long long hi,
               long long *out)
{
    if (!cc_expect(c, n, YN_SCALAR, what))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(n->text, &end, 10);
    if (!n->plain || !*n->text || *end || errno || v < lo || v > hi) {
        diag_add(c->d, n->line, n->col, "%s must be a whole number from %lld to %lld, not '%s'",
                 what, lo, hi, n->text);
        return -1;
    }
    *out = v;
    return 0;
}

static int get_float(cc *c, const ynode *n, const char *what, double lo, double hi, double *out)
{
    if (!cc_expect(c, n, YN_SCALAR, what))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(n->text, &end);
    if (!n->plain || !*n->text || *end || errno || !isfinite(v) || v < lo || v > hi) {
        diag_add(c->d, n->line, n->col, "%s must be a number from %g to %g, not '%s'", what, lo, hi,
                 n->text);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- retry, timeout, resources (shared by defaults and tasks) ---- */

/* Reads a list of error classes into a mask of (1 << class). A class outside allowed is
 * reported as lead (holding the name's %s) followed by the list of allowed classes. */
static unsigned class_list(cc *c, const ynode *list, unsigned allowed, const char *lead)
{
    char names[128] = "";
    size_t off = 0;
    for (int cls = 1; cls < ERRC__COUNT; cls++)
        if (allowed & (1u << cls))
            off += (size_t)snprintf(names + off, sizeof names - off, "%s%s", off ? ", " : "",
                                    errclass_name(cls));
    unsigned mask = 0;
    for (size_t i = 0; i < list->n; i++) {
        const ynode *e = list->items[i];
        int cls = e->kind == YN_SCALAR ? errclass_parse(e->text) : -1;
        if (cls < 0 || !(allowed & (1u << cls))) {
            char what[300];
            snprintf(what, sizeof what, lead, e->kind == YN_SCALAR ? e->text : ytree_kind_name(e));
            diag_add(c->d, e->line, e->col, "%s (use %s)", what, names);
        } else {
            mask |= 1u << cls;
        }
    }
    return mask;
}

#define ALL_CLASSES                                                                                \
    (1u << ERRC_TRANSIENT | 1u << ERRC_FATAL | 1u << ERRC_TIMEOUT | 1u << ERRC_CRASH |             \
     1u << ERRC_LOST | 1u << ERRC_CANCELLED | 1u << ERRC_UNSCHEDULABLE)

static void compile_retry(cc *c, const ynode *n, dag_retry *r)
{
    static const char *const known[] = {
        "max_attempts", "interval", "backoff_rate", "max_delay", "jitter", "on", NULL};
    if (!cc_expect(c, n, YN_MAP, "'retry'"))
        return;
    cc_check_keys(c, n, "'retry'", known);
    if (r->max_attempts <= 1)
        r->max_attempts = 3; /* Step Functions' default once retry is written */
    long long v;
    const ynode *f;
    if ((f = ytree_get(n, "max_attempts")) && cc_get_int(c, f, "'max_attempts'", 1, 100, &v) == 0)
        r->max_attempts = (int)v;
    if ((f = ytree_get(n, "interval")))
        cc_get_duration(c, f, "'interval'", &r->interval_ms);
    if ((f = ytree_get(n, "max_delay")))
        cc_get_duration(c, f, "'max_delay'", &r->max_delay_ms);
    if ((f = ytree_get(n, "backoff_rate")))
        get_float(c, f, "'backoff_rate'", 1.0, 100.0, &r->backoff_rate);
    if ((f = ytree_get(n, "jitter")) && cc_expect(c, f, YN_SCALAR, "'jitter'")) {
        if (strcmp(f->text, "full") == 0 || strcmp(f->text, "none") == 0)
            r->jitter_full = strcmp(f->text, "full") == 0;
        else
            diag_add(c->d, f->line, f->col, "'jitter' must be full or none, not '%s'", f->text);
    }
    if ((f = ytree_get(n, "on")) && cc_expect(c, f, YN_SEQ, "'on'"))
        /* Not unschedulable: no attempt was made, and none would count against a retry. */
        r->on = class_list(c, f, ALL_CLASSES & ~(1u << ERRC_UNSCHEDULABLE),
                           "unknown error class '%s' in 'on'");
}

#define HEARTBEAT_MIN_MS 100

/* Task settings that may also appear under defaults. */
typedef struct task_settings {
    int64_t timeout_ms;
    int64_t heartbeat_ms;
    dag_retry retry;
    cc_place place;
    int cache;                /* memoize */
    const char *cache_version; /* borrowed from the tree; NULL = "" */
} task_settings;

/* cache: true | false | { version: "N" } */
static void compile_cache(cc *c, const ynode *n, task_settings *s)
{
    static const char *const known[] = {"version", NULL};
    if (n->kind == YN_SCALAR && n->plain &&
        (!strcmp(n->text, "true") || !strcmp(n->text, "false"))) {
        s->cache = !strcmp(n->text, "true");
        s->cache_version = NULL;
        return;
    }
    if (n->kind != YN_MAP) {
        diag_add(c->d, n->line, n->col, "'cache' must be true, false or { version: \"N\" }");
        return;
    }
    cc_check_keys(c, n, "'cache'", known);
    const ynode *v = ytree_get(n, "version");
    if (v && cc_expect(c, v, YN_SCALAR, "'version'")) {
        if (!*v->text || strlen(v->text) > 64)
            diag_add(c->d, v->line, v->col, "'version' must be 1 to 64 characters");
        s->cache_version = v->text;
    }
    s->cache = 1;
}

static void compile_settings(cc *c, const ynode *n, task_settings *s)
{
    const ynode *f;
    if ((f = ytree_get(n, "timeout")))
        cc_get_duration(c, f, "'timeout'", &s->timeout_ms);
    if ((f = ytree_get(n, "heartbeat")) &&
        cc_get_duration(c, f, "'heartbeat'", &s->heartbeat_ms) == 0 && s->heartbeat_ms &&
        s->heartbeat_ms < HEARTBEAT_MIN_MS)
        diag_add(c->d, f->line, f->col, "'heartbeat' must be at least 100ms, not '%s'", f->text);
    if ((f = ytree_get(n, "retry")))
        compile_retry(c, f, &s->retry);
    if ((f = ytree_get(n, "resources")))
        cc_compile_resources(c, f, &s->place);
    if ((f = ytree_get(n, "labels")))
        cc_compile_labels(c, f, &s->place);
    if ((f = ytree_get(n, "cache")))
        compile_cache(c, f, s);
    cc_compile_queueing(c, n, &s->place);
}

/* ---- tasks ---- */

/* catch: { on: [classes], next: TASK }. `on` defaults to every failure class but
 * cancelled. The handler is linked to its catcher in link_catches. */
static void compile_catch(cc *c, int self, const ynode *n)
{
    static const char *const known[] = {"on", "next", NULL};
    dag_task *t = &c->g->tasks[self];
    if (!cc_expect(c, n, YN_MAP, "'catch'"))
        return;
    cc_check_keys(c, n, "'catch'", known);
    const unsigned catchable = ALL_CLASSES & ~(1u << ERRC_CANCELLED);
    t->catch_on = catchable;
    const ynode *on = ytree_get(n, "on"), *next = ytree_get(n, "next");
    if (on && cc_expect(c, on, YN_SEQ, "'on'"))
        t->catch_on = class_list(c, on, catchable, "catch cannot handle '%s'");
    if (!next) {
        diag_add(c->d, n->line, n->col, "'catch' needs 'next': the task to run on failure");
        return;
    }
    if (!cc_expect(c, next, YN_SCALAR, "'next'"))
        return;
    intptr_t idx = (intptr_t)strmap_get(c->task_index, next->text) - 1;
    if (idx < 0)
        diag_add(c->d, next->line, next->col, "catch 'next' names unknown task '%s'", next->text);
    else if (idx == self)
        diag_add(c->d, next->line, next->col, "task '%s' cannot catch to itself", next->text);
    else
        t->catch_next = (int)idx;
}

/* Points each handler back at its catcher; a handler serves one catcher. */
static void link_catches(cc *c, const ynode *tasks)
{
    for (size_t i = 0; i < c->g->ntasks; i++) {
        int h = c->g->tasks[i].catch_next;
        if (h < 0)
            continue;
        dag_task *handler = &c->g->tasks[h];
        const ynode *at = ytree_get(ytree_get(tasks->items[i], "catch"), "next");
        if (handler->kind == DK_EXIT) {
            diag_add(c->d, at ? at->line : 1, at ? at->col : 1, "task '%s' calls a workflow, "
                     "so it cannot be a catch handler; catch to a task that is not a call",
                     handler->name);
        } else if (handler->catch_of >= 0) {
            diag_add(c->d, at ? at->line : 1, at ? at->col : 1,
                     "task '%s' is already the catch handler of '%s'", handler->name,
                     c->g->tasks[handler->catch_of].name);
        } else {
            handler->catch_of = (int)i;
        }
    }
}

/* Compiles `with:` into t's inputs, checking each against the declaration. */
static void compile_inputs(cc *c, int self, const ynode *with, const tt_decl *decl, int **deps,
                           size_t *ndeps, size_t *capdeps)
{
    dag_task *t = &c->g->tasks[self];
    if (with && cc_expect(c, with, YN_MAP, "'with'")) {
        t->input_names = xcalloc(with->n + 1, sizeof *t->input_names);
        t->inputs = xcalloc(with->n + 1, sizeof *t->inputs);
        for (size_t i = 0; i < with->n; i++) {
            const ynode *k = with->keys[i];
            const tt_port *p = decl ? tt_find_port(decl->inputs, decl->ninputs, k->text) : NULL;
            if (decl && !p) {
                char *list = tt_port_list(decl->inputs, decl->ninputs);
                diag_add(c->d, k->line, k->col,
                         "task '%s': type '%s' has no input '%s' (its "
                         "inputs are: %s)",
                         t->name, decl->name, k->text, list);
                free(list);
            }
            cc_outputs_input(c, self, p, k);
            dag_value *v = cv_compile(c, with->items[i], self, deps, ndeps, capdeps);
            t->input_names[t->ninputs] = xstrdup(k->text);
            t->inputs[t->ninputs++] = v;
        }
    }
    cc_add_outputs_input(c, self);
    cc_call_defaults(c, self);
    /* Sort inputs by name (plugins see them in this order), keeping names and values
     * together. Insertion sort: a task has few inputs. */
    for (size_t i = 1; i < t->ninputs; i++)
        for (size_t j = i; j > 0 && strcmp(t->input_names[j - 1], t->input_names[j]) > 0; j--) {
            char *tn = t->input_names[j];
            dag_value *tv = t->inputs[j];
            t->input_names[j] = t->input_names[j - 1];
            t->inputs[j] = t->inputs[j - 1];
            t->input_names[j - 1] = tn;
            t->inputs[j - 1] = tv;
        }
}

/* when: a condition, "${ ... }" of type bool (or a literal bool), read when the task's
 * parents have ended; what it reads is a dependency like any input. Like map:, it is the
 * task's, not an element's: ${item} is not defined in it. */
static void compile_when(cc *c, int self, const ynode *wn, int **deps, size_t *ndeps,
                         size_t *capdeps)
{
    if (!wn || !cc_expect(c, wn, YN_SCALAR, "'when'"))
        return;
    dag_task *t = &c->g->tasks[self];
    c->in_map = 1;
    t->when = cv_compile(c, wn, self, deps, ndeps, capdeps);
    c->in_map = 0;
    t->when_text = xstrdup(wn->text);
}

static void check_when(cc *c, int self, const ynode *tn)
{
    const dag_task *t = &c->g->tasks[self];
    if (!t->when)
        return;
    char what[200];
    snprintf(what, sizeof what, "task '%s' 'when'", t->name);
    c->self = self;
    cv_check(c, t->when, (wtype){WT_BOOL, 0}, ytree_get(tn, "when"), what);
}

/* Checks inputs against the declaration: types of given inputs, required ones present. */
static void check_inputs(cc *c, int self, const ynode *tnode, const ynode *with,
                         const tt_decl *decl)
{
    dag_task *t = &c->g->tasks[self];
    if (!decl)
        return;
    c->self = self;
    for (size_t i = 0; i < t->ninputs; i++) {
        const tt_port *p = tt_find_port(decl->inputs, decl->ninputs, t->input_names[i]);
        if (!p || !t->inputs[i])
            continue;
        const ynode *vn = ytree_get(with, t->input_names[i]);
        char what[200];
        snprintf(what, sizeof what, "task '%s' input '%s'", t->name, t->input_names[i]);
        cv_ingest(c, t->inputs[i], p->type, vn ? vn : tnode, what);
        cv_check(c, t->inputs[i], p->type, vn ? vn : tnode, what);
    }
    for (size_t i = 0; i < decl->ninputs; i++) {
        const tt_port *p = &decl->inputs[i];
        if (p->optional || strcmp(p->name, "*") == 0)
            continue;
        int given = 0;
        for (size_t k = 0; k < t->ninputs && !given; k++)
            given = strcmp(t->input_names[k], p->name) == 0;
        if (!given) {
            char tb[64];
            const ynode *at = with ? with : tnode;
            diag_add(c->d, at->line, at->col,
                     "task '%s': missing required input '%s' (%s) of "
                     "type '%s'",
                     t->name, p->name, wtype_format(p->type, tb, sizeof tb), decl->name);
        }
    }
}

static void compile_needs(cc *c, int self, const ynode *needs, int **deps, size_t *ndeps,
                          size_t *capdeps)
{
    if (!needs || !cc_expect(c, needs, YN_SEQ, "'needs'"))
        return;
    for (size_t i = 0; i < needs->n; i++) {
        const ynode *e = needs->items[i];
        if (!cc_expect(c, e, YN_SCALAR, "an entry of 'needs'"))
            continue;
        intptr_t idx = (intptr_t)strmap_get(c->task_index, e->text) - 1;
        if (idx < 0) {
            diag_add(c->d, e->line, e->col, "'needs' names unknown task '%s'", e->text);
        } else if (idx == self) {
            diag_add(c->d, e->line, e->col, "task '%s' cannot need itself", e->text);
        } else {
            size_t k;
            for (k = 0; k < *ndeps && (*deps)[k] != idx; k++) {
            }
            if (k == *ndeps) {
                xgrow(deps, capdeps, *ndeps + 1, sizeof **deps);
                (*deps)[(*ndeps)++] = (int)idx;
            }
        }
    }
}

static void compile_task(cc *c, int self, const ynode *tn, const task_settings *defaults)
{
    static const char *const known[] = {"type",  "with", "needs",       "timeout", "retry",
                                        "resources", "catch", "doc", "description", "cache",
                                        "map", "max_parallel", "min_success", "secrets",
                                        "labels", "priority", "pool", "schedule_timeout",
                                        "heartbeat", "when", "outputs", "uses", NULL};
    dag_task *t = &c->g->tasks[self];
    t->line = tn->line;
    t->col = tn->col;
    t->catch_next = t->catch_of = -1;
    task_settings s = *defaults;
    if (!cc_expect(c, tn, YN_MAP, "a task")) {
        t->type = t->type_version = dag_intern(c->g, "");
        return;
    }
    cc_check_keys(c, tn, "a task", known);
    c->mapped[self] = ytree_get(tn, "map") != NULL;
    cm_settings(c, self, tn);
    const ynode *type = ytree_get(tn, "type");
    const tt_decl *decl = NULL;
    int call = type && type->kind == YN_SCALAR && !strcmp(type->text, "workflow");
    const ynode *uses = ytree_get(tn, "uses");
    if (call)
        cc_call_compile(c, self, tn);
    else if (uses)
        diag_add(c->d, uses->line, uses->col, "task '%s': 'uses' names the workflow a task of "
                 "type workflow calls", t->name);
    if (!type)
        diag_add(c->d, tn->line, tn->col, "task '%s' has no 'type'", t->name);
    else if (call)
        decl = c->decls[self];
    else if (cc_expect(c, type, YN_SCALAR, "'type'") &&
             !(decl = typereg_find(c->types, type->text)))
        diag_add(c->d, type->line, type->col,
                 "task '%s': unknown task type '%s' (no plugin on the plugin path provides it; "
                 "see weft plugins)",
                 t->name, type->text);
    c->decls[self] = decl;
    if (!call)
        cc_task_outputs(c, self, ytree_get(tn, "outputs"));
    t->type = dag_intern(c->g, type && type->kind == YN_SCALAR ? type->text : "");
    t->type_version = dag_intern(c->g, decl ? decl->version : "");
    compile_settings(c, tn, &s);
    if (call || (decl && !strcmp(decl->name, TT_APPROVE))) {
        /* No worker: a person decides once (timed by its own timeout only), or the
         * scheduler at once; never memoized. */
        if (!call)
            cc_approval(c, self, tn);
        s.timeout_ms = !call && ytree_get(tn, "timeout") ? s.timeout_ms : 0;
        s.retry.max_attempts = 1;
        s.cache = 0;
        s.heartbeat_ms = 0;
        s.place.nres = s.place.nlabels = 0;
        s.place.pool = NULL;
        s.place.schedule_timeout_ms = 0;
    }
    t->timeout_ms = s.timeout_ms;
    t->heartbeat_ms = s.heartbeat_ms;
    t->retry = s.retry;
    const ynode *cn = ytree_get(tn, "catch");
    if (cn)
        compile_catch(c, self, cn);
    cc_place_task(&s.place, c->g, t);
    if (s.cache)
        t->cache_version = xstrdup(s.cache_version ? s.cache_version : "");
    const ynode *sn = ytree_get(tn, "secrets");
    if (sn)
        cc_compile_secrets(c, self, sn);
}

static void compile_tasks(cc *c, const ynode *tasks, const task_settings *defaults)
{
    dag *g = c->g;
    if (!tasks || !cc_expect(c, tasks, YN_MAP, "'tasks'"))
        return;
    if (tasks->n == 0) {
        diag_add(c->d, tasks->line, tasks->col, "'tasks' is empty; a workflow needs a task");
        return;
    }
    if (tasks->n > COMPILE_MAX_TASKS) {
        diag_add(c->d, tasks->line, tasks->col, "%u tasks; the limit is %d", tasks->n,
                 COMPILE_MAX_TASKS);
        return;
    }
    /* Calls count against one budget: a workflow and all it calls, every time it calls. */
    size_t need = tasks->n + (c->callee != NULL);
    if (need > c->in->budget->tasks) {
        diag_add(c->d, tasks->line, tasks->col, "with the workflows it calls, the workflow has "
                 "more than %d tasks", COMPILE_MAX_TASKS);
        c->in->budget->exceeded = 1;
        return;
    }
    c->in->budget->tasks -= need;
    /* A called workflow has one task more: params, which its ${params.X} read. */
    g->ntasks = c->ncompiled = tasks->n + (c->callee != NULL);
    g->tasks = xcalloc(g->ntasks, sizeof *g->tasks);
    c->decls = xcalloc(g->ntasks, sizeof *c->decls);
    c->own_decls = xcalloc(g->ntasks, sizeof *c->own_decls);
    c->task_outputs = xcalloc(g->ntasks, sizeof *c->task_outputs);
    c->calls = xcalloc(g->ntasks, sizeof *c->calls);
    c->mapped = xcalloc(g->ntasks, 1);
    c->item_types = xcalloc(g->ntasks, sizeof *c->item_types);
    if (c->callee) {
        dag_task *p = &g->tasks[tasks->n];
        c->params_task = c->callee->params_task = (int)tasks->n;
        p->name = xstrdup("params");
        p->type = dag_intern(g, "workflow");
        p->type_version = dag_intern(g, "1");
        p->kind = DK_ENTRY;
        p->catch_next = p->catch_of = -1;
        c->own_decls[tasks->n] = cc_params_decl(c);
        c->decls[tasks->n] = c->own_decls[tasks->n];
    }
    for (size_t i = 0; i < tasks->n; i++) {
        const ynode *k = tasks->keys[i];
        g->tasks[i].name = xstrdup(k->text);
        if (!cc_valid_name(k->text, 1))
            diag_add(c->d, k->line, k->col, "bad task name '%s' (use [a-z0-9_-])", k->text);
        else if (strcmp(k->text, "params") == 0)
            diag_add(c->d, k->line, k->col, "'params' is reserved and cannot name a task");
        strmap_put(c->task_index, k->text, (void *)(intptr_t)(i + 1));
    }
    for (size_t i = 0; i < tasks->n; i++)
        compile_task(c, (int)i, tasks->items[i], defaults);
    link_catches(c, tasks);
    int **deps = xcalloc(g->ntasks, sizeof *deps);
    size_t *ndeps = xcalloc(g->ntasks, sizeof *ndeps);
    for (size_t i = 0; i < tasks->n; i++) {
        const ynode *tn = tasks->items[i];
        size_t cap = 0;
        if (tn->kind != YN_MAP)
            continue;
        cm_compile(c, (int)i, tn, &deps[i], &ndeps[i], &cap);
        compile_inputs(c, (int)i, ytree_get(tn, "with"), c->decls[i], &deps[i], &ndeps[i], &cap);
        compile_needs(c, (int)i, ytree_get(tn, "needs"), &deps[i], &ndeps[i], &cap);
        compile_when(c, (int)i, ytree_get(tn, "when"), &deps[i], &ndeps[i], &cap);
        /* A handler waits for its catcher (to fail). */
        int from = g->tasks[i].catch_of;
        size_t k;
        for (k = 0; from >= 0 && k < ndeps[i] && deps[i][k] != from; k++) {
        }
        if (from >= 0 && k == ndeps[i]) {
            xgrow(&deps[i], &cap, ndeps[i] + 1, sizeof *deps[i]);
            deps[i][ndeps[i]++] = from;
        }
    }
    for (size_t i = 0; i < tasks->n; i++)
        if (tasks->items[i]->kind == YN_MAP)
            cm_check(c, (int)i, tasks->items[i]);
    for (size_t i = 0; i < tasks->n; i++)
        if (tasks->items[i]->kind == YN_MAP) {
            check_inputs(c, (int)i, tasks->items[i], ytree_get(tasks->items[i], "with"),
                         c->decls[i]);
            check_when(c, (int)i, tasks->items[i]);
        }
    cc_splice_calls(c, c->ncompiled, &deps, &ndeps);
    cc_link_edges(g, deps, ndeps);
    for (size_t i = 0; i < g->ntasks; i++)
        free(deps[i]);
    free(deps);
    free(ndeps);
    cc_order_tasks(c);
}

static void compile_header(cc *c, const ynode *root)
{
    const ynode *name = ytree_get(root, "workflow");
    if (!name)
        diag_add(c->d, root->line, root->col, "missing 'workflow' (the workflow's name)");
    else if (cc_expect(c, name, YN_SCALAR, "'workflow'") && !cc_valid_name(name->text, 0))
        diag_add(c->d, name->line, name->col, "bad workflow name '%s' (use [a-z0-9-])", name->text);
    c->g->name = xstrdup(name && name->kind == YN_SCALAR ? name->text : "");
    const ynode *ver = ytree_get(root, "version");
    long long v = 0;
    if (ver && cc_get_int(c, ver, "'version'", 0, 1LL << 40, &v) == 0)
        c->g->version = v;
    if (!ytree_get(root, "tasks"))
        diag_add(c->d, root->line, root->col, "missing 'tasks'");
    const ynode *timeout = ytree_get(root, "timeout");
    if (timeout)
        cc_get_duration(c, timeout, "'timeout'", &c->g->timeout_ms);
}

static void hash_workflow(dag *g, const compile_input *in)
{
    hash_ctx h;
    char hex[HASH_HEX_LEN + 1];
    char *params = json_dumps(g->params, JSON_COMPACT | JSON_SORT_KEYS);
    hash_init(&h);
    hash_update(&h, in->text, in->len);
    hash_update(&h, "", 1);
    hash_update(&h, params, strlen(params));
    hash_final_hex(&h, hex);
    free(params);
    g->hash = xstrdup(hex);
}

/* The files the submitted workflow carries (bundled:, key -> text) into c->own_bundle. */
static void compile_bundled(cc *c, const ynode *bn)
{
    c->own_bundle = json_object();
    c->bundle = c->own_bundle;
    if (!bn || !cc_expect(c, bn, YN_MAP, "'bundled'"))
        return;
    for (size_t i = 0; i < bn->n; i++)
        if (cc_expect(c, bn->items[i], YN_SCALAR, "a bundled file"))
            json_object_set_new(c->own_bundle, bn->keys[i]->text,
                                json_string(bn->items[i]->text));
}

dag *compile_workflow(const compile_input *in, diag *d)
{
    return cc_compile(in, d, NULL, NULL);
}

dag *cc_compile(const compile_input *in, diag *d, const char *root_dir, cc_callee *callee)
{
    static const char *const known[] = {"workflow", "version", "description", "doc", "params",
                                        "defaults", "tasks",   "timeout",     "schedule",
                                        "timezone", "notify",   "sla",         "priority",
                                        "concurrency", "limits", "outputs", "bundled", NULL};
    static const char *const known_defaults[] = {"retry", "timeout", "resources", "labels",
                                                 "cache", "pool", "schedule_timeout",
                                                 "heartbeat", NULL};
    if (in->len > COMPILE_MAX_FILE) {
        diag_add(d, 1, 1, "workflow is %zu bytes; the limit is %u bytes", in->len,
                 COMPILE_MAX_FILE);
        return NULL;
    }
    ytree *t = ytree_parse(in->text, in->len, d);
    if (!t)
        return NULL;
    const ynode *root = t->root;
    /* The submitted file's key is its name; its directory is where the files it calls are
     * found. */
    const char *slash = strrchr(in->file, '/');
    char *own_dir = root_dir ? NULL : xstrndup(in->file, slash ? (size_t)(slash - in->file) : 0);
    compile_input keyed = *in;
    compile_budget budget = {COMPILE_MAX_TASKS, 0};
    if (!keyed.key)
        keyed.key = slash ? slash + 1 : in->file;
    if (!keyed.budget)
        keyed.budget = &budget;
    cc c = {.d = d,
            .in = &keyed,
            .types = in->types,
            .task_index = strmap_new(),
            .declared = strmap_new(), .secret_params = strmap_new(),
            .callee = callee, .params_task = -1, .bundle = in->bundle,
            .root_dir = root_dir ? root_dir : own_dir};
    c.g = xcalloc(1, sizeof *c.g);
    c.g->file = xstrdup(in->file);
    task_settings defaults = {.retry = {.max_attempts = 1,
                                        .interval_ms = 1000,
                                        .backoff_rate = 2.0,
                                        .max_delay_ms = 60000,
                                        .on = 1u << ERRC_TRANSIENT | 1u << ERRC_TIMEOUT |
                                              1u << ERRC_CRASH | 1u << ERRC_LOST}};
    if (cc_expect(&c, root, YN_MAP, "a workflow file")) {
        cc_check_keys(&c, root, "the workflow", known);
        if (callee)
            cc_callee_refuse(&c, root);
        compile_header(&c, root);
        cc_compile_limits(&c, root, &defaults.place);
        if (!c.bundle)
            compile_bundled(&c, ytree_get(root, "bundled"));
        cc_compile_params(&c, ytree_get(root, "params"), in);
        if (callee)
            cc_callee_begin(&c);
        const ynode *dn = ytree_get(root, "defaults");
        if (dn && cc_expect(&c, dn, YN_MAP, "'defaults'")) {
            cc_check_keys(&c, dn, "'defaults'", known_defaults);
            compile_settings(&c, dn, &defaults);
        }
        cc_compile_schedule(&c, ytree_get(root, "schedule"), ytree_get(root, "timezone"));
        c.g->schedule_vars = json_is_object(in->schedule_vars)
                                 ? json_deep_copy(in->schedule_vars)
                                 : compile_schedule_vars(c.g->schedule, in->now_s, 0);
        compile_tasks(&c, ytree_get(root, "tasks"), &defaults);
        cc_workflow_outputs(&c, ytree_get(root, "outputs"));
        cc_compile_notify(&c, ytree_get(root, "notify"), ytree_get(root, "sla"));
    }
    c.g->params = c.params ? c.params : json_object();
    strmap_destroy(&c.task_index);
    strmap_destroy(&c.declared);
    strmap_destroy(&c.secret_params);
    cc_free_task_outputs(&c, c.ncompiled);
    cc_free_calls(&c, c.ncompiled);
    json_decref(c.own_bundle);
    free(own_dir);
    free(c.decls);
    free(c.mapped);
    free(c.item_types);
    ytree_free(&t);
    if (diag_count(d)) {
        dag_free(c.g);
        return NULL;
    }
    hash_workflow(c.g, in);
    return c.g;
}

dag *compile_file(const char *path, const typereg *types, const compile_param *params,
                  size_t nparams, diag *d)
{
    char *text;
    size_t len;
    weft_err err = {0};
    if (fs_read_file(path, COMPILE_MAX_FILE, &text, &len, &err) < 0) {
        /* The message already starts with the path; drop it so the position fits in. */
        const char *msg = err.msg;
        size_t pl = strlen(path);
        if (strncmp(msg, path, pl) == 0 && msg[pl] == ':')
            msg += pl + 2;
        diag_add(d, 1, 1, "%s", msg);
        return NULL;
    }
    compile_input in = {.file = path,
                        .text = text,
                        .len = len,
                        .types = types,
                        .params = params,
                        .nparams = nparams,
                        .now_s = (int64_t)time(NULL),
                        .read_calls = 1};
    dag *g = compile_workflow(&in, d);
    free(text);
    return g;
}
