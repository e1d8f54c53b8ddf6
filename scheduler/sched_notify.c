/* sched_notify: a workflow's notifications, through an outbox.
 *
 * An event a workflow's `notify:` targets listen for (a run started, succeeded, failed or
 * was cancelled, a task failed after its retries or is retrying, an approval waits for a
 * person, a run missed its `sla:`)
 * becomes one row per target in the catalogue's outbox, written in the turn that records
 * the event, with everything the message says (the failed tasks, their errors and the last
 * lines of their logs). A timer on the scheduler's loop hands what is due to libcurl's
 * multi interface (common/curluv.h): no endpoint, however slow, holds the loop. Each
 * attempt is recorded; a failed one is tried again with exponential backoff (1 s doubling
 * to 5 min) until it is delivered or NOTIFY_GIVE_UP_US after it was queued. A restart
 * resumes what was not delivered: delivery is at least once, each request carrying the
 * notification's key for the receiver to drop repeats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/clock.h"
#include "common/cron.h"
#include "common/curluv.h"
#include "common/errclass.h"
#include "common/log.h"
#include "common/secrets.h"
#include "common/text.h"
#include "common/u64map.h"
#include "common/xmem.h"
#include "scheduler/notify_send.h"
#include "scheduler/sched_int.h"

#define INFLIGHT_MAX 16
#define NOTIFY_GIVE_UP_US (3600ll * 1000000)
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 300000
#define TICK_MS 1000
#define SLA_CHECK_US 1000000
#define LOG_TAIL_LINES 20
#define LOG_TAIL_MAX 4096
#define FAILED_TASKS_MAX 10

struct notifier {
    curluv *http;
    uv_timer_t timer;
    int64_t inflight[INFLIGHT_MAX]; /* ids being delivered (0: a free place) */
    size_t ninflight;
    int64_t sla_checked_us;
    u64map *sla_late;        /* runs whose sla_missed is queued (a run -> 1) */
    const char *secrets_dir;
    const secret_set *env_secrets;
};

/* One delivery under way. */
typedef struct delivery {
    sched *s;
    char *key;       /* the row's key: a row id alone may be reissued after a rollback */
    int64_t id, created_us, started_us;
    int number;
    notify_request req;
} delivery;

/* ---- events into the outbox ---- */

/* The last LOG_TAIL_LINES lines (at most LOG_TAIL_MAX bytes) of task's last attempt's log
 * in run: only its end is read. */
static json_t *log_tail(sched *s, uint64_t run, const char *task)
{
    weft_err err = {0};
    int attempt = catalog_last_attempt(s->cat, (int64_t)run, task);
    int64_t size = catalog_log_size(s->cat, (int64_t)run, task, attempt);
    json_t *t = catalog_query_log_tail(s->cat, (int64_t)run, task, attempt,
                                       size > LOG_TAIL_MAX ? (uint64_t)(size - LOG_TAIL_MAX) : 0,
                                       &err);
    const char *log = json_string_value(json_object_get(t, "data"));
    json_t *out = NULL;
    if (log)
        out = json_string(log + text_tail(log, strlen(log), LOG_TAIL_LINES, LOG_TAIL_MAX));
    json_decref(t);
    return out ? out : json_string("");
}

static json_t *task_json(sched *s, uint64_t run, const char *name, const char *cls,
                         const char *message)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "task", name, "class", cls ? cls : "",
                     "message", message ? message : "", "log_tail", log_tail(s, run, name));
}

/* The failed tasks and elements of run (at most FAILED_TASKS_MAX). */
static json_t *failed_tasks(sched *s, uint64_t run, const json_t *tasks)
{
    json_t *out = json_array();
    size_t i, k;
    const json_t *t, *e;
    json_array_foreach(tasks, i, t) {
        const json_t *elems = json_object_get(t, "elements");
        const json_t *units = elems ? elems : json_pack("[O]", t);
        json_array_foreach(units, k, e) {
            const char *st = json_string_value(json_object_get(e, "state"));
            if (json_array_size(out) < FAILED_TASKS_MAX && st && !strcmp(st, "failed"))
                json_array_append_new(
                    out, task_json(s, run, json_string_value(json_object_get(e, "name")),
                                   json_string_value(json_object_get(e, "error_class")),
                                   json_string_value(json_object_get(e, "error"))));
        }
        if (!elems)
            json_decref((json_t *)units);
    }
    return out;
}

static json_t *time_json(const json_t *us)
{
    char buf[64];
    if (!json_is_integer(us))
        return json_string("");
    return json_string(cron_format(json_integer_value(us) / 1000000, NULL, buf, sizeof buf));
}

/* What happened, for every target (task: the task's object for task events, consumed). */
static json_t *payload_of(sched *s, uint64_t run, const char *event, const char *key,
                          json_t *task)
{
    weft_err err = {0};
    int failed = !strcmp(event, "failed"); /* only then are its tasks read */
    json_t *r = failed ? catalog_query_run_some(s->cat, (int64_t)run, FAILED_TASKS_MAX,
                                              FAILED_TASKS_MAX, &err)
                       : catalog_query_run_row(s->cat, (int64_t)run, &err);
    if (!r) {
        json_decref(task);
        return NULL;
    }
    json_t *p = json_pack("{s:s, s:s, s:O, s:O, s:I, s:O, s:s, s:o, s:o, s:O}", "event", event,
                          "key", key, "workflow", json_object_get(r, "workflow"), "project",
                          json_object_get(r, "project"), "run", (json_int_t)run, "state",
                          json_object_get(r, "state"), "error",
                          json_string_value(json_object_get(r, "error"))
                              ? json_string_value(json_object_get(r, "error"))
                              : "",
                          "created", time_json(json_object_get(r, "created_us")), "finished",
                          time_json(json_object_get(r, "finished_us")), "labels",
                          json_object_get(r, "labels"));
    if (json_is_string(json_object_get(r, "schedule")))
        json_object_set_new(p, "schedule", json_pack(
            "{s:O, s:O}", "name", json_object_get(r, "schedule"), "time",
            json_object_get(json_object_get(r, "schedule_vars"), "time")));
    if (task)
        json_object_set_new(p, "task", task);
    if (failed) {
        json_object_set_new(p, "failed_tasks", failed_tasks(s, run, json_object_get(r, "tasks")));
        char retry[64];
        snprintf(retry, sizeof retry, "weft retry %llu", (unsigned long long)run);
        json_object_set_new(p, "retry", json_string(retry));
    }
    json_decref(r);
    return p;
}

static int listens(const json_t *target, const char *event)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(target, "on"), i, e)
        if (!strcmp(json_string_value(e), event))
            return 1;
    return 0;
}

void sched_notify_event(sched *s, const dag *g, uint64_t run, const char *event,
                        const sched_notify_task *task)
{
    if (!g || !g->notify)
        return;
    size_t i;
    const json_t *t;
    int any = 0;
    json_array_foreach(g->notify, i, t)
        any |= listens(t, event);
    if (!any)
        return;
    char key[400];
    if (task)
        snprintf(key, sizeof key, "run-%llu-%s-%s-%lld", (unsigned long long)run, event,
                 task->name, (long long)task->seq);
    else
        snprintf(key, sizeof key, "run-%llu-%s", (unsigned long long)run, event);
    json_t *tj = task ? task_json(s, run, task->name, task->errclass, task->message) : NULL;
    json_t *payload = payload_of(s, run, event, key, tj);
    if (!payload)
        return;
    char *text = json_dumps(payload, JSON_COMPACT);
    int64_t now = clock_wall_us();
    json_array_foreach(g->notify, i, t) {
        if (!listens(t, event))
            continue;
        char tkey[sizeof key + 24];
        snprintf(tkey, sizeof tkey, "%s#%zu", key, i);
        char *target = json_dumps(t, JSON_COMPACT);
        catalog_notification n = {.key = tkey, .run = (int64_t)run,
                                  .project = json_string_value(json_object_get(payload,
                                                                               "project")),
                                  .event = event, .target = target, .payload = text};
        if (catalog_put_notification(s->cat, &n, now) == 1)
            log_info("run %llu: %s notification queued for %s", (unsigned long long)run, event,
                     json_string_value(json_object_get(t, "type")));
        free(target);
    }
    free(text);
    json_decref(payload);
    sched_notify_kick(s);
}

/* Runs past their sla: each gets its sla_missed once (the key sees to that; the set of
 * late runs spares the catalogue the asking). */
static void check_slas(sched *s, int64_t now)
{
    struct notifier *nt = s->notifier;
    if (now - nt->sla_checked_us < SLA_CHECK_US)
        return;
    nt->sla_checked_us = now;
    weft_err err = {0};
    json_t *runs = catalog_query_open_runs(s->cat, &err);
    size_t i;
    const json_t *r;
    u64map *late = u64map_new();
    json_array_foreach(runs, i, r) {
        uint64_t id = (uint64_t)json_integer_value(json_object_get(r, "id"));
        const dag *g = core_run_dag(s->core, id);
        if (!g || !g->sla_ms ||
            now <= json_integer_value(json_object_get(r, "created_us")) + g->sla_ms * 1000)
            continue;
        if (!u64map_get(nt->sla_late, id))
            sched_notify_event(s, g, id, "sla_missed", NULL);
        u64map_put(late, id, (void *)1);
    }
    json_decref(runs);
    u64map_destroy(&nt->sla_late); /* forgets the runs that ended */
    nt->sla_late = late;
}

/* ---- delivery ---- */

/* Whose secrets a delivery may read: its run's project's. */
typedef struct secret_scope {
    const struct notifier *nt;
    const char *project;
} secret_scope;

/* A notification's secret: from the project's own directory, DIR/PROJECT/NAME; the
 * variables --secret-env allows serve the default project only. */
static char *read_secret(void *ud, const char *name, char *why, size_t n)
{
    const secret_scope *sc = ud;
    int deflt = !strcmp(sc->project, CATALOG_DEFAULT_PROJECT);
    char *dir = sc->nt->secrets_dir && auth_project_name_ok(sc->project)
                    ? xasprintf("%s/%s", sc->nt->secrets_dir, sc->project)
                    : NULL;
    char where[120];
    snprintf(where, sizeof where, "the scheduler for project '%s'", sc->project);
    char *v = secrets_read(dir, deflt ? sc->nt->env_secrets : NULL, name, where, why, n);
    free(dir);
    return v;
}

static int inflight_has(const struct notifier *nt, int64_t id)
{
    for (size_t i = 0; i < INFLIGHT_MAX; i++)
        if (nt->inflight[i] == id)
            return 1;
    return 0;
}

static void inflight_set(struct notifier *nt, int64_t from, int64_t to)
{
    for (size_t i = 0; i < INFLIGHT_MAX; i++)
        if (nt->inflight[i] == from) {
            nt->inflight[i] = to;
            nt->ninflight += to ? 1 : -1;
            return;
        }
}

/* Records attempt d->number: delivered (why NULL), or tried again later, or given up. */
static void record(sched *s, const delivery *d, long status, const char *why)
{
    int64_t now = clock_wall_us();
    int64_t wait_ms = BACKOFF_FIRST_MS;
    for (int i = 1; i < d->number && wait_ms < BACKOFF_MAX_MS; i++)
        wait_ms *= 2;
    if (wait_ms > BACKOFF_MAX_MS)
        wait_ms = BACKOFF_MAX_MS;
    const char *state = !why ? "delivered"
                        : now + wait_ms * 1000 - d->created_us > NOTIFY_GIVE_UP_US ? "failed"
                                                                                   : "pending";
    catalog_delivery cd = {.id = d->id, .key = d->key, .number = d->number,
                           .started_us = d->started_us,
                           .finished_us = now, .status = status, .error = why, .state = state,
                           .next_us = now + wait_ms * 1000};
    catalog_record_delivery(s->cat, &cd);
    if (why)
        log_warn("notification %lld, attempt %d: %s%s", (long long)d->id, d->number, why,
                 !strcmp(state, "failed") ? "; given up" : "");
    else
        log_info("notification %lld delivered (attempt %d)", (long long)d->id, d->number);
}

static void on_delivered(void *ud, CURL *easy, CURLcode rc)
{
    (void)easy;
    delivery *d = ud;
    sched *s = d->s;
    char why[CURL_ERROR_SIZE + 64];
    long status = 0;
    /* Aborted: the scheduler is stopping; the next one delivers it. */
    if (rc != CURLE_ABORTED_BY_CALLBACK && !s->degraded) {
        int ok = notify_request_outcome(&d->req, rc, &status, why, sizeof why) == 0;
        record(s, d, status, ok ? NULL : why);
    }
    inflight_set(s->notifier, d->id, 0);
    notify_request_free(&d->req);
    free(d->key);
    free(d);
    if (!s->stopping)
        sched_notify_kick(s);
}

static void deliver(sched *s, const json_t *row, int64_t now)
{
    struct notifier *nt = s->notifier;
    delivery *d = xcalloc(1, sizeof *d);
    d->s = s;
    d->id = json_integer_value(json_object_get(row, "id"));
    d->created_us = json_integer_value(json_object_get(row, "created_us"));
    d->number = (int)json_integer_value(json_object_get(row, "attempts")) + 1;
    d->started_us = now;
    d->key = xstrdup(json_string_value(json_object_get(row, "key")));
    char why[400];
    secret_scope scope = {.nt = nt, .project = json_string_value(json_object_get(row,
                                                                                 "project"))};
    if (!scope.project)
        scope.project = "";
    if (notify_request_make(&d->req, json_object_get(row, "target"),
                            json_object_get(row, "payload"),
                            json_string_value(json_object_get(row, "key")), now / 1000000,
                            read_secret, &scope, why, sizeof why) < 0) {
        record(s, d, 0, why);
        free(d->key);
        free(d);
        return;
    }
    inflight_set(nt, 0, d->id);
    if (curluv_add(nt->http, d->req.easy, on_delivered, d) < 0) {
        inflight_set(nt, d->id, 0);
        record(s, d, 0, "libcurl refused the transfer");
        notify_request_free(&d->req);
        free(d->key);
        free(d);
    }
}

static void on_tick(uv_timer_t *t)
{
    sched *s = t->data;
    struct notifier *nt = s->notifier;
    int64_t now = clock_wall_us();
    uint64_t wait = TICK_MS;
    if (!s->degraded) {
        weft_err err = {0};
        json_t *due = catalog_due_notifications(s->cat, now, INFLIGHT_MAX * 2, &err);
        size_t i;
        const json_t *r;
        json_array_foreach(due, i, r)
            if (nt->ninflight < INFLIGHT_MAX &&
                !inflight_has(nt, json_integer_value(json_object_get(r, "id"))))
                deliver(s, r, now);
        json_decref(due);
        int64_t next = catalog_next_notification_us(s->cat);
        if (next > now && (next - now) / 1000 < TICK_MS)
            wait = (uint64_t)((next - now) / 1000) + 1;
        /* Last: what it queues is sent in a later turn, once this one has committed. */
        check_slas(s, now);
    }
    uv_timer_start(&nt->timer, on_tick, wait, 0);
}

void sched_notify_kick(sched *s)
{
    /* 1 ms, not 0: a timer due now would run in this very timer phase, before the turn
     * that queued the notification commits. */
    if (s->notifier)
        uv_timer_start(&s->notifier->timer, on_tick, 1, 0);
}

int sched_notify_open(sched *s, const sched_config *cfg)
{
    struct notifier *nt = xcalloc(1, sizeof *nt);
    nt->http = curluv_new(&s->loop);
    if (!nt->http) {
        free(nt);
        return -1;
    }
    nt->sla_late = u64map_new();
    nt->secrets_dir = cfg->secrets_dir;
    nt->env_secrets = cfg->env_secrets;
    uv_timer_init(&s->loop, &nt->timer);
    nt->timer.data = s;
    s->notifier = nt;
    sched_notify_kick(s);
    return 0;
}

static void free_notifier(uv_handle_t *h)
{
    sched *s = h->data;
    u64map_destroy(&s->notifier->sla_late);
    free(s->notifier);
    s->notifier = NULL;
}

void sched_notify_close(sched *s)
{
    if (!s->notifier)
        return;
    curluv_destroy(&s->notifier->http);
    uv_timer_stop(&s->notifier->timer);
    uv_close((uv_handle_t *)&s->notifier->timer, free_notifier);
}
