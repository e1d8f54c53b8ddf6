/* source: where the CLI's queries go: a scheduler (named, or serving the state directory)
 * or the local catalogue in the state directory, read directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "common/xmem.h"

struct source {
    client *cl;
    catalog *cat;
    const cli_opts *o;   /* lists: its filters (project, workflow, status, times, labels) */
};

int source_open(const cli_opts *opts, source **out)
{
    source *s = xcalloc(1, sizeof *s);
    weft_err err = {0};
    client_config cc = {.endpoint = opts->scheduler, .timeout_ms = opts->timeout_ms,
                        .key_file = opts->key_file, .server_key = opts->server_key,
                        .insecure = opts->insecure};
    int rc = opts->scheduler ? client_open(&cc, &s->cl, &err)
                             : catalog_open(opts->state, 1, &s->cat, &err);
    if (rc < 0) {
        if (opts->scheduler)
            fprintf(stderr, "weft: %s\n", err.msg);
        else
            fprintf(stderr,
                    "weft: no local state in %s (%s); use --scheduler to ask a "
                    "scheduler\n",
                    opts->state, err.msg);
        free(s);
        return opts->scheduler && rc == WEFT_EINVAL ? EXIT_USAGE : EXIT_UNREACH;
    }
    s->o = opts;
    *out = s;
    return 0;
}

void source_close(source **sp)
{
    if (!sp || !*sp)
        return;
    client_close(&(*sp)->cl);
    catalog_close(&(*sp)->cat);
    free(*sp);
    *sp = NULL;
}

/* A list request's filters from o; *storage and q->labels are the caller's to free. */
static void list_filters(const cli_opts *o, Weft__QueryRequest *q, Weft__Param **storage)
{
    q->project = (char *)(o->project ? o->project : "");
    q->workflow = (char *)(o->workflow ? o->workflow : "");
    q->state = (char *)(o->status ? o->status : "");
    q->since_us = o->since_us;
    q->until_us = o->until_us;
    q->before_run = o->before;
    q->limit = o->limit;
    q->labels = cli_wire_params(o->labels, o->nlabels, storage);
    q->n_labels = o->nlabels;
    q->schedule = (char *)(o->schedule ? o->schedule : "");
}

/* The list from a local catalogue, with o's filters. */
static json_t *local_list(catalog *cat, const cli_opts *o, weft_err *err)
{
    json_t *labels = json_object();
    for (size_t i = 0; i < o->nlabels; i++)
        json_object_set_new(labels, o->labels[i].name, json_string(o->labels[i].value));
    char *text = o->nlabels ? json_dumps(labels, JSON_COMPACT) : NULL;
    catalog_runs_filter f = {.project = o->project, .workflow = o->workflow,
                             .state = o->status, .since_us = o->since_us,
                             .until_us = o->until_us, .labels = text,
                             .before_run = (int64_t)o->before, .limit = (int)o->limit,
                             .schedule = o->schedule};
    json_t *j = catalog_query_runs(cat, &f, err);
    free(text);
    json_decref(labels);
    return j;
}

json_t *source_query(source *s, Weft__QueryKind kind, uint64_t run, const char *task,
                     uint64_t after_seq, weft_err *err)
{
    if (s->cl) {
        Weft__QueryRequest q = WEFT__QUERY_REQUEST__INIT;
        Weft__Param *labels = NULL;
        q.kind = kind;
        q.run_id = run;
        q.task = (char *)(task ? task : "");
        q.after_seq = after_seq;
        if (kind == WEFT__QUERY_KIND__QUERY_LIST)
            list_filters(s->o, &q, &labels);
        json_t *j = client_query(s->cl, &q, err);
        if (kind == WEFT__QUERY_KIND__QUERY_LIST) {
            free(labels);
            free(q.labels);
        }
        return j;
    }
    switch (kind) {
    case WEFT__QUERY_KIND__QUERY_STATUS:
        if (run && task)
            return catalog_query_run_unit(s->cat, (int64_t)run, task, err);
        if (run)
            return catalog_query_run(s->cat, (int64_t)run, err);
        return catalog_query_runs(s->cat, &(catalog_runs_filter){.limit = 20}, err);
    case WEFT__QUERY_KIND__QUERY_LIST:
        return local_list(s->cat, s->o, err);
    case WEFT__QUERY_KIND__QUERY_LOGS:
        return catalog_query_logs(s->cat, (int64_t)run, task, err);
    case WEFT__QUERY_KIND__QUERY_EVENTS:
        return catalog_query_events(s->cat, (int64_t)run, (int64_t)after_seq, 1000, err);
    case WEFT__QUERY_KIND__QUERY_PROGRESS:
        return catalog_query_progress(s->cat, (int64_t)run, (int64_t)after_seq, 1, err);
    case WEFT__QUERY_KIND__QUERY_NOTIFICATIONS:
        return catalog_query_notifications(s->cat, (int64_t)run, NULL, (int)s->o->limit, err);
    default:
        err_set(err, WEFT_EINVAL, "not available without a scheduler");
        return NULL;
    }
}

json_t *source_log_tail(source *s, uint64_t run, const char *task, uint32_t attempt,
                        uint64_t offset, weft_err *err)
{
    if (!s->cl)
        return catalog_query_log_tail(s->cat, (int64_t)run, task, (int)attempt, offset, err);
    Weft__QueryRequest q = WEFT__QUERY_REQUEST__INIT;
    q.kind = WEFT__QUERY_KIND__QUERY_LOG_TAIL;
    q.run_id = run;
    q.task = (char *)task;
    q.attempt = attempt;
    q.offset = offset;
    return client_query(s->cl, &q, err);
}

json_t *source_run(source *s, uint64_t run, uint32_t max_elements, uint32_t max_tasks,
                   weft_err *err)
{
    if (!s->cl)
        return catalog_query_run_some(s->cat, (int64_t)run, (int)max_elements, (int)max_tasks,
                                      err);
    Weft__QueryRequest q = WEFT__QUERY_REQUEST__INIT;
    q.kind = WEFT__QUERY_KIND__QUERY_STATUS;
    q.run_id = run;
    q.limit = max_elements;
    q.tasks = max_tasks;
    return client_query(s->cl, &q, err);
}

client *source_client(source *s)
{
    return s->cl;
}

/* Opens the scheduler named by o, or else the one serving o->state
 * (ipc://STATE/scheduler.sock). */
int cli_open_scheduler(const cli_opts *o, source **out)
{
    cli_opts so = *o;
    char *ipc = o->scheduler ? NULL : xasprintf("ipc://%s/scheduler.sock", o->state);
    if (ipc)
        so.scheduler = ipc;
    int rc = source_open(&so, out);
    free(ipc);
    if (rc == 0)
        (*out)->o = o; /* so ends here; o outlives the source */
    return rc;
}
