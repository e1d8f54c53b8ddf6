/* compile_map: map fan-out for the compiler. See compile_int.h.
 *
 *   embed:
 *     type: embed.encode
 *     map: ${chunk.outputs.shards}   # a list: one element per item
 *     max_parallel: 8                # elements running at once (default: no limit)
 *     min_success: 95%               # or a count (default 100%)
 *     with: { shard: ${item}, n: ${index} }
 *
 * A reference to a mapped task's output is the list of its elements' outputs, in order. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"
#include "compiler/compile_int.h"

/* min_success: N | P% */
static void min_success(cc *c, dag_task *t, const ynode *n)
{
    if (!cc_expect(c, n, YN_SCALAR, "'min_success'"))
        return;
    size_t len = strlen(n->text);
    if (len > 1 && n->text[len - 1] == '%') {
        char *end;
        errno = 0;
        double pct = strtod(n->text, &end);
        if (end != n->text + len - 1 || errno || !isfinite(pct) || pct < 0 || pct > 100) {
            diag_add(c->d, n->line, n->col,
                     "'min_success' must be a count or a percentage from 0%% to 100%%, not '%s'",
                     n->text);
            return;
        }
        t->min_success = -1;
        t->min_success_pct = pct;
        return;
    }
    long long v;
    if (cc_get_int(c, n, "'min_success' (a count, or a percentage like 90%)", 0, 1LL << 40,
                   &v) == 0)
        t->min_success = v;
}

void cm_settings(cc *c, int self, const ynode *tn)
{
    static const char *const only_mapped[] = {"max_parallel", "min_success"};
    dag_task *t = &c->g->tasks[self];
    t->min_success = -1;
    t->min_success_pct = 100;
    for (size_t i = 0; i < 2; i++) {
        const ynode *f = ytree_get(tn, only_mapped[i]);
        if (f && !c->mapped[self])
            diag_add(c->d, f->line, f->col, "'%s' applies only to a task with 'map'",
                     only_mapped[i]);
    }
    if (!c->mapped[self])
        return;
    const ynode *f;
    long long v;
    if ((f = ytree_get(tn, "max_parallel")) &&
        cc_get_int(c, f, "'max_parallel'", 1, 1000000, &v) == 0)
        t->max_parallel = (uint32_t)v;
    if ((f = ytree_get(tn, "min_success")))
        min_success(c, t, f);
}

void cm_compile(cc *c, int self, const ynode *tn, int **deps, size_t *ndeps, size_t *capdeps)
{
    const ynode *mn = ytree_get(tn, "map");
    if (!mn)
        return;
    c->in_map = 1;
    c->g->tasks[self].map = cv_compile(c, mn, self, deps, ndeps, capdeps);
    c->in_map = 0;
}

/* The outputs a mapped task's elements declare: each becomes a list. A mirroring type
 * (echo: outputs "*") declares the names of its inputs. */
static void output_names(dag_task *t, const tt_decl *decl)
{
    size_t cap = 0;
    for (size_t i = 0; decl && i < decl->noutputs; i++) {
        const char *name = decl->outputs[i].name;
        size_t n = strcmp(name, "*") ? 1 : t->ninputs;
        for (size_t k = 0; k < n; k++) {
            xgrow(&t->output_names, &cap, t->noutputs + 1, sizeof *t->output_names);
            t->output_names[t->noutputs++] =
                xstrdup(strcmp(name, "*") ? name : t->input_names[k]);
        }
    }
}

void cm_check(cc *c, int self, const ynode *tn)
{
    dag_task *t = &c->g->tasks[self];
    const ynode *mn = ytree_get(tn, "map");
    if (!t->map)
        return;
    char tb[64], what[200];
    if (t->map->kind == DV_EXPR) { /* its errors said where it is written */
        snprintf(what, sizeof what, "task '%s' 'map'", t->name);
        c->self = self;
        cv_check(c, t->map, (wtype){WT_ANY, 0}, mn, what);
    }
    wtype lt = cv_type(c, t->map);
    if (t->map->kind == DV_CONCAT || t->map->kind == DV_MAP ||
        (lt.depth == 0 && lt.base != WT_ANY && lt.base != WT_JSON)) {
        diag_add(c->d, mn->line, mn->col,
                 "task '%s': 'map' must be a list to fan out over, not %s", t->name,
                 t->map->kind == DV_MAP ? "a mapping" : wtype_format(lt, tb, sizeof tb));
        return;
    }
    c->item_types[self] = lt.depth ? (wtype){lt.base, (uint8_t)(lt.depth - 1)}
                                   : (wtype){WT_ANY, 0};
    output_names(t, c->decls[self]);
}
