/* compile_place: where and when a task's attempts may run: its resources and labels, its
 * priority, pool and schedule timeout, and the workflow's priority, concurrency and limits
 * (see compile_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"
#include "compiler/compile_int.h"

void cc_compile_resources(cc *c, const ynode *n, cc_place *p)
{
    if (!cc_expect(c, n, YN_MAP, "'resources'"))
        return;
    for (uint32_t i = 0; i < n->n; i++) {
        const ynode *k = n->keys[i], *v = n->items[i];
        uint64_t amount;
        if (!res_name_ok(k->text)) {
            diag_add(c->d, k->line, k->col, "'resources': '%s' is not a resource name "
                     "(lowercase letters, digits, '_', '.' and '-', starting with a letter)",
                     k->text);
            continue;
        }
        if (!cc_expect(c, v, YN_SCALAR, "a resource amount"))
            continue;
        if (res_parse(k->text, v->text, &amount) < 0) {
            diag_add(c->d, v->line, v->col, "'%s': bad amount '%s' (%s)", k->text, v->text,
                     !strcmp(k->text, "cpu")   ? "cores, at most 4096, to a thousandth: 0.5, 2"
                     : !strcmp(k->text, "gpu") ? "whole devices, at most 64, or a share of "
                                                 "one to a thousandth: 2, 0.5"
                     : !strcmp(k->text, "mem") ? "a number and a unit: 512M, 2G"
                                               : "a whole number");
            continue;
        }
        size_t j = 0;
        while (j < p->nres && strcmp(p->res[j].name, k->text))
            j++;
        if (j == RES_MAX) {
            diag_add(c->d, k->line, k->col, "'resources': at most %d resources", RES_MAX);
            continue;
        }
        p->res[j].name = k->text;
        p->res[j].amount = amount;
        if (j == p->nres)
            p->nres++;
    }
}

void cc_compile_labels(cc *c, const ynode *n, cc_place *p)
{
    if (!cc_expect(c, n, YN_MAP, "'labels'"))
        return;
    for (uint32_t i = 0; i < n->n; i++) {
        const ynode *k = n->keys[i], *v = n->items[i];
        if (!cc_expect(c, v, YN_SCALAR, "a label's value"))
            continue;
        char label[RES_LABEL_MAX];
        snprintf(label, sizeof label, "%s=%s", k->text, v->text);
        if (strlen(k->text) >= RES_NAME_MAX || strlen(v->text) >= RES_VALUE_MAX ||
            res_label_ok(label) < 0) {
            diag_add(c->d, k->line, k->col, "'labels': '%s: %s' is not a label (a lowercase "
                     "name, and a value of 1 to 63 characters without spaces)", k->text,
                     v->text);
            continue;
        }
        size_t j = 0;
        while (j < p->nlabels && strcmp(p->labels[j].key, k->text))
            j++;
        if (j == RES_LABELS_MAX) {
            diag_add(c->d, k->line, k->col, "'labels': at most %d labels", RES_LABELS_MAX);
            continue;
        }
        p->labels[j].key = k->text;
        p->labels[j].value = v->text;
        if (j == p->nlabels)
            p->nlabels++;
    }
}

#define PRIORITY_MIN (-1000)
#define PRIORITY_MAX 1000
#define LIMIT_MAX 1000000

/* 1 when n's text is a pool name; else reports it (where: "'pool'", "'limits'"). */
static int pool_name(cc *c, const ynode *n, const char *where)
{
    if (res_name_ok(n->text))
        return 1;
    diag_add(c->d, n->line, n->col, "%s: '%s' is not a pool name (lowercase letters, digits, "
             "'_', '.' and '-', starting with a letter)", where, n->text);
    return 0;
}

/* priority: in n (a task, or the workflow's top level), into p. */
static void get_priority(cc *c, const ynode *n, cc_place *p)
{
    const ynode *f = ytree_get(n, "priority");
    long long v;
    if (f && cc_get_int(c, f, "'priority'", PRIORITY_MIN, PRIORITY_MAX, &v) == 0) {
        p->priority = (int)v;
        p->has_priority = 1;
    }
}

void cc_compile_queueing(cc *c, const ynode *n, cc_place *p)
{
    const ynode *f;
    get_priority(c, n, p);
    if ((f = ytree_get(n, "pool")) && cc_expect(c, f, YN_SCALAR, "'pool'") &&
        pool_name(c, f, "'pool'")) {
        if (!res_has_name(c->g->limits, c->g->nlimits, f->text))
            diag_add(c->d, f->line, f->col, "pool '%s' has no limit (add limits: { %s: N } "
                     "to the workflow)", f->text, f->text);
        else
            p->pool = f;
    }
    if ((f = ytree_get(n, "schedule_timeout")))
        cc_get_duration(c, f, "'schedule_timeout'", &p->schedule_timeout_ms);
}

void cc_compile_limits(cc *c, const ynode *root, cc_place *wf)
{
    const ynode *f;
    long long v;
    get_priority(c, root, wf);
    if ((f = ytree_get(root, "concurrency")) &&
        cc_get_int(c, f, "'concurrency'", 1, LIMIT_MAX, &v) == 0)
        c->g->concurrency = (uint32_t)v;
    f = ytree_get(root, "limits");
    if (!f || !cc_expect(c, f, YN_MAP, "'limits'"))
        return;
    for (uint32_t i = 0; i < f->n; i++) {
        const ynode *k = f->keys[i];
        if (pool_name(c, k, "'limits'") &&
            cc_get_int(c, f->items[i], "a pool's limit", 1, LIMIT_MAX, &v) == 0 &&
            res_set(&c->g->limits, &c->g->nlimits, k->text, (uint64_t)v) < 0) {
            diag_add(c->d, k->line, k->col, "'limits': at most %d pools", RES_MAX);
            return;
        }
    }
}

static int cmp_res(const void *a, const void *b)
{
    return strcmp(((const res_amount *)a)->name, ((const res_amount *)b)->name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void cc_place_task(const cc_place *p, dag *g, dag_task *t)
{
    t->priority = p->priority;
    t->has_priority = p->has_priority;
    t->schedule_timeout_ms = p->schedule_timeout_ms;
    if (p->pool)
        t->pool = xstrdup(p->pool->text);
    for (size_t i = 0; i < p->nres; i++)
        if (p->res[i].amount)
            res_set(&t->res, &t->nres, p->res[i].name, p->res[i].amount);
    if (t->nres)
        qsort(t->res, t->nres, sizeof *t->res, cmp_res);
    t->mem = res_get(t->res, t->nres, "mem");
    if (p->nlabels) {
        t->labels = xcalloc(p->nlabels, sizeof *t->labels);
        for (size_t i = 0; i < p->nlabels; i++)
            t->labels[t->nlabels++] = xasprintf("%s=%s", p->labels[i].key, p->labels[i].value);
        qsort(t->labels, t->nlabels, sizeof *t->labels, cmp_str);
    }
    /* type, then "name=amount" and "key=value", each after a byte no name holds (resources
     * and labels after different ones) */
    size_t len = strlen(t->type) + 1;
    for (size_t i = 0; i < t->nres; i++)
        len += strlen(t->res[i].name) + 23;
    for (size_t i = 0; i < t->nlabels; i++)
        len += strlen(t->labels[i]) + 1;
    len += 16 + (t->pool ? strlen(t->pool) + 1 : 0);
    char *place = xmalloc(len + 1);
    size_t o = (size_t)snprintf(place, len + 1, "%s", t->type);
    for (size_t i = 0; i < t->nres; i++)
        o += (size_t)snprintf(place + o, len + 1 - o, "\x1f%s=%llu", t->res[i].name,
                              (unsigned long long)t->res[i].amount);
    for (size_t i = 0; i < t->nlabels; i++)
        o += (size_t)snprintf(place + o, len + 1 - o, "\x1e%s", t->labels[i]);
    /* Its own priority (the others share the run's) and its pool: a queue's tasks share
     * both, so its head is the one of them to go first. */
    if (t->has_priority)
        o += (size_t)snprintf(place + o, len + 1 - o, "\x1d%d", t->priority);
    if (t->pool)
        snprintf(place + o, len + 1 - o, "\x1c%s", t->pool);
    t->place = dag_intern(g, place);
    free(place);
}
