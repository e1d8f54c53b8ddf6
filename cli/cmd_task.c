/* weft task run TYPE [-i name=value]... [-o DIR]: runs one task of a type alone, for plugin
 * development. The inputs become the parameters of a one-task workflow (each typed as the
 * input it feeds, so values are checked and paths stored as for -p), which runs in a local
 * session on the state directory like `weft run`. Prints the task's outputs as JSON and
 * writes its file and directory outputs into DIR (default: the current directory).
 *
 * weft search INDEX QUERY... [-k N]: embed.search run the same way against an index file,
 * or the `index` output of RUN/TASK in the local catalogue; prints the hits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/store.h"
#include "cli/cli.h"
#include "common/fsutil.h"
#include "common/xmem.h"
#include "compiler/typereg.h"

static uint64_t started_run;

static int submit_task(source *s, cli_opts *o, uint64_t *run)
{
    int rc = submit_file(s, o, run);
    started_run = rc ? 0 : *run;
    return rc;
}

/* The one-task workflow; NULL (message printed) when an input is not the type's. */
static char *task_workflow(const tt_decl *t, const cli_opts *o)
{
    char *y = NULL, ty[128];
    size_t len = 0;
    FILE *f = open_memstream(&y, &len);
    if (!f)
        return NULL;
    fprintf(f, "workflow: task-run\nparams:%s\n", o->nparams ? "" : " {}");
    int bad = 0;
    for (size_t i = 0; i < o->nparams && !bad; i++) {
        const char *name = o->params[i].name;
        const tt_port *p = tt_find_port(t->inputs, t->ninputs, name);
        if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name)) {
            fprintf(stderr, "weft: '%s' is not an input name ([a-z0-9_]+)\n", name);
            bad = 1;
        } else if (!p) {
            char *names = tt_port_list(t->inputs, t->ninputs);
            fprintf(stderr, "weft: %s has no input '%s' (its inputs: %s)\n", t->name, name,
                    names);
            free(names);
            bad = 1;
        } else {
            /* A "*" port takes anything: JSON when the value reads as JSON, else a string. */
            json_t *as_json = json_loads(o->params[i].value, JSON_DECODE_ANY, NULL);
            fprintf(f, "  %s: { type: \"%s\" }\n", name,
                    strcmp(p->name, "*") ? wtype_format(p->type, ty, sizeof ty)
                    : as_json            ? "json"
                                         : "string");
            json_decref(as_json);
        }
    }
    fprintf(f, "tasks:\n  task:\n    type: %s\n    with: {", t->name);
    for (size_t i = 0; i < o->nparams; i++)
        fprintf(f, "%s %s: \"${params.%s}\"", i ? "," : "", o->params[i].name,
                o->params[i].name);
    fprintf(f, " }\n");
    if (fclose(f) != 0 || bad) {
        free(y);
        return NULL;
    }
    return y;
}

/* The task of a finished run in the local catalogue (a new reference), or NULL. */
static json_t *local_task(const cli_opts *o, uint64_t run, const char *name)
{
    cli_opts lo = *o;
    lo.scheduler = NULL; /* a session's scheduler has stopped: read the catalogue */
    source *s = NULL;
    weft_err err = {0};
    if (source_open(&lo, &s))
        return NULL;
    json_t *r = source_query(s, WEFT__QUERY_KIND__QUERY_STATUS, run, name, 0, &err);
    json_t *found = json_incref((json_t *)catalog_run_unit(r, name));
    json_decref(r);
    source_close(&s);
    return found;
}

/* Runs one task of type with o's parameters as its inputs; *task is its catalogue entry
 * (NULL when it never ran). Returns the exit code. */
static int run_one(cli_opts *o, const char *type, json_t **task)
{
    *task = NULL;
    typereg *types = cli_types(o);
    if (!types)
        return EXIT_USAGE;
    const tt_decl *t = typereg_find(types, type);
    char *yaml = NULL;
    if (!t)
        fprintf(stderr, "weft: no plugin on the plugin path provides task type '%s' (see "
                "weft plugins)\n", type);
    else
        yaml = task_workflow(t, o);
    typereg_destroy(&types);
    if (!yaml)
        return EXIT_USAGE;
    char *path = xasprintf("%s/task-run-%d.yaml", o->state, (int)getpid());
    FILE *f = fs_private_dir(o->state, NULL) == 0 ? fopen(path, "w") : NULL;
    int written = f && fputs(yaml, f) >= 0;
    int rc = EXIT_USAGE;
    if (f && fclose(f) != 0)
        written = 0;
    if (!written) {
        fprintf(stderr, "weft: cannot write %s: %s\n", path, strerror(errno));
    } else {
        char *args[] = {path};
        cli_opts ro = *o;
        ro.args = args;
        ro.nargs = 1;
        started_run = 0;
        rc = cli_run_checked(&ro, submit_task);
        if (started_run && (rc == EXIT_OK || rc == EXIT_RUN_FAILED))
            *task = local_task(o, started_run, "task");
    }
    unlink(path);
    free(path);
    free(yaml);
    return rc;
}

/* Writes every file or directory among outputs into o->out (default: the current
 * directory) under its own name; an existing path is left alone, with a note. */
static int write_outputs(const cli_opts *o, const json_t *outputs)
{
    char *where = store_location_of_state(o->state);
    store *st = NULL;
    weft_err err = {0};
    int rc = EXIT_OK;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)outputs, k, v) {
        const char *name = cli_str(v, "name");
        if (!artref_hash(v) || (!st && store_open(where, &st, &err) < 0))
            continue;
        char *dest = xasprintf("%s/%s", o->out ? o->out : ".",
                               *name && !strchr(name, '/') && name[0] != '.' ? name : k);
        if (access(dest, F_OK) == 0)
            fprintf(stderr, "weft: output '%s': %s exists; not overwritten\n", k, dest);
        else if (store_export(st, v, dest, &err) < 0)
            rc = cli_exit_for(&err);
        else
            fprintf(stderr, "weft: output '%s' written to %s\n", k, dest);
        free(dest);
    }
    if (err.code && !st)
        rc = cli_exit_for(&err);
    store_close(&st);
    free(where);
    return rc;
}

int cmd_task(cli_opts *o)
{
    if (o->nargs != 2 || strcmp(o->args[0], "run") != 0) {
        fprintf(stderr, "weft: usage: weft task run TYPE [-i name=value]...\n");
        return EXIT_USAGE;
    }
    json_t *task;
    int rc = run_one(o, o->args[1], &task);
    json_t *outputs = json_object_get(task, "outputs");
    if (json_is_object(outputs)) {
        char *text = json_dumps(outputs, JSON_INDENT(2) | JSON_SORT_KEYS);
        puts(text);
        free(text);
        int wrc = write_outputs(o, outputs);
        rc = rc ? rc : wrc;
    }
    json_decref(task);
    return rc;
}

/* INDEX as a path: itself when it is a file, else RUN/TASK's output 'index' in the local
 * catalogue's store (verified there). Caller frees; NULL (message printed) when neither. */
static char *index_path(const cli_opts *o, const char *arg)
{
    if (access(arg, R_OK) == 0)
        return xstrdup(arg);
    char name[128], *path = NULL, *where = store_location_of_state(o->state);
    unsigned long long run;
    json_t *task = sscanf(arg, "%llu/%127s", &run, name) == 2 ? local_task(o, run, name) : NULL;
    const json_t *ref = json_object_get(json_object_get(task, "outputs"), "index");
    store *st = NULL;
    weft_err err = {0};
    if (ref && store_open(where, &st, &err) == 0)
        store_materialize(st, ref, o->state, &path, &err);
    if (!path)
        fprintf(stderr, "weft: '%s' is neither a readable index file nor RUN/TASK naming a "
                "task with an 'index' output in %s%s%s\n", arg, o->state, err.msg[0] ? ": " : "",
                err.msg);
    store_close(&st);
    json_decref(task);
    free(where);
    return path;
}

static void print_hits(const json_t *results)
{
    size_t i, j;
    json_t *r, *h;
    json_array_foreach(results, i, r) {
        printf("%s%s\n", i ? "\n" : "", cli_str(r, "query"));
        json_array_foreach(json_object_get(r, "hits"), j, h)
            printf("  %2zu  %.4f  %s\n", j + 1, json_number_value(json_object_get(h, "score")),
                   cli_str(h, "id"));
    }
}

int cmd_search(cli_opts *o)
{
    if (o->nargs < 2) {
        fprintf(stderr, "weft: usage: weft search INDEX|RUN/TASK QUERY... [-k N] "
                "[-i name=value]...\n");
        return EXIT_USAGE;
    }
    char *path = index_path(o, o->args[0]);
    if (!path)
        return EXIT_USAGE;
    json_t *queries = json_array();
    for (size_t i = 1; i < o->nargs; i++)
        json_array_append_new(queries, json_string(o->args[i]));
    char *qtext = json_dumps(queries, JSON_COMPACT);
    cli_opts so = *o;
    so.params = xcalloc(o->nparams + 2, sizeof *so.params);
    memcpy(so.params, o->params, o->nparams * sizeof *so.params);
    so.params[so.nparams++] = (compile_param){"index", path, "weft search"};
    so.params[so.nparams++] = (compile_param){"queries", qtext, "weft search"};
    so.quiet = 1;
    json_t *task;
    int rc = run_one(&so, "embed.search", &task);
    json_t *results = json_object_get(json_object_get(task, "outputs"), "results");
    if (rc == EXIT_OK && o->json) {
        char *text = json_dumps(results, JSON_INDENT(2));
        puts(text);
        free(text);
    } else if (rc == EXIT_OK) {
        print_hits(results);
    } else if (task) {
        fprintf(stderr, "weft: search failed: %s\n", cli_str(task, "error"));
    }
    json_decref(task);
    free(so.params);
    free(qtext);
    json_decref(queries);
    free(path);
    return rc;
}
