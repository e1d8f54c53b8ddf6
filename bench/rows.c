/* weft-bench-rows: what the catalogue alone costs a no-op task, a floor under the
 * scheduler's CPU a task (a build that writes these rows cannot spend less on them than
 * this, and it does everything else besides). It writes what the scheduler
 * writes for each task of a run of independent tasks, through the catalogue's own
 * functions, into a fresh catalogue (WAL, synchronous=FULL, as the scheduler's):
 *
 *   the run's creation, one turn: the task's row, made ready, and its "ready" event;
 *   its dispatch: the task's row running with its attempt, a "dispatched" event;
 *   its result: the task's row succeeded with its attempt's end, a "succeeded" event;
 *
 * the dispatches and results in turns of TURN tasks each (a turn records the results of
 * the tasks the one before dispatched, and dispatches as many), a commit per turn. It
 * prints the CPU time (user and system) a task of the run's creation, and of its turns
 * with their wall time (each turn's fsync included) for each turn size: no message is
 * sent, no task is placed, nothing is compiled.
 *
 *   weft-bench-rows [DIR] [TASKS] [TURN...]
 *
 * DIR (default .) is where the catalogue goes (a directory made inside it, for each turn
 * size a fresh one): put it on the disk that holds the scheduler's state. TASKS defaults
 * to 10,000; the turn sizes to 1 (a chain's), 25 (about what a turn of the scheduler
 * records in run-bench.sh's 10,000 independent tasks: some 400 commits) and 400: a commit's
 * cost, spread over its turn's tasks, against the rows' own. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/xmem.h"

#define TASKS_MAX 1000000
#define TURNS_MAX 16

typedef struct {
    double cpu_us, wall_us;
} cost;

static double cpu_now_us(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static int64_t clock_us(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* The rows' timestamps. */
static int64_t wall_now_us(void)
{
    return clock_us(CLOCK_REALTIME);
}

/* Durations. */
static int64_t mono_now_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

static int commit(catalog *c)
{
    weft_err err = {0};
    if (catalog_commit(c, &err) < 0) {
        fprintf(stderr, "weft-bench-rows: commit: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* The run of n tasks, made in one turn as the scheduler makes a run whose tasks are all
 * ready at once. Returns its id, or -1. */
static int64_t create_run(catalog *c, int n)
{
    int64_t now = wall_now_us();
    int64_t wf = catalog_put_workflow(c, "bench-rows", 0, "bench-rows", "bench-rows.yaml",
                                      "workflow: bench-rows");
    catalog_run r = {.workflow_id = wf, .params = "{}", .types = "{}", .artifacts = "{}",
                     .ntasks = (size_t)n};
    int64_t run = wf > 0 ? catalog_create_run(c, &r, now) : -1;
    if (run <= 0) {
        commit(c); /* says why, the turn's error */
        return -1;
    }
    catalog_event(c, run, NULL, "submitted", "bench-rows", now);
    char name[32];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "t%d", i + 1);
        catalog_add_task(c, run, i, -1, name, "noop", "1", "pending");
        catalog_task_update u = {.run = run, .idx = i, .elem = -1, .state = "ready",
                                 .task_name = name, .ready_us = now};
        catalog_update_task(c, &u, now);
    }
    return commit(c) < 0 ? -1 : run;
}

static void dispatch(catalog *c, int64_t run, int i, int64_t now)
{
    char name[32];
    snprintf(name, sizeof name, "t%d", i + 1);
    catalog_attempt a = {.id = (uint64_t)i + 1, .run = run, .idx = i, .elem = -1,
                         .task_name = name, .number = 1, .worker = "bench.a", .inputs = "{}"};
    catalog_start_attempt(c, &a, now);
}

static void succeed(catalog *c, int64_t run, int i, int64_t now)
{
    char name[32];
    snprintf(name, sizeof name, "t%d", i + 1);
    /* The attempt's end goes with the task's new state, as the scheduler writes them. */
    catalog_attempt_end end = {.id = (uint64_t)i + 1, .run = run, .idx = i, .elem = -1,
                               .state = "succeeded", .started_us = now, .finished_us = now};
    catalog_task_update u = {.run = run, .idx = i, .elem = -1, .state = "succeeded",
                             .task_name = name, .outputs = "{}", .finished_us = now,
                             .end = &end};
    catalog_update_task(c, &u, now);
}

/* Every task dispatched and succeeded, turn tasks a turn. */
static int run_tasks(catalog *c, int64_t run, int n, int turn)
{
    for (int from = 0; from < n + turn; from += turn) {
        int64_t now = wall_now_us();
        for (int i = from - turn; i >= 0 && i < from && i < n; i++)
            succeed(c, run, i, now);
        for (int i = from; i < from + turn && i < n; i++)
            dispatch(c, run, i, now);
        if (commit(c) < 0)
            return -1;
    }
    return 0;
}

static cost since(double cpu0, int64_t mono0, int n)
{
    return (cost){(cpu_now_us() - cpu0) / n, (double)(mono_now_us() - mono0) / n};
}

/* A fresh catalogue under base, a run of n tasks made and run turn tasks a turn: what its
 * creation and its turns cost a task. 0, or -1 with the reason on stderr. */
static int measure(const char *base, int n, int turn, cost *made, cost *ran)
{
    char *dir = xasprintf("%s/weft-bench-rows.%d", base, (int)getpid());
    weft_err err = {0};
    catalog *c = NULL;
    if (catalog_open(dir, 0, &c, &err) < 0) {
        fprintf(stderr, "weft-bench-rows: %s\n", err.msg);
        fs_remove_tree(dir);
        free(dir);
        return -1;
    }
    double cpu0 = cpu_now_us();
    int64_t mono0 = mono_now_us();
    int64_t run = create_run(c, n);
    *made = since(cpu0, mono0, n);
    cpu0 = cpu_now_us();
    mono0 = mono_now_us();
    int rc = run < 0 || run_tasks(c, run, n, turn) < 0 ? -1 : 0;
    *ran = since(cpu0, mono0, n);
    catalog_close(&c);
    fs_remove_tree(dir);
    free(dir);
    return rc;
}

/* arg as a whole decimal number, or -1. */
static long number(const char *arg)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    return end == arg || *end || errno ? -1 : v;
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : ".";
    long n = argc > 2 ? number(argv[2]) : 10000;
    if (n < 1 || n > TASKS_MAX) {
        fprintf(stderr, "usage: weft-bench-rows [DIR] [TASKS: 1 to %d] [TURN...]\n",
                TASKS_MAX);
        return 2;
    }
    long turns[TURNS_MAX] = {1, 25, 400};
    int nturns = argc > 3 ? argc - 3 : 3;
    if (nturns > TURNS_MAX) {
        fprintf(stderr, "weft-bench-rows: at most %d turn sizes\n", TURNS_MAX);
        return 2;
    }
    for (int i = 0; i < nturns; i++) {
        if (argc > 3)
            turns[i] = number(argv[3 + i]);
        else if (turns[i] > n) /* the default sizes, for a run smaller than one */
            turns[i] = n;
        if (turns[i] < 1 || turns[i] > n) {
            fprintf(stderr, "weft-bench-rows: a turn of %s tasks (1 to %ld)\n",
                    argc > 3 ? argv[3 + i] : "?", n);
            return 2;
        }
    }
    struct stat st;
    int missing = stat(base, &st) < 0;
    if (missing || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "weft-bench-rows: %s: %s\n", base,
                missing ? strerror(errno) : "not a directory");
        return 1;
    }
    printf("the catalogue alone (weft-bench-rows), a run of %ld no-op tasks, their rows and "
           "events as the scheduler writes them:\n", n);
    for (int i = 0; i < nturns; i++) {
        cost made, ran;
        if (argc <= 3 && i > 0 && turns[i] == turns[i - 1])
            continue;
        if (measure(base, (int)n, (int)turns[i], &made, &ran) < 0)
            return 1;
        if (i == 0)
            printf("  the run's creation, in one turn:     %6.1f us CPU a task\n",
                   made.cpu_us);
        printf("  dispatch and result, %4ld a turn:    %6.1f us CPU a task (%6.1f us wall)\n",
               turns[i], ran.cpu_us, ran.wall_us);
    }
    return 0;
}
