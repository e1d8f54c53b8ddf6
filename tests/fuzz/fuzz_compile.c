/* fuzz_compile: the workflow compiler, YAML text to a typed DAG (compile_workflow).
 *
 * An input is a workflow file, optionally followed by a NUL byte and -p overrides, one
 * "name=value" per line. Task types are those of the shipped plugins, as weft-executor
 * --describe prints them (types.json; regenerate it when a plugin's ports change). Files
 * are not ingested: file and dir values become pending references, as in `weft validate`.
 *
 * Checked besides memory safety: compile_workflow returns a dag exactly when it reports no
 * error; a dag's topological order is a permutation in which every task comes after its
 * parents, and its parent and child lists mirror each other. A dag is then rendered (dot,
 * Mermaid) and every task's inputs are resolved against stand-in outputs and keyed for the
 * cache, as the scheduler does when a task becomes ready. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "compiler/cachekey.h"
#include "compiler/compile.h"
#include "tests/fuzz/fuzz.h"

#define MAX_PARAMS 16
#define MAX_ELEMS  4 /* elements of a mapped task resolved per input */

/* The registry, loaded on the first input and kept (libFuzzer passes no context). */
static const typereg *types(void)
{
    static typereg *r;
    if (!r) {
        json_error_t e;
        json_t *desc = json_load_file(WEFT_FUZZ_TYPES, 0, &e);
        if (!desc) {
            fprintf(stderr, "fuzz_compile: %s:%d: %s\n", WEFT_FUZZ_TYPES, e.line, e.text);
            abort();
        }
        r = typereg_new();
        WEFT_ASSERT(typereg_add_description(r, desc) > 0);
        json_decref(desc);
    }
    return r;
}

/* Splits "name=value" lines of s (modified in place) into params; returns how many. */
static size_t split_params(char *s, compile_param *params)
{
    size_t n = 0;
    for (char *line = s; line && *line && n < MAX_PARAMS;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            params[n++] = (compile_param){.name = line, .value = eq + 1};
        }
        line = next;
    }
    return n;
}

static void check_graph(const dag *g)
{
    int *pos = xcalloc(g->ntasks + 1, sizeof *pos);
    for (size_t i = 0; i < g->ntasks; i++)
        pos[i] = -1;
    for (size_t k = 0; k < g->ntasks; k++) {
        int t = g->order[k];
        WEFT_ASSERT(t >= 0 && (size_t)t < g->ntasks && pos[t] < 0);
        pos[t] = (int)k;
    }
    for (size_t i = 0; i < g->ntasks; i++) {
        const dag_task *t = &g->tasks[i];
        for (size_t p = 0; p < t->nparents; p++) {
            const dag_task *u = &g->tasks[t->parents[p]];
            WEFT_ASSERT(pos[t->parents[p]] < pos[i]);
            size_t c = 0;
            while (c < u->nchildren && (size_t)u->children[c] != i)
                c++;
            WEFT_ASSERT(c < u->nchildren);
        }
        for (size_t c = 0; c < t->nchildren; c++)
            WEFT_ASSERT(pos[t->children[c]] > pos[i]);
    }
    free(pos);
}

/* Stand-in outputs for task t: each declared output set to a string, or to a list of one
 * for a mapped task. New reference. */
static json_t *standin_outputs(const dag_task *t)
{
    json_t *o = json_object();
    const tt_decl *decl = typereg_find(types(), t->type);
    for (size_t k = 0; decl && k < decl->noutputs; k++) {
        json_t *v = json_string("x");
        if (t->map)
            v = json_pack("[o]", v);
        json_object_set_new(o, decl->outputs[k].name, v);
    }
    return o;
}

static void key_inputs(const dag *g, size_t i, const dag_scope *sc)
{
    char why[512], hex[HASH_HEX_LEN + 1];
    json_t *in = dag_resolve_inputs(g, i, sc, why, sizeof why);
    if (!in)
        return;
    json_t *comp = cachekey_components(g->tasks[i].type, g->tasks[i].type_version,
                                       g->tasks[i].cache_version, NULL, in);
    cachekey_of(comp, hex);
    WEFT_ASSERT(strlen(hex) == HASH_HEX_LEN);
    json_decref(comp);
    json_decref(in);
}

static void resolve_all(const dag *g)
{
    json_t **outputs = xcalloc(g->ntasks + 1, sizeof *outputs);
    for (size_t k = 0; k < g->ntasks; k++) {
        size_t i = (size_t)g->order[k];
        const dag_task *t = &g->tasks[i];
        dag_scope sc = {outputs, NULL, -1, NULL};
        char why[512];
        json_t *items = t->map ? dag_resolve_value(g, t->map, &sc, why, sizeof why) : NULL;
        if (json_is_array(items)) {
            for (size_t e = 0; e < json_array_size(items) && e < MAX_ELEMS; e++) {
                sc.item = json_array_get(items, e);
                sc.index = (int64_t)e;
                key_inputs(g, i, &sc);
            }
        } else if (!t->map) {
            key_inputs(g, i, &sc);
        }
        json_decref(items);
        outputs[i] = standin_outputs(t);
    }
    for (size_t i = 0; i < g->ntasks; i++)
        json_decref(outputs[i]);
    free(outputs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);
    compile_param params[MAX_PARAMS];
    size_t nparams = len < size ? split_params(text + len + 1, params) : 0;

    diag *d = diag_new("fuzz.yaml");
    compile_input in = {.file = "fuzz.yaml",
                        .text = text,
                        .len = len,
                        .types = types(),
                        .params = params,
                        .nparams = nparams};
    dag *g = compile_workflow(&in, d);
    char *errors = diag_render(d);
    WEFT_ASSERT(g ? diag_count(d) == 0 : diag_count(d) > 0 && errors[0] != '\0');
    if (g) {
        check_graph(g);
        free(dag_render_dot(g));
        free(dag_render_mermaid(g));
        resolve_all(g);
    }
    dag_free(g);
    free(errors);
    diag_destroy(&d);
    free(text);
    return 0;
}
