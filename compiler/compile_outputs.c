/* compile_outputs: a task's `outputs:`, the outputs it declares beyond its type's.
 *
 *   list:
 *     type: shell
 *     with: { argv: [sh, -c, "ls data"], stdout: lines }
 *     outputs: { items: list<string> }
 *
 * Only a type with an input that takes them (WEFT_PORT_OUTPUTS: shell's `outputs`) accepts
 * the field. The declaration ({name: "type"}) becomes that input's value, so the plugin knows
 * what to make and the host checks what it made; and the task's declaration seen by the rest
 * of the compiler gains those outputs, so ${list.outputs.items} is typed (a map can fan out
 * over it). An output made from text cannot be an artifact (file, dir, model, dataset). */
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"
#include "compiler/compile_int.h"
#include "compiler/diag.h"

#define MAX_DECLARED_OUTPUTS 64

/* Copies of n ports, names and docs owned. */
static tt_port *copy_ports(const tt_port *p, size_t n)
{
    tt_port *c = xcalloc(n + 1, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        c[i] = p[i];
        c[i].name = xstrdup(p[i].name);
        c[i].doc = xstrdup(p[i].doc);
    }
    return c;
}

/* d with outputs added: its own ports (see cc_free_decl), its strings borrowed. */
static tt_decl *extend(const tt_decl *d, const ynode *on)
{
    tt_decl *e = xmalloc(sizeof *e);
    *e = *d;
    e->inputs = copy_ports(d->inputs, d->ninputs);
    e->noutputs = d->noutputs + on->n;
    e->outputs = xcalloc(e->noutputs, sizeof *e->outputs);
    for (size_t i = 0; i < d->noutputs; i++) {
        e->outputs[i] = d->outputs[i];
        e->outputs[i].name = xstrdup(d->outputs[i].name);
        e->outputs[i].doc = xstrdup(d->outputs[i].doc);
    }
    for (size_t i = 0; i < on->n; i++) {
        tt_port *p = &e->outputs[d->noutputs + i];
        p->name = xstrdup(on->keys[i]->text);
        p->doc = xstrdup("declared by the task (outputs:)");
        if (wtype_parse(on->items[i]->text, &p->type) < 0)
            p->type = (wtype){WT_ANY, 0};
    }
    return e;
}

/* Checks one `name: type` of on; returns 0 when it may be declared. */
static int check_output(cc *c, int self, const tt_decl *d, const ynode *k, const ynode *v)
{
    const char *task = c->g->tasks[self].name;
    wtype t;
    if (!cc_port_name_ok(k->text)) {
        diag_add(c->d, k->line, k->col, "task '%s': bad output name '%s' (use [a-z0-9_])",
                 task, k->text);
        return -1;
    }
    for (size_t i = 0; i < d->noutputs; i++)
        if (!strcmp(d->outputs[i].name, k->text)) {
            diag_add(c->d, k->line, k->col, "task '%s': type '%s' already has an output '%s'",
                     task, d->name, k->text);
            return -1;
        }
    if (!cc_expect(c, v, YN_SCALAR, "an output's type"))
        return -1;
    if (wtype_parse(v->text, &t) < 0 || t.base == WT_ANY) {
        diag_add(c->d, v->line, v->col, "task '%s': output '%s' has unknown type '%s' (use "
                 "string, int, float, bool, json, duration, size, or list<...> of them)",
                 task, k->text, v->text);
        return -1;
    }
    if (wtype_is_artifact(t) || t.base == WT_BYTES) {
        diag_add(c->d, v->line, v->col, "task '%s': output '%s' cannot be of type '%s': an "
                 "output declared by outputs: is a value, not a file", task, k->text, v->text);
        return -1;
    }
    return 0;
}

void cc_task_outputs(cc *c, int self, const ynode *on)
{
    const tt_decl *d = c->decls[self];
    const char *task = c->g->tasks[self].name;
    if (!on || !d || !cc_expect(c, on, YN_MAP, "'outputs'"))
        return;
    const tt_port *port = tt_outputs_port(d);
    if (!port) {
        char *list = tt_port_list(d->outputs, d->noutputs);
        diag_add(c->d, on->line, on->col, "task '%s': type '%s' has its own outputs (%s) and "
                 "takes no outputs: (shell does, with stdout: json or lines)", task, d->name,
                 list);
        free(list);
        return;
    }
    if (on->n == 0 || on->n > MAX_DECLARED_OUTPUTS) {
        diag_add(c->d, on->line, on->col, "task '%s': 'outputs' declares %u outputs; give 1 to "
                 "%d", task, on->n, MAX_DECLARED_OUTPUTS);
        return;
    }
    int bad = 0;
    for (size_t i = 0; i < on->n; i++)
        bad |= check_output(c, self, d, on->keys[i], on->items[i]) < 0;
    if (bad)
        return;
    json_t *decl = json_object();
    for (size_t i = 0; i < on->n; i++)
        json_object_set_new(decl, on->keys[i]->text, json_string(on->items[i]->text));
    c->task_outputs[self] = decl;
    c->own_decls[self] = extend(d, on);
    c->decls[self] = c->own_decls[self];
}

int cc_outputs_input(cc *c, int self, const tt_port *p, const ynode *k)
{
    if (!p || !p->task_outputs)
        return 0;
    diag_add(c->d, k->line, k->col, "task '%s': input '%s' is set from the task's outputs:, "
             "not in 'with'", c->g->tasks[self].name, k->text);
    return -1;
}

void cc_add_outputs_input(cc *c, int self)
{
    dag_task *t = &c->g->tasks[self];
    if (!c->task_outputs[self])
        return;
    t->input_names = xrealloc(t->input_names, (t->ninputs + 1) * sizeof *t->input_names);
    t->inputs = xrealloc(t->inputs, (t->ninputs + 1) * sizeof *t->inputs);
    dag_value *v = xcalloc(1, sizeof *v);
    v->kind = DV_LIT;
    v->lit = c->task_outputs[self];
    c->task_outputs[self] = NULL;
    t->input_names[t->ninputs] = xstrdup(tt_outputs_port(c->decls[self])->name);
    t->inputs[t->ninputs++] = v;
}

void cc_free_decl(tt_decl *e)
{
    if (!e)
        return;
    for (size_t k = 0; k < e->ninputs; k++) {
        free(e->inputs[k].name);
        free(e->inputs[k].doc);
    }
    for (size_t k = 0; k < e->noutputs; k++) {
        free(e->outputs[k].name);
        free(e->outputs[k].doc);
    }
    free(e->inputs);
    free(e->outputs);
    free(e);
}

void cc_free_task_outputs(cc *c, size_t ntasks)
{
    for (size_t i = 0; c->own_decls && i < ntasks; i++) {
        json_decref(c->task_outputs[i]);
        cc_free_decl(c->own_decls[i]);
    }
    free(c->own_decls);
    free(c->task_outputs);
}
