/* follow: following a run as it happens: a bar of counts on a terminal (the scheduler
 * counts; the client holds no copy of the run's tasks), a line per event otherwise, and
 * nothing when quiet. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/strmap.h"
#include "common/xmem.h"

#define FOLLOW_POLL_MS 100

/* Line mode: a map of more than MAP_LINES elements prints its elements' failures and
 * retries, and a line of counts every MAP_COUNTS_US and at its end, not a line per element
 * event. */
#define MAP_LINES 100
#define MAP_COUNTS_US (5 * 1000000LL)

typedef struct map_counts {
    size_t total, succeeded, failed, other; /* other: cancelled, skipped, not run */
    int64_t printed_us;
} map_counts;

typedef struct progress {
    size_t total, succeeded, failed, skipped, running; /* tasks and map elements */
    strmap *names; /* line mode: names of those with an attempt out */
    strmap *maps;  /* line mode: mapped task -> map_counts, for maps past MAP_LINES */
    int tty;
    uint64_t run;
} progress;

static void draw(const progress *p)
{
    int width = 30;
    size_t done = p->succeeded + p->failed + p->skipped;
    int filled = p->total ? (int)(done * (size_t)width / p->total) : 0;
    printf("\r[");
    for (int i = 0; i < width; i++)
        putchar(i < filled ? '#' : '-');
    printf("] %zu/%zu  %zu succeeded  %zu failed  %zu running ", done, p->total, p->succeeded,
           p->failed + p->skipped, p->running);
    fflush(stdout);
}

/* Whether e is the run's own end event (then *failed says how it ended). */
static int run_ended(const json_t *e, int *failed)
{
    const char *kind = cli_str(e, "kind");
    if (*cli_str(e, "task") ||
        (strcmp(kind, "succeeded") && strcmp(kind, "failed") && strcmp(kind, "cancelled")))
        return 0;
    *failed = strcmp(kind, "succeeded") != 0;
    return 1;
}

static void print_event(const json_t *e, const progress *p)
{
    const char *kind = cli_str(e, "kind"), *detail = cli_str(e, "detail");
    if (p->tty)
        printf("\r\033[K");
    printf("%s%-10s%s %s%s%s\n", cli_paint(kind), kind, cli_reset(), cli_str(e, "task"),
           *detail ? ": " : "", detail);
    if (!strcmp(kind, "waiting")) /* an approval: say how to decide it */
        printf("%-10s weft signal %llu %s --approve [-i name=value]... | --reject REASON\n",
               "", (unsigned long long)p->run, cli_str(e, "task"));
}

static void print_counts(const char *task, const map_counts *m)
{
    printf("%-10s %s: %zu of %zu elements succeeded, %zu failed", "elements", task,
           m->succeeded, m->total, m->failed);
    if (m->other)
        printf(", %zu cancelled or not run", m->other);
    printf("\n");
}

/* The counts of the large map whose element task is ("work[7]"), or NULL. */
static map_counts *large_map_of(const progress *p, const char *task)
{
    size_t n = strlen(task);
    if (!n || task[n - 1] != ']' || !strmap_count(p->maps))
        return NULL;
    char *base = xstrdup(task), *open = strrchr(base, '[');
    if (open)
        *open = '\0';
    map_counts *m = open ? strmap_get(p->maps, base) : NULL;
    free(base);
    return m;
}

/* An event of a large map's element: counted; printed when it failed or waits to retry. */
static void on_element(const json_t *e, const progress *p, map_counts *m, const char *task)
{
    const char *kind = cli_str(e, "kind");
    int wrong = !strcmp(kind, "failed") || !strcmp(kind, "retry_wait");
    if (!strcmp(kind, "succeeded"))
        m->succeeded++;
    else if (!strcmp(kind, "failed"))
        m->failed++;
    else if (!wrong && strcmp(kind, "dispatched") && strcmp(kind, "ready") &&
             strcmp(kind, "pending") && strcmp(kind, "running"))
        m->other++;
    if (wrong)
        print_event(e, p);
    int64_t now = clock_mono_us();
    if (now - m->printed_us >= MAP_COUNTS_US) {
        char *base = xstrndup(task, (size_t)(strrchr(task, '[') - task));
        print_counts(base, m);
        free(base);
        m->printed_us = now;
    }
}

/* A "map" event ("N elements"): a map past MAP_LINES is followed by its counts. */
static void on_map(const json_t *e, progress *p, const char *task)
{
    unsigned long long n = strtoull(cli_str(e, "detail"), NULL, 10);
    if (n <= MAP_LINES)
        return;
    map_counts *m = xcalloc(1, sizeof *m);
    m->total = (size_t)n;
    m->printed_us = clock_mono_us();
    free(strmap_put(p->maps, task, m));
}

/* Line mode: applies one event and prints a line for it. Returns 1 at run end. */
static int on_event(const json_t *e, progress *p, int *failed)
{
    const char *kind = cli_str(e, "kind"), *task = cli_str(e, "task");
    if (!*task)
        return run_ended(e, failed);
    map_counts *m = large_map_of(p, task);
    if (m) {
        on_element(e, p, m, task);
        return 0;
    }
    if (!strcmp(kind, "map"))
        on_map(e, p, task);
    else if ((m = strmap_get(p->maps, task)) && strcmp(kind, "running"))
        print_counts(task, m); /* the mapped task ends: its last counts first */
    if (!strcmp(kind, "dispatched"))
        strmap_put(p->names, task, (void *)1);
    else if (strcmp(kind, "ready") && strcmp(kind, "running") && strcmp(kind, "map"))
        strmap_del(p->names, task);
    if (strcmp(kind, "ready") && strcmp(kind, "pending") && strcmp(kind, "running"))
        print_event(e, p);
    return 0;
}

static void progress_free(progress *p)
{
    strmap_destroy_free(&p->maps);
    strmap_destroy(&p->names);
}

/* Prints every event of the run as it happens (output that is not a terminal). */
static int follow_events(source *s, uint64_t run)
{
    weft_err err = {0};
    progress p = {.names = strmap_new(), .maps = strmap_new(), .run = run};
    json_int_t seq = 0;
    int ended = 0, failed = 0;
    while (!ended) {
        json_t *events =
            source_query(s, WEFT__QUERY_KIND__QUERY_EVENTS, run, NULL, (uint64_t)seq, &err);
        if (!events) {
            progress_free(&p);
            return cli_exit_for(&err);
        }
        size_t i;
        json_t *e;
        cli_for_terminal(events);
        json_array_foreach(events, i, e)
        {
            seq = json_integer_value(json_object_get(e, "seq"));
            if (!ended)
                ended = on_event(e, &p, &failed);
        }
        if (!ended && json_array_size(events) == 0) {
            struct timespec ts = {0, FOLLOW_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        json_decref(events);
    }
    progress_free(&p);
    return failed ? EXIT_RUN_FAILED : EXIT_OK;
}

/* The bar's numbers from a progress answer's counts by state. */
static void count_progress(const json_t *counts, progress *p)
{
    const char *k;
    json_t *v;
    *p = (progress){.tty = p->tty, .run = p->run};
    json_object_foreach((json_t *)counts, k, v)
    {
        size_t n = (size_t)json_integer_value(v);
        p->total += n;
        if (!strcmp(k, "succeeded"))
            p->succeeded += n;
        else if (!strcmp(k, "failed"))
            p->failed += n;
        else if (!strcmp(k, "running"))
            p->running += n;
        else if (strcmp(k, "pending") && strcmp(k, "ready") && strcmp(k, "retry_wait") &&
                 strcmp(k, "waiting"))
            p->skipped += n; /* skipped, cancelled, caught, not run */
    }
}

/* Follows a run by its counts and notable events (a bar on a terminal, or nothing when
 * quiet): the scheduler counts, the client holds no copy of the run's tasks. */
int follow_run(source *s, uint64_t run, int quiet)
{
    progress p = {.tty = !quiet && isatty(1), .run = run};
    if (!quiet && !p.tty)
        return follow_events(s, run);
    weft_err err = {0};
    json_int_t seq = 0;
    int ended = 0, failed = 0;
    while (!ended) {
        json_t *j = source_query(s, WEFT__QUERY_KIND__QUERY_PROGRESS, run, NULL,
                                 (uint64_t)seq, &err);
        if (!j) {
            if (p.tty)
                printf("\n");
            return cli_exit_for(&err);
        }
        count_progress(json_object_get(j, "counts"), &p);
        json_t *events = json_object_get(j, "events");
        cli_for_terminal(events);
        size_t i;
        json_t *e;
        json_array_foreach(events, i, e)
        {
            if (!ended)
                ended = run_ended(e, &failed);
            if (p.tty && *cli_str(e, "task"))
                print_event(e, &p);
        }
        seq = json_integer_value(json_object_get(j, "seq"));
        json_decref(j);
        if (p.tty)
            draw(&p);
        if (!ended) {
            struct timespec ts = {0, FOLLOW_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (p.tty)
        printf("\n");
    return failed ? EXIT_RUN_FAILED : EXIT_OK;
}
