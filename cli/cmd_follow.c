/* weft logs -f RUN [TASK]: follows the logs of a run's attempts as they are written (a
 * worker streams a running attempt's log every heartbeat), like `tail -f` over each
 * attempt in turn, from any machine that can reach the scheduler. Ends when the run has
 * ended (with TASK: when that task has) and every log has been printed to its end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "cli/cli.h"
#include "common/strmap.h"
#include "common/xmem.h"

#define POLL_US 300000

/* Where each attempt's log was printed up to ("NAME#N" -> offset + 1; 0: not begun), and
 * which ones are finished (offset + 1 with the top bit set). */
typedef struct follow {
    source *s;
    uint64_t run;
    strmap *offsets;
    char *current; /* the attempt printed last ("NAME#N") */
    int whole;     /* the run is read whole: no task named, or a mapped one */
} follow;

#define DONE_BIT ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))

static int wanted(const char *name, const char *task)
{
    size_t n = task ? strlen(task) : 0;
    return !task || !strcmp(name, task) || (!strncmp(name, task, n) && name[n] == '[');
}

/* Prints what attempt number of unit (a task or an element) gained; returns 1 while more
 * may come (it runs, or it printed something now). */
static int pump(follow *f, const json_t *unit, const json_t *attempt)
{
    const char *name = cli_str(unit, "name");
    json_int_t number = json_integer_value(json_object_get(attempt, "number"));
    char key[320];
    snprintf(key, sizeof key, "%s#%lld", name, (long long)number);
    uintptr_t at = (uintptr_t)strmap_get(f->offsets, key);
    if (at & DONE_BIT)
        return 0;
    int running = !strcmp(cli_str(attempt, "state"), "running");
    weft_err err = {0};
    json_t *tail = source_log_tail(f->s, f->run, name, (uint32_t)number,
                                   at ? (uint64_t)(at - 1) : 0, &err);
    if (!tail)
        return 1; /* not this time: looked at again on the next round */
    const char *data = cli_str(tail, "data");
    if (*data) {
        if (!f->current || strcmp(f->current, key)) {
            printf("%s==> %s (attempt %lld) <==\n", f->current ? "\n" : "", name,
                   (long long)number);
            free(f->current);
            f->current = xstrdup(key);
        }
        char *safe = cli_terminal_safe(data);
        fputs(safe ? safe : data, stdout);
        free(safe);
        fflush(stdout);
    }
    uint64_t next = (uint64_t)json_integer_value(json_object_get(tail, "next"));
    int more = running || *data;
    strmap_put(f->offsets, key, (void *)((next + 1) | (more ? 0 : DONE_BIT)));
    json_decref(tail);
    return more;
}

/* One look at the run: prints what every followed attempt gained. Returns 1 while there is
 * more to follow. */
static int look(follow *f, const char *task, int *rc)
{
    weft_err err = {0};
    /* A task or element alone when one is named; a mapped task's elements need the run
     * (found out at the first look, and kept). */
    json_t *r = source_query(f->s, WEFT__QUERY_KIND__QUERY_STATUS, f->run,
                             f->whole ? NULL : task, 0, &err);
    if (r && !f->whole && json_object_get(catalog_run_unit(r, task), "elements_total")) {
        f->whole = 1;
        json_decref(r);
        r = source_query(f->s, WEFT__QUERY_KIND__QUERY_STATUS, f->run, NULL, 0, &err);
    }
    if (!r) {
        *rc = cli_exit_for(&err);
        return 0;
    }
    int more = !strcmp(cli_str(r, "state"), "running"), found = !task, task_more = 0;
    size_t i, j, k;
    const json_t *t, *e, *a;
    json_array_foreach(json_object_get(r, "tasks"), i, t) {
        const json_t *elems = json_object_get(t, "elements");
        json_t *units = elems ? json_incref((json_t *)elems) : json_pack("[O]", t);
        json_array_foreach(units, j, e) {
            if (!wanted(cli_str(e, "name"), task))
                continue;
            found = 1;
            const char *st = cli_str(e, "state");
            int open = !strcmp(st, "pending") || !strcmp(st, "ready") ||
                       !strcmp(st, "running") || !strcmp(st, "retry_wait") ||
                       !strcmp(st, "waiting");
            int pumping = 0;
            json_array_foreach(json_object_get(e, "attempt_list"), k, a)
                pumping |= pump(f, e, a);
            task_more |= open || pumping;
            more |= pumping;
        }
        json_decref(units);
    }
    json_decref(r);
    if (!found) {
        fprintf(stderr, "weft: run %llu has no task '%s'\n", (unsigned long long)f->run, task);
        *rc = EXIT_USAGE;
        return 0;
    }
    return task ? task_more : more;
}

int cli_follow_logs(cli_opts *o, uint64_t run, const char *task)
{
    follow f = {.run = run, .offsets = strmap_new(), .whole = !task};
    int rc = source_open(o, &f.s);
    while (!rc && look(&f, task, &rc))
        usleep(POLL_US);
    source_close(&f.s);
    strmap_destroy(&f.offsets);
    free(f.current);
    return rc;
}
