/* Commands that need no scheduler: validate, graph, plugins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/describe.h"
#include "common/fsutil.h"
#include "common/wtype.h"
#include "common/xmem.h"
#include "compiler/typereg.h"

int cli_color(void)
{
    const char *nc = getenv("NO_COLOR");
    return isatty(1) && !(nc && *nc);
}

/* Runs weft-executor --describe on the plugin path. Prints the problem on failure. */
static json_t *describe(const cli_opts *opts)
{
    char *exe = fs_sibling_exe("weft-executor");
    char *path = opts->plugin_path ? xstrdup(opts->plugin_path) : fs_default_plugin_path();
    json_t *desc = NULL;
    weft_err err = {0};
    if (describe_plugins(exe, path, &desc, &err) < 0)
        fprintf(stderr, "weft: cannot list plugins: %s\n", err.msg);
    free(exe);
    free(path);
    return desc;
}

typereg *cli_types(const cli_opts *opts)
{
    json_t *desc = describe(opts);
    if (!desc)
        return NULL;
    typereg *r = typereg_new();
    typereg_add_description(r, desc);
    json_decref(desc);
    return r;
}

dag *cli_compile(cli_opts *o, const char *path, int *rc)
{
    typereg *types = cli_types(o);
    if (!types) {
        *rc = EXIT_USAGE;
        return NULL;
    }
    diag *d = diag_new(path);
    dag *g = compile_file(path, types, o->params, o->nparams, d);
    if (!g) {
        char *errors = diag_render(d);
        fputs(errors, stderr);
        free(errors);
        *rc = EXIT_USAGE;
    }
    diag_destroy(&d);
    typereg_destroy(&types);
    return g;
}

/* Compiles opts->args[0]; prints errors. Returns the dag or NULL (with *rc set). */
static dag *compile_arg(cli_opts *o, int *rc)
{
    if (o->nargs != 1) {
        fprintf(stderr, "weft: expected one workflow file\n");
        *rc = EXIT_USAGE;
        return NULL;
    }
    return cli_compile(o, o->args[0], rc);
}

int cmd_validate(cli_opts *o)
{
    int rc = EXIT_OK;
    dag *g = compile_arg(o, &rc);
    if (!g)
        return rc;
    size_t edges = 0;
    for (size_t i = 0; i < g->ntasks; i++)
        edges += g->tasks[i].nparents;
    if (o->json) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:s, s:O}", "file", g->file, "workflow",
                              g->name, "tasks", (json_int_t)g->ntasks, "edges",
                              (json_int_t)edges, "hash", g->hash, "params", g->params);
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(j);
    } else {
        printf("%s: ok: workflow '%s', %zu tasks, %zu edges\n", g->file, g->name, g->ntasks,
               edges);
    }
    dag_free(g);
    return EXIT_OK;
}

int cmd_graph(cli_opts *o)
{
    if (o->dot == o->mermaid) {
        fprintf(stderr, "weft: graph needs exactly one of --dot or --mermaid\n");
        return EXIT_USAGE;
    }
    int rc = EXIT_OK;
    dag *g = compile_arg(o, &rc);
    if (!g)
        return rc;
    char *out = o->dot ? dag_render_dot(g) : dag_render_mermaid(g);
    fputs(out, stdout);
    free(out);
    dag_free(g);
    return EXIT_OK;
}

/* The widest string field `key` of ports, at least min. */
static int column_width(const json_t *ports, const char *key, int min)
{
    size_t i;
    json_t *p;
    int w = min;
    json_array_foreach(ports, i, p) {
        const char *s = json_string_value(json_object_get(p, key));
        if (s && (int)strlen(s) > w)
            w = (int)strlen(s);
    }
    return w;
}

static void print_ports(const char *label, const json_t *ports)
{
    size_t i;
    json_t *p;
    int wname = column_width(ports, "name", 12), wty = column_width(ports, "type", 12);
    printf("    %s:", label);
    if (!json_array_size(ports))
        printf(" none");
    printf("\n");
    json_array_foreach(ports, i, p) {
        const char *doc = json_string_value(json_object_get(p, "doc"));
        printf("      %-*s %-*s %-10s %s\n", wname, json_string_value(json_object_get(p, "name")),
               wty, json_string_value(json_object_get(p, "type")),
               json_is_true(json_object_get(p, "optional")) ? "(optional)" : "", doc ? doc : "");
    }
}

int cmd_plugins(cli_opts *o)
{
    json_t *desc = describe(o);
    if (!desc)
        return EXIT_USAGE;
    if (o->json) {
        char *s = json_dumps(desc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
    } else {
        size_t i, j;
        json_t *pl, *t, *e;
        json_array_foreach(json_object_get(desc, "plugins"), i, pl) {
            printf("%s %s (%s)\n", json_string_value(json_object_get(pl, "name")),
                   json_string_value(json_object_get(pl, "version")),
                   json_string_value(json_object_get(pl, "path")));
            json_array_foreach(json_object_get(pl, "types"), j, t) {
                printf("  %s (version %s)\n", json_string_value(json_object_get(t, "name")),
                       json_string_value(json_object_get(t, "version")));
                print_ports("inputs", json_object_get(t, "inputs"));
                print_ports("outputs", json_object_get(t, "outputs"));
            }
        }
        json_array_foreach(json_object_get(desc, "errors"), i, e)
            printf("refused: %s\n", json_string_value(json_object_get(e, "message")));
    }
    json_decref(desc);
    return EXIT_OK;
}
