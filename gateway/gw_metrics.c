/* gw_metrics: GET /metrics in Prometheus' text format (version 0.0.4).
 *
 * Three sources: counts over the catalogue (runs, tasks, attempts, cache lookups,
 * notifications, schedules), read as any reader does and limited to the projects the
 * caller's token may use; what only the scheduler knows (ready tasks by type, workers and
 * slots, the queue-wait, dispatch-latency and commit-time histograms), asked for with
 * QUERY_METRICS; and the gateway's own request counters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"
#include "gateway/gw.h"

/* A metric's text as it is built. */
typedef struct out {
    FILE *f;
    char *text;
    size_t len;
} out;

/* Writes v as a label value: backslash, quote and newline escaped. */
static void label_value(FILE *f, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void header(out *o, const char *name, const char *type, const char *help)
{
    fprintf(o->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample of name per row of rows: labels from the row's members named in labels (a
 * NULL-terminated list), value from its member value. */
static void rows_samples(out *o, const char *name, const json_t *rows, const char *const *labels,
                         const char *value)
{
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) {
        const json_t *v = json_object_get(row, value);
        if (!json_is_number(v))
            continue;
        fprintf(o->f, "%s{", name);
        for (int k = 0; labels[k]; k++) {
            const json_t *lv = json_object_get(row, labels[k]);
            fprintf(o->f, "%s%s=\"", k ? "," : "", labels[k]);
            if (json_is_string(lv))
                label_value(o->f, json_string_value(lv));
            else if (json_is_integer(lv))
                fprintf(o->f, "%lld", (long long)json_integer_value(lv));
            fputc('"', o->f);
        }
        fprintf(o->f, "} %.17g\n", json_number_value(v));
    }
}

static void catalogue_metrics(out *o, const json_t *m)
{
    static const char *const run_labels[] = {"project", "workflow", "state", NULL};
    static const char *const attempt_labels[] = {"project", "workflow", "state",
                                                 "error_class", NULL};
    static const char *const cache_labels[] = {"project", "result", NULL};
    static const char *const notif_labels[] = {"project", "state", NULL};
    static const char *const delivery_labels[] = {"project", "outcome", NULL};
    static const char *const schedule_labels[] = {"project", "name", NULL};
    header(o, "weft_runs", "gauge", "Runs in the catalogue by project, workflow and state.");
    rows_samples(o, "weft_runs", json_object_get(m, "runs"), run_labels, "n");
    header(o, "weft_tasks", "gauge", "Tasks of those runs by state (map elements not counted).");
    rows_samples(o, "weft_tasks", json_object_get(m, "tasks"), run_labels, "n");
    header(o, "weft_attempts", "gauge",
           "Attempts by state and error class (empty when none).");
    rows_samples(o, "weft_attempts", json_object_get(m, "attempts"), attempt_labels, "n");
    header(o, "weft_cache_lookups", "gauge",
           "Memoized tasks that succeeded, by whether the cache (or an identical task in "
           "flight) gave their outputs.");
    rows_samples(o, "weft_cache_lookups", json_object_get(m, "cache"), cache_labels, "n");
    header(o, "weft_notifications", "gauge", "Notifications in the outbox by state.");
    rows_samples(o, "weft_notifications", json_object_get(m, "notifications"), notif_labels,
                 "n");
    header(o, "weft_notification_deliveries", "gauge",
           "Delivery attempts of notifications by outcome.");
    rows_samples(o, "weft_notification_deliveries", json_object_get(m, "deliveries"),
                 delivery_labels, "n");
    header(o, "weft_schedule_lag_seconds", "gauge",
           "How late each live schedule's last fire started after its slot.");
    rows_samples(o, "weft_schedule_lag_seconds", json_object_get(m, "schedules"),
                 schedule_labels, "lag_s");
    header(o, "weft_schedule_paused", "gauge", "1 for a paused schedule.");
    rows_samples(o, "weft_schedule_paused", json_object_get(m, "schedules"), schedule_labels,
                 "paused");
}

/* A histogram of histo_json's form as name_bucket / _sum / _count. */
static void histogram(out *o, const char *name, const char *help, const json_t *h)
{
    if (!h)
        return;
    header(o, name, "histogram", help);
    const json_t *bounds = json_object_get(h, "bounds"), *counts = json_object_get(h, "counts");
    json_int_t cum = 0;
    size_t i;
    const json_t *b;
    json_array_foreach(bounds, i, b) {
        cum += json_integer_value(json_array_get(counts, i));
        fprintf(o->f, "%s_bucket{le=\"%g\"} %lld\n", name, json_number_value(b), (long long)cum);
    }
    cum += json_integer_value(json_array_get(counts, json_array_size(bounds)));
    fprintf(o->f, "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %.17g\n%s_count %lld\n", name,
            (long long)cum, name, json_number_value(json_object_get(h, "sum")), name,
            (long long)json_integer_value(json_object_get(h, "count")));
}

static void gauge(out *o, const char *name, const char *help, const json_t *v)
{
    header(o, name, "gauge", help);
    fprintf(o->f, "%s %.17g\n", name, json_is_true(v) ? 1.0 : json_number_value(v));
}

static void scheduler_metrics(out *o, const json_t *m)
{
    gauge(o, "weft_scheduler_up", "1 when the scheduler answered this scrape.",
          m ? json_true() : json_false());
    if (!m)
        return;
    header(o, "weft_ready_tasks", "gauge", "Tasks ready and waiting for a slot, by type.");
    const char *type;
    const json_t *n;
    json_object_foreach((json_t *)json_object_get(m, "ready_by_type"), type, n) {
        fputs("weft_ready_tasks{type=\"", o->f);
        label_value(o->f, type);
        fprintf(o->f, "\"} %lld\n", (long long)json_integer_value(n));
    }
    gauge(o, "weft_workers", "Workers connected.", json_object_get(m, "workers"));
    gauge(o, "weft_slots", "Slots of the connected workers.", json_object_get(m, "slots"));
    gauge(o, "weft_free_slots", "Slots free now.", json_object_get(m, "free_slots"));
    gauge(o, "weft_runs_active", "Runs the scheduler is running.",
          json_object_get(m, "runs_active"));
    gauge(o, "weft_scheduler_degraded", "1 while the scheduler cannot write its catalogue.",
          json_object_get(m, "degraded"));
    histogram(o, "weft_queue_wait_seconds",
              "From a task becoming ready to its dispatch (since the scheduler started).",
              json_object_get(m, "queue_wait"));
    histogram(o, "weft_dispatch_latency_seconds",
              "From a dispatch to the attempt starting on its worker (since the scheduler "
              "started).", json_object_get(m, "dispatch_latency"));
    histogram(o, "weft_catalog_commit_seconds",
              "Each scheduler loop turn's commit of the catalogue (since it started).",
              json_object_get(m, "commit_time"));
    header(o, "weft_catalog_checkpoints_total", "counter",
           "Checkpoints of the catalogue's WAL, by its checkpoint thread or by a commit that "
           "finished one (since the scheduler started).");
    const char *by;
    json_object_foreach((json_t *)json_object_get(m, "checkpoints"), by, n)
        fprintf(o->f, "weft_catalog_checkpoints_total{by=\"%s\"} %lld\n", by,
                (long long)json_integer_value(n));
}

/* The scheduler's metrics (NULL when it does not answer; the scrape still succeeds). */
static json_t *ask_scheduler(gw_req *r)
{
    Weft__QueryRequest q = WEFT__QUERY_REQUEST__INIT;
    q.kind = WEFT__QUERY_KIND__QUERY_METRICS;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_QUERY;
    env.query = &q;
    return gw_sched_ask(r->g, &env, r->token);
}

void gw_metrics(gw_req *r)
{
    catalog *cat = gw_catalog(r);
    if (!cat)
        return;
    char *within = auth_projects_json(&r->peer);
    weft_err err = {0};
    json_t *m = catalog_metrics(cat, within, &err);
    free(within);
    if (!m) {
        gw_weft_error(r, err.code, err.msg);
        return;
    }
    json_t *sm = ask_scheduler(r);
    out o = {0};
    o.f = open_memstream(&o.text, &o.len);
    catalogue_metrics(&o, m);
    scheduler_metrics(&o, sm);
    gw_http_metrics(r->g, o.f);
    fclose(o.f);
    json_decref(m);
    json_decref(sm);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(o.len, o.text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    gw_respond(r, 200, resp);
}
