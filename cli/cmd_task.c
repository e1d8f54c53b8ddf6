/* weft task run TYPE [-i name=value]...: runs one task of a type alone, for plugin
 * development. The inputs become the parameters of a one-task workflow (each typed as the
 * input it feeds, so values are checked and paths stored as for -p), which runs in a local
 * session on the state directory like `weft run`. Prints the task's outputs as JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/fsutil.h"
#include "common/xmem.h"
#include "scheduler/typereg.h"

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
    size_t cap = 4096, len = 0;
    char *y = xmalloc(cap), ty[128];
    len += (size_t)snprintf(y + len, cap - len, "workflow: task-run\nparams:%s\n",
                            o->nparams ? "" : " {}");
    for (size_t i = 0; i < o->nparams; i++) {
        const tt_port *p = tt_find_port(t->inputs, t->ninputs, o->params[i].name);
        if (!p) {
            char *names = tt_port_list(t->inputs, t->ninputs);
            fprintf(stderr, "weft: %s has no input '%s' (its inputs: %s)\n", t->name,
                    o->params[i].name, names);
            free(names);
            free(y);
            return NULL;
        }
        /* A "*" port takes anything: JSON when the value reads as JSON, else a string. */
        json_t *as_json = json_loads(o->params[i].value, JSON_DECODE_ANY, NULL);
        const char *type = strcmp(p->name, "*") ? wtype_format(p->type, ty, sizeof ty)
                           : as_json                 ? "json"
                                                     : "string";
        json_decref(as_json);
        size_t need = len + strlen(o->params[i].name) * 2 + strlen(type) + 64;
        if (need > cap)
            y = xrealloc(y, cap = need * 2);
        len += (size_t)snprintf(y + len, cap - len, "  %s: { type: \"%s\" }\n",
                                o->params[i].name, type);
    }
    size_t need = len + strlen(t->name) + 64 + o->nparams * 80;
    for (size_t i = 0; i < o->nparams; i++)
        need += 2 * strlen(o->params[i].name);
    if (need > cap)
        y = xrealloc(y, cap = need);
    len += (size_t)snprintf(y + len, cap - len, "tasks:\n  task:\n    type: %s\n    with: {",
                            t->name);
    for (size_t i = 0; i < o->nparams; i++)
        len += (size_t)snprintf(y + len, cap - len, "%s %s: \"${params.%s}\"", i ? "," : "",
                                o->params[i].name, o->params[i].name);
    snprintf(y + len, cap - len, " }\n");
    return y;
}

static void print_outputs(cli_opts *o, uint64_t run)
{
    cli_opts lo = *o;
    lo.scheduler = NULL; /* the session's scheduler has stopped: read the catalogue */
    source *s = NULL;
    weft_err err = {0};
    if (source_open(&lo, &s))
        return;
    json_t *r = source_query(s, WEFT__QUERY_KIND__QUERY_STATUS, run, NULL, 0, &err);
    json_t *outputs = json_object_get(json_array_get(json_object_get(r, "tasks"), 0), "outputs");
    if (json_is_object(outputs)) {
        char *text = json_dumps(outputs, JSON_INDENT(2) | JSON_SORT_KEYS);
        puts(text);
        free(text);
    }
    json_decref(r);
    source_close(&s);
}

int cmd_task(cli_opts *o)
{
    if (o->nargs != 2 || strcmp(o->args[0], "run") != 0) {
        fprintf(stderr, "weft: usage: weft task run TYPE [-i name=value]...\n");
        return EXIT_USAGE;
    }
    typereg *types = cli_types(o);
    if (!types)
        return EXIT_USAGE;
    const tt_decl *t = typereg_find(types, o->args[1]);
    char *yaml = NULL;
    if (!t)
        fprintf(stderr, "weft: no plugin on the plugin path provides task type '%s' (see "
                "weft plugins)\n", o->args[1]);
    else
        yaml = task_workflow(t, o);
    typereg_destroy(&types);
    if (!yaml)
        return EXIT_USAGE;
    char *path = xasprintf("%s/task-run-%d.yaml", o->state, (int)getpid());
    FILE *f = fs_mkdir_p(o->state, 0755) == 0 ? fopen(path, "w") : NULL;
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
        rc = cli_run_checked(&ro, submit_task);
        if (started_run && (rc == EXIT_OK || rc == EXIT_RUN_FAILED))
            print_outputs(o, started_run);
    }
    unlink(path);
    free(path);
    free(yaml);
    return rc;
}
