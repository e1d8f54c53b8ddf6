/* Commands about runs: submit, status, list, logs, and following a run's progress. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/upload.h"
#include "cli/cli.h"
#include "common/strmap.h"
#include "common/text.h"
#include "common/units.h"
#include "common/xmem.h"
#include "compiler/bundle.h"

#define LOG_TAIL_LINES 20
#define ELEMENTS_SHOWN 20 /* elements a run summary or status lists per mapped task */
#define SUMMARY_TASKS 20  /* a run summary names this many failed tasks at most */
#define STATUS_TASKS 1000 /* status lists every task of a run this large; of a larger one,
                           * this many of those that did not succeed */

int cli_exit_for(const weft_err *err)
{
    char *safe = cli_terminal_safe(err->msg);
    fprintf(stderr, "weft: %s\n", safe ? safe : err->msg);
    free(safe);
    return err->code == WEFT_EUNREACH || err->code == WEFT_EUNAVAIL ? EXIT_UNREACH
           : err->code == WEFT_EDENIED                               ? EXIT_DENIED
                                                                      : EXIT_USAGE;
}

const char *cli_request_key(const cli_opts *o, char buf[33])
{
    if (o->idempotency_key)
        return o->idempotency_key;
    client_new_key(buf);
    return buf;
}

int cli_refused(const Weft__Reply *r)
{
    char *safe = cli_terminal_safe(r->error);
    const char *e = safe ? safe : r->error;
    if (*e && e[strlen(e) - 1] == '\n')
        fputs(e, stderr);
    else
        fprintf(stderr, "weft: %s\n", e);
    free(safe);
    return r->code == WEFT_EUNAVAIL ? EXIT_UNREACH
           : r->code == WEFT_EDENIED ? EXIT_DENIED
                                     : EXIT_USAGE;
}

void cli_print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    puts(s);
    free(s);
}

const char *cli_paint(const char *state)
{
    if (!cli_color())
        return "";
    if (!strcmp(state, "succeeded"))
        return "\033[32m";
    if (!strcmp(state, "failed"))
        return "\033[31m";
    if (!strcmp(state, "running") || !strcmp(state, "retry_wait") || !strcmp(state, "waiting"))
        return "\033[33m";
    return "\033[2m";
}

const char *cli_reset(void)
{
    return cli_color() ? "\033[0m" : "";
}

static json_int_t geti(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

const char *cli_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* How many bytes at p form a control character a terminal would act on: C0 but newline
 * and tab, DEL, and the C1 controls (U+0080..U+009F, in UTF-8 0xC2 0x80..0x9F); 0 else. */
static int control_at(const unsigned char *p)
{
    if ((p[0] < 0x20 && p[0] != '\n' && p[0] != '\t') || p[0] == 0x7f)
        return 1;
    return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f ? 2 : 0;
}

char *cli_terminal_safe(const char *s)
{
    size_t bad = 0, len = strlen(s);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        bad += control_at(p) != 0;
    if (!bad)
        return NULL;
    char *out = xmalloc(len + 6 * bad + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = control_at(p);
        for (int k = 0; k < n; k++)
            o += snprintf(o, 5, "\\x%02x", p[k]);
        if (!n)
            *o++ = (char)*p;
        p += n ? n : 1;
    }
    *o = '\0';
    return out;
}

/* Replaces string v (in its container) by its terminal-safe copy, if it needs one; else
 * descends into it. */
static json_t *safe_value(json_t *v)
{
    char *safe = json_is_string(v) ? cli_terminal_safe(json_string_value(v)) : NULL;
    if (!safe) {
        cli_for_terminal(v);
        return NULL;
    }
    json_t *copy = json_string(safe);
    free(safe);
    return copy;
}

void cli_for_terminal(json_t *j)
{
    size_t i;
    const char *k;
    json_t *v, *copy;
    if (json_is_array(j))
        json_array_foreach(j, i, v)
        {
            if ((copy = safe_value(v)))
                json_array_set_new(j, i, copy);
        }
    else if (json_is_object(j))
        json_object_foreach(j, k, v)
        {
            if ((copy = safe_value(v)))
                json_object_set_new(j, k, copy);
        }
}

static char *span(json_int_t from_us, json_int_t to_us, char *buf, size_t n)
{
    if (!from_us || !to_us)
        snprintf(buf, n, "-");
    else
        units_format_ms((to_us - from_us) / 1000, buf, n);
    return buf;
}

/* What the last attempt of task t used: its CPU time and peak memory ("-" when not
 * measured), into cpu and mem. */
static void last_usage(const json_t *t, char *cpu, size_t ncpu, char *mem, size_t nmem)
{
    const json_t *list = json_object_get(t, "attempt_list");
    const json_t *a = json_array_get(list, json_array_size(list) - 1);
    snprintf(cpu, ncpu, "-");
    snprintf(mem, nmem, "-");
    if (!json_is_integer(json_object_get(a, "cpu_us")))
        return;
    units_format_ms(geti(a, "cpu_us") / 1000, cpu, ncpu);
    if (geti(a, "peak_mem_bytes"))
        units_format_bytes((uint64_t)geti(a, "peak_mem_bytes"), mem, nmem);
}

/* Elements of a mapped task the run summary names: neither succeeded nor waiting. */
static int element_notable(const char *state)
{
    return strcmp(state, "succeeded") && strcmp(state, "pending") && strcmp(state, "ready");
}

/* Lists up to max elements of a mapped task t that failed (or were cancelled, or run), of
 * those its answer lists; its counts say how many there are. */
static void print_failed_elements(const json_t *t, uint64_t run, size_t max)
{
    size_t i, shown = 0, nbad = 0;
    const char *st;
    json_t *e;
    json_object_foreach(json_object_get(t, "element_counts"), st, e)
        if (element_notable(st))
            nbad += (size_t)json_integer_value(e);
    json_array_foreach(json_object_get(t, "elements"), i, e) {
        st = cli_str(e, "state");
        if (!element_notable(st) || shown >= max)
            continue;
        shown++;
        printf("    %s %s (%s, attempt %lld): %s\n      see: weft logs %lld '%s'\n",
               cli_str(e, "name"), st, cli_str(e, "error_class"), (long long)geti(e, "attempts"),
               cli_str(e, "error"), (long long)run, cli_str(e, "name"));
    }
    if (nbad > shown)
        printf("    ... and %zu more (weft status %lld)\n", nbad - shown, (long long)run);
}

/* "N elements: a succeeded, b failed, ..." for a mapped task's row (from its counts). */
static void element_summary(const json_t *t, char *buf, size_t n)
{
    static const char *const states[] = {"succeeded", "failed", "cancelled", "running",
                                         "retry_wait", "ready", "pending"};
    const json_t *counts = json_object_get(t, "element_counts");
    size_t off = (size_t)snprintf(buf, n, "%lld elements:", (long long)geti(t, "elements_total"));
    for (size_t k = 0, first = 1; k < 7 && off < n; k++) {
        json_int_t c = json_integer_value(json_object_get(counts, states[k]));
        if (c) {
            off += (size_t)snprintf(buf + off, n - off, "%s %lld %s", first ? "" : ",",
                                    (long long)c, states[k]);
            first = 0;
        }
    }
}

/* The last LOG_TAIL_LINES lines of task's last attempt's log, indented. */
static void print_log_tail(source *s, uint64_t run, const char *task)
{
    weft_err err = {0};
    json_t *logs = source_query(s, WEFT__QUERY_KIND__QUERY_LOGS, run, task, 0, &err);
    size_t n = json_array_size(logs);
    const char *log = n ? cli_str(json_array_get(logs, n - 1), "log") : "";
    char *safe = cli_terminal_safe(log);
    const char *text = safe ? safe : log, *end = text + strlen(text);
    const char *from = text + text_tail(text, (size_t)(end - text), LOG_TAIL_LINES, SIZE_MAX);
    while (end > from && end[-1] == '\n')
        end--;
    if (end > from)
        printf("    last lines of its log:\n");
    while (from < end) {
        const char *nl = memchr(from, '\n', (size_t)(end - from));
        const char *stop = nl ? nl : end;
        printf("    | %.*s\n", (int)(stop - from), from);
        from = nl ? nl + 1 : end;
    }
    free(safe);
    json_decref(logs);
}

/* The run's tasks in state: its task_counts, or the tasks it lists (a scheduler that
 * predates task_counts lists every one). */
static size_t tasks_in(const json_t *r, const char *state)
{
    const json_t *counts = json_object_get(r, "task_counts"), *t;
    if (counts)
        return (size_t)json_integer_value(json_object_get(counts, state));
    size_t i, n = 0;
    json_array_foreach(json_object_get(r, "tasks"), i, t)
        n += !strcmp(cli_str(t, "state"), state);
    return n;
}

/* When r lists only some of its tasks: "N more tasks, not listed: a succeeded, b pending",
 * and why those of them that wait for a worker do. */
static void print_unlisted(const json_t *r)
{
    const json_t *tasks = json_object_get(r, "tasks"), *t;
    json_t *rest = json_deep_copy(json_object_get(r, "task_counts"));
    strmap *listed = strmap_new();
    size_t i, more = 0;
    json_array_foreach(tasks, i, t) {
        json_t *n = json_object_get(rest, cli_str(t, "state"));
        if (n) /* read beside a scheduler, a count can lag the listing: never below 0 */
            json_integer_set(n, json_integer_value(n) > 0 ? json_integer_value(n) - 1 : 0);
        strmap_put(listed, cli_str(t, "name"), (void *)1);
    }
    const char *k;
    json_t *n;
    json_object_foreach(rest, k, n)
        more += (size_t)json_integer_value(n);
    if (more) {
        printf("... %zu more tasks, not listed:", more);
        int first = 1;
        json_object_foreach(rest, k, n)
            if (json_integer_value(n)) {
                printf("%s %lld %s", first ? "" : ",", (long long)json_integer_value(n), k);
                first = 0;
            }
        printf(" (weft status %lld --json lists every one)\n", (long long)geti(r, "id"));
    }
    json_object_foreach(json_object_get(r, "waiting"), k, n)
        if (!strmap_get(listed, k))
            printf("%s waiting: %s\n", k, json_string_value(n));
    strmap_destroy(&listed);
    json_decref(rest);
}

void print_run_summary(source *s, uint64_t run)
{
    weft_err err = {0};
    json_t *r = source_run(s, run, ELEMENTS_SHOWN, SUMMARY_TASKS, &err);
    if (!r)
        return;
    cli_for_terminal(r);
    size_t i, nsucc = tasks_in(r, "succeeded"), nskip = tasks_in(r, "skipped");
    size_t shown = 0;
    json_t *t;
    char dur[32], skipped[48] = "";
    if (nskip && !strcmp(cli_str(r, "state"), "succeeded"))
        snprintf(skipped, sizeof skipped, " (%zu skipped)", nskip);
    const char *state = cli_str(r, "state");
    printf("run %lld %s%s%s: %zu/%lld tasks succeeded%s in %s\n", (long long)run,
           cli_paint(state), state, cli_reset(), nsucc, (long long)geti(r, "ntasks"), skipped,
           span(geti(r, "created_us"), geti(r, "finished_us"), dur, sizeof dur));
    json_array_foreach(json_object_get(r, "tasks"), i, t)
    {
        if (strcmp(cli_str(t, "state"), "failed") != 0)
            continue;
        shown++;
        if (json_object_get(t, "element_counts")) {
            printf("  %s failed (%s): %s\n", cli_str(t, "name"), cli_str(t, "error_class"),
                   cli_str(t, "error"));
            print_failed_elements(t, run, 10);
            continue;
        }
        if (!geti(t, "attempts")) { /* decided without running: an approval, a when */
            printf("  %s failed (%s): %s\n", cli_str(t, "name"), cli_str(t, "error_class"),
                   cli_str(t, "error"));
            continue;
        }
        printf("  %s failed (%s, attempt %lld): %s\n", cli_str(t, "name"),
               cli_str(t, "error_class"), (long long)geti(t, "attempts"), cli_str(t, "error"));
        print_log_tail(s, run, cli_str(t, "name"));
        printf("    see: weft logs %lld %s\n", (long long)run, cli_str(t, "name"));
    }
    size_t nfailed = tasks_in(r, "failed");
    if (nfailed > shown)
        printf("  ... and %zu more failed (weft status %lld)\n", nfailed - shown,
               (long long)run);
    const char *name;
    json_object_foreach(json_object_get(r, "waiting"), name, t)
        printf("  %s waiting: %s\n", name, json_string_value(t));
    json_decref(r);
}

/* ---- submit ---- */

Weft__Param **cli_wire_params(const compile_param *pairs, size_t n, Weft__Param **storage)
{
    Weft__Param *params = xcalloc(n + 1, sizeof *params);
    Weft__Param **pp = xcalloc(n + 1, sizeof *pp);
    for (size_t i = 0; i < n; i++) {
        weft__param__init(&params[i]);
        params[i].name = (char *)pairs[i].name;
        params[i].value = (char *)pairs[i].value;
        pp[i] = &params[i];
    }
    *storage = params;
    return pp;
}

int submit_file(source *s, const cli_opts *o, uint64_t *run)
{
    Weft__SubmitRequest now = WEFT__SUBMIT_REQUEST__INIT;
    return cli_submit(s, o, o->args[0], &now, run, NULL);
}

int cli_submit(source *s, const cli_opts *o, const char *path, const Weft__SubmitRequest *how,
               uint64_t *run, json_t **answer)
{
    size_t len;
    weft_err err = {0};
    char why[WEFT_ERR_MSG_MAX];
    /* The workflow with the files it calls (bundle.h): the scheduler reads no file. */
    char *text = compile_bundle(path, &len, why, sizeof why);
    if (!text) {
        fprintf(stderr, "%s:1:1: %s\n", path, why);
        return EXIT_USAGE;
    }
    Weft__Param *params;
    Weft__Param **pp = cli_wire_params(o->params, o->nparams, &params);
    Weft__SubmitRequest rq = *how;
    rq.file_name = (char *)path;
    rq.yaml = text;
    rq.params = pp;
    rq.n_params = o->nparams;
    char *cwd = getcwd(NULL, 0), key[33];
    rq.cwd = cwd ? cwd : "";
    rq.idempotency_key = (char *)cli_request_key(o, key);
    rq.project = (char *)(o->project ? o->project : "");
    Weft__Param *label_storage;
    rq.labels = cli_wire_params(o->labels, o->nlabels, &label_storage);
    rq.n_labels = o->nlabels;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_SUBMIT;
    env.submit = &rq;
    Weft__Envelope *reply = NULL;
    int rc = upload_call(source_client(s), &env, NULL, &reply, &err);
    free(label_storage);
    free(rq.labels);
    free(params);
    free(pp);
    free(text);
    free(cwd);
    if (rc < 0)
        return cli_exit_for(&err);
    rc = reply->reply->code ? cli_refused(reply->reply) : EXIT_OK;
    *run = reply->reply->run_id;
    json_t *said = rc ? NULL : json_loads(reply->reply->json, 0, NULL), *w;
    size_t i;
    json_array_foreach(json_object_get(said, "warnings"), i, w)
        fprintf(stderr, "weft: warning: run %llu %s (it waits until such a worker joins)\n",
                (unsigned long long)*run, json_string_value(w));
    if (answer)
        *answer = said;
    else
        json_decref(said);
    weft__envelope__free_unpacked(reply, NULL);
    return rc;
}

int cmd_submit(cli_opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "weft: submit takes one workflow file\n");
        return EXIT_USAGE;
    }
    source *s = NULL;
    uint64_t run = 0;
    int rc = cli_open_scheduler(o, &s);
    if (!rc)
        rc = submit_file(s, o, &run);
    if (!rc) {
        if (o->json)
            printf("{\"run\": %llu}\n", (unsigned long long)run);
        else
            printf("run %llu submitted\n", (unsigned long long)run);
    }
    if (!rc && o->wait) {
        rc = follow_run(s, run, o->json);
        if (!o->json)
            print_run_summary(s, run);
    }
    source_close(&s);
    return rc;
}

int cmd_register(cli_opts *o)
{
    if (o->nargs != 1) {
        fprintf(stderr, "weft: register takes one workflow file\n");
        return EXIT_USAGE;
    }
    source *s = NULL;
    uint64_t run = 0;
    json_t *answer = NULL;
    Weft__SubmitRequest how = WEFT__SUBMIT_REQUEST__INIT;
    how.mode = (char *)"register";
    int rc = cli_open_scheduler(o, &s);
    if (!rc)
        rc = cli_submit(s, o, o->args[0], &how, &run, &answer);
    if (!rc && o->json) {
        cli_print_json(answer);
    } else if (!rc) {
        printf("registered %s in project %s (version %lld)\n", cli_str(answer, "name"),
               cli_str(answer, "project"),
               (long long)json_integer_value(json_object_get(answer, "version")));
    }
    json_decref(answer);
    source_close(&s);
    return rc;
}

/* ---- status, list, logs ---- */

int cli_parse_run(const char *s, uint64_t *out)
{
    if (units_uint(s, 1, INT64_MAX, out) < 0) {
        fprintf(stderr, "weft: '%s' is not a run id\n", s);
        return EXIT_USAGE;
    }
    return 0;
}

int cli_show(const cli_opts *o, Weft__QueryKind kind, uint64_t run, const char *task,
             cli_printer print)
{
    source *s = NULL;
    int rc = source_open(o, &s);
    if (rc)
        return rc;
    weft_err err = {0};
    /* A run for people lists only the elements it names; --json has them all. */
    json_t *j = kind == WEFT__QUERY_KIND__QUERY_STATUS && run && !o->json
                    ? source_run(s, run, ELEMENTS_SHOWN, STATUS_TASKS, &err)
                    : source_query(s, kind, run, task, 0, &err);
    if (!j)
        rc = cli_exit_for(&err);
    else if (o->json)
        cli_print_json(j);
    else {
        cli_for_terminal(j);
        rc = print(j, o);
    }
    json_decref(j);
    source_close(&s);
    return rc;
}

/* Labels as "k=v, k2=v2" into buf. */
static const char *labels_text(const json_t *labels, char *buf, size_t n)
{
    const char *k;
    json_t *v;
    size_t used = 0;
    buf[0] = '\0';
    json_object_foreach((json_t *)labels, k, v) {
        int w = snprintf(buf + used, n - used, "%s%s=%s", used ? ", " : "", k,
                         json_string_value(v));
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
    return buf;
}

static int print_run(const json_t *r, const cli_opts *o)
{
    (void)o;
    char dur[32];
    printf("run %lld  workflow %s  project %s  %s%s%s  %s\n", (long long)geti(r, "id"),
           cli_str(r, "workflow"), cli_str(r, "project"), cli_paint(cli_str(r, "state")),
           cli_str(r, "state"), cli_reset(),
           span(geti(r, "created_us"), geti(r, "finished_us"), dur, sizeof dur));
    if (*cli_str(r, "error"))
        printf("error: %s\n", cli_str(r, "error"));
    if (*cli_str(r, "schedule"))
        printf("schedule: %s, slot %s (interval %s to %s)\n", cli_str(r, "schedule"),
               cli_str(json_object_get(r, "schedule_vars"), "time"),
               cli_str(json_object_get(r, "schedule_vars"), "interval_start"),
               cli_str(json_object_get(r, "schedule_vars"), "interval_end"));
    if (json_object_size(json_object_get(r, "labels"))) {
        char labels[512];
        printf("labels: %s\n", labels_text(json_object_get(r, "labels"), labels, sizeof labels));
    }
    printf("%-24s %-12s %-11s %8s %9s %7s %10s  %s\n", "TASK", "TYPE", "STATE", "ATTEMPTS",
           "DURATION", "CPU", "PEAK MEM", "WORKER / ERROR");
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(r, "tasks"), i, t)
    {
        const char *err = cli_str(t, "error");
        int elems = json_object_get(t, "element_counts") != NULL;
        char summary[200] = "";
        json_int_t attempts = geti(t, "attempts") + geti(t, "element_attempts");
        if (elems)
            element_summary(t, summary, sizeof summary);
        else if (geti(t, "source_run"))
            snprintf(summary, sizeof summary, "reused (%s): run %lld, task %s",
                     cli_str(t, "source"), (long long)geti(t, "source_run"),
                     cli_str(t, "source_task"));
        const json_t *why = json_object_get(json_object_get(r, "waiting"),
                                            cli_str(t, "name"));
        if (why && !elems)
            snprintf(summary, sizeof summary, "waiting: %s", json_string_value(why));
        char cpu[32], mem[32];
        last_usage(t, cpu, sizeof cpu, mem, sizeof mem);
        printf("%-24s %-12s %s%-11s%s %8lld %9s %7s %10s  %s\n", cli_str(t, "name"),
               cli_str(t, "type"), cli_paint(cli_str(t, "state")), cli_str(t, "state"),
               cli_reset(), (long long)attempts,
               span(geti(t, elems ? "ready_us" : "started_us"), geti(t, "finished_us"), dur,
                    sizeof dur),
               cpu, mem, *err ? err : *summary ? summary : cli_str(t, "worker"));
        if (elems && *err)
            printf("%-24s %s\n", "", summary);
        if (elems)
            print_failed_elements(t, (uint64_t)geti(r, "id"), ELEMENTS_SHOWN);
    }
    print_unlisted(r);
    return EXIT_OK;
}

static int print_runs(const json_t *runs, const cli_opts *o)
{
    printf("%-6s %-24s %-12s %-10s %-12s %-10s %s\n", "RUN", "WORKFLOW", "PROJECT", "STATE",
           "TASKS", "DURATION", "LABELS");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        char tasks[48], dur[32];
        snprintf(tasks, sizeof tasks, "%lld/%lld", (long long)geti(r, "succeeded"),
                 (long long)geti(r, "ntasks"));
        char labels[256];
        printf("%-6lld %-24s %-12s %s%-10s%s %-12s %-10s %s\n", (long long)geti(r, "id"),
               cli_str(r, "workflow"), cli_str(r, "project"), cli_paint(cli_str(r, "state")),
               cli_str(r, "state"), cli_reset(), tasks,
               span(geti(r, "created_us"), geti(r, "finished_us"), dur, sizeof dur),
               labels_text(json_object_get(r, "labels"), labels, sizeof labels));
    }
    size_t shown = json_array_size(runs);
    if (shown && shown == (o->limit ? o->limit : 50))
        printf("next page: weft list --before %lld\n",
               (long long)geti(json_array_get(runs, shown - 1), "id"));
    return EXIT_OK;
}

/* The scheduler's summary, or (from a local catalogue) the recent runs. */
static int print_scheduler(const json_t *j, const cli_opts *o)
{
    if (json_is_array(j))
        return print_runs(j, o);
    const json_t *health = json_object_get(j, "scheduler");
    if (!strcmp(cli_str(health, "state"), "degraded")) {
        char since[32];
        printf("scheduler: DEGRADED for %s: %s\n",
               span(geti(health, "degraded_since_us"), 0, since, sizeof since),
               cli_str(health, "reason"));
        printf("  new work is refused until the catalogue can be written; reads still work\n");
    }
    printf("scheduler: %lld active runs, %lld workers, %lld tasks ready\n",
           (long long)geti(j, "runs_active"), (long long)geti(j, "workers"),
           (long long)geti(j, "tasks_ready"));
    return EXIT_OK;
}

static int print_logs(const json_t *j, const cli_opts *o)
{
    if (!json_array_size(j)) {
        fprintf(stderr, "weft: no logs for run %s%s%s\n", o->args[0], o->nargs == 2 ? " task " : "",
                o->nargs == 2 ? o->args[1] : "");
        return EXIT_USAGE;
    }
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e)
    {
        const char *log = cli_str(e, "log");
        printf("==> %s (attempt %lld) <==\n%s", cli_str(e, "task"), (long long)geti(e, "attempt"),
               log);
        if (*log && log[strlen(log) - 1] != '\n')
            printf("\n");
    }
    return EXIT_OK;
}

int cmd_status(cli_opts *o)
{
    uint64_t run = 0;
    if (o->nargs > 1 || (o->nargs == 1 && cli_parse_run(o->args[0], &run)))
        return EXIT_USAGE;
    return cli_show(o, WEFT__QUERY_KIND__QUERY_STATUS, run, NULL,
                    run ? print_run : print_scheduler);
}

int cmd_list(cli_opts *o)
{
    return cli_show(o, WEFT__QUERY_KIND__QUERY_LIST, 0, NULL, print_runs);
}

int cmd_logs(cli_opts *o)
{
    uint64_t run = 0;
    if (o->nargs < 1 || o->nargs > 2) {
        fprintf(stderr, "weft: logs takes RUN [TASK]\n");
        return EXIT_USAGE;
    }
    if (cli_parse_run(o->args[0], &run))
        return EXIT_USAGE;
    if (o->follow)
        return cli_follow_logs(o, run, o->nargs == 2 ? o->args[1] : NULL);
    return cli_show(o, WEFT__QUERY_KIND__QUERY_LOGS, run, o->nargs == 2 ? o->args[1] : NULL,
                    print_logs);
}

int cmd_cancel(cli_opts *o)
{
    uint64_t run = 0;
    if (o->nargs != 1 || cli_parse_run(o->args[0], &run)) {
        if (o->nargs != 1)
            fprintf(stderr, "weft: cancel takes RUN\n");
        return EXIT_USAGE;
    }
    source *s = NULL;
    int rc = cli_open_scheduler(o, &s);
    if (!rc) {
        Weft__CancelRequest rq = WEFT__CANCEL_REQUEST__INIT;
        char key[33];
        rq.run_id = run;
        rq.idempotency_key = (char *)cli_request_key(o, key);
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        env.body_case = WEFT__ENVELOPE__BODY_CANCEL;
        env.cancel = &rq;
        Weft__Envelope *reply = NULL;
        weft_err err = {0};
        if (client_call_retry(source_client(s), &env, &reply, &err) < 0) {
            rc = cli_exit_for(&err);
        } else if (reply->reply->code != 0) {
            rc = cli_refused(reply->reply);
        } else {
            printf("run %llu: cancel requested\n", (unsigned long long)run);
        }
        if (reply)
            weft__envelope__free_unpacked(reply, NULL);
    }
    source_close(&s);
    return rc;
}
