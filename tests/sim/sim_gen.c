/* sim_gen: the random workflows weft-sim runs (see sim.c): echo tasks reading outputs of
 * earlier ones, fan-outs, conditions, joins, catches, placement, priorities, pools,
 * timeouts, retry policies, and approvals. Every one must compile. */
#include <stdio.h>

#include "common/xmem.h"
#include "sim.h"

/* Task i as an approval (invariant 15), appended at y + len: its question reads an earlier
 * task's x (not that of the task it handles failures of, catcher); it declares the outputs
 * every task has (x, l), which its signal carries. Returns the new length. */
static size_t approval_task(sim *s, char *y, size_t len, size_t cap, int i, int catcher)
{
    int p = pick(s, i);
    len += (size_t)snprintf(y + len, cap - len, "  t%d:\n    type: approve\n"
                            "    outputs: { x: int, l: list<int> }\n", i);
    if (p != catcher)
        len += (size_t)snprintf(y + len, cap - len,
                                "    with: { message: \"x is ${ string(t%d.outputs.x) }\" }\n",
                                p);
    if (chance(s, 30))
        len += (size_t)snprintf(y + len, cap - len, "    timeout: %ds\n", 1 + pick(s, 20));
    if (chance(s, 30))
        len += (size_t)snprintf(y + len, cap - len, "    needs: [t%d]\n", pick(s, i));
    return len;
}

/* A random workflow: echo tasks reading outputs of up to three earlier tasks, some with
 * needs, each with a random retry policy; and a few approvals. */
char *random_workflow(sim *s)
{
    size_t cap = 1 << 16, len = 0;
    char *y = xmalloc(cap);
    int n = 3 + pick(s, 30);
    int catcher[40]; /* catcher[h]: the task that catches to h, or -1 */
    int ismap[40];   /* whether task i is mapped (its x is a list) */
    for (int i = 0; i < 40; i++)
        catcher[i] = -1;
    len += (size_t)snprintf(y + len, cap - len, "workflow: sim\n");
    if (chance(s, 20))
        len += (size_t)snprintf(y + len, cap - len, "timeout: %ds\n", 1 + pick(s, 60));
    /* Priorities, concurrency and pools (invariant 13). */
    if (chance(s, 20))
        len += (size_t)snprintf(y + len, cap - len, "priority: %d\n", pick(s, 3));
    if (chance(s, 15))
        len += (size_t)snprintf(y + len, cap - len, "concurrency: %d\n", 1 + pick(s, 4));
    int pools = chance(s, 30);
    if (pools)
        len += (size_t)snprintf(y + len, cap - len, "limits: { lic: %d }\n", 1 + pick(s, 2));
    len += (size_t)snprintf(y + len, cap - len, "tasks:\n");
    static const char *const classes[] = {"transient", "crash", "lost", "timeout", "fatal"};
    for (int i = 0; i < n; i++) {
        /* Every task passes on a list l; some fan out over an earlier task's l. */
        int mapped = i > 0 && chance(s, 25), src = mapped ? pick(s, i) : -1;
        if (mapped && catcher[i] == src)
            mapped = 0;
        ismap[i] = mapped;
        if (!mapped && i > 0 && chance(s, 6)) {
            len = approval_task(s, y, len, cap, i, catcher[i]);
            continue;
        }
        len += (size_t)snprintf(y + len, cap - len, "  t%d:\n    type: echo\n", i);
        if (mapped) {
            len += (size_t)snprintf(y + len, cap - len, "    map: \"${t%d.outputs.l}\"\n", src);
            if (chance(s, 50))
                len += (size_t)snprintf(y + len, cap - len, "    max_parallel: %d\n",
                                        1 + pick(s, 3));
            if (chance(s, 50))
                len += (size_t)snprintf(y + len, cap - len, "    min_success: %s\n",
                                        chance(s, 50) ? "50%" : "1");
        }
        len += (size_t)snprintf(y + len, cap - len, "    with: { x: %s, l: [",
                                mapped ? "\"${item}\"" : "0");
        for (int k = pick(s, 6); k > 0; k--)
            len += (size_t)snprintf(y + len, cap - len, "%d%s", pick(s, 4), k > 1 ? ", " : "");
        len += (size_t)snprintf(y + len, cap - len, "]");
        for (int k = 0; i > 0 && k < 3; k++) {
            if (!chance(s, 50))
                continue;
            int p = pick(s, i);
            /* A handler reads its catcher's error, never its outputs. */
            len += (size_t)snprintf(y + len, cap - len, ", p%d: \"${t%d.%s}\"", k, p,
                                    p == catcher[i] ? "error.message" : "outputs.x");
        }
        /* A join of two branches, one of which a when may skip. */
        int a = i > 1 ? pick(s, i) : -1, b = i > 1 ? pick(s, i) : -1;
        if (a >= 0 && a != b && a != catcher[i] && b != catcher[i] && !ismap[a] && !ismap[b] &&
            chance(s, 20))
            len += (size_t)snprintf(y + len, cap - len,
                                    ", j: \"${ t%d.outputs.x ?? t%d.outputs.x }\"", a, b);
        len += (size_t)snprintf(y + len, cap - len, " }\n");
        if (chance(s, 30))
            len += (size_t)snprintf(y + len, cap - len, "    cache: true\n");
        /* Placement: resources and labels (invariant 12). */
        if (chance(s, 30)) {
            static const char *const cpus[] = {"0.5", "1", "2", "4"}, *const mems[] = {
                "512M", "1G", "2G"};
            /* Whole GPUs and shares of one, packed onto w0's two devices (invariant 12). */
            static const char *const gpus[] = {"", "", "", "", ", gpu: 1", ", gpu: 2",
                                               ", gpu: 0.5", ", gpu: 0.25"};
            len += (size_t)snprintf(y + len, cap - len, "    resources: { cpu: %s, mem: %s%s }\n",
                                    cpus[pick(s, 4)], mems[pick(s, 3)],
                                    gpus[pick(s, 8)]);
        }
        if (chance(s, 10))
            len += (size_t)snprintf(y + len, cap - len, "    labels: { pool: a }\n");
        if (pools && chance(s, 40))
            len += (size_t)snprintf(y + len, cap - len, "    pool: lic\n");
        if (chance(s, 20))
            len += (size_t)snprintf(y + len, cap - len, "    priority: %d\n", pick(s, 5) - 2);
        /* Conditions (invariant 14): on an earlier task's x, which is 0 unless mapped. */
        if (i > 0 && chance(s, 15)) {
            int w = pick(s, i);
            if (catcher[i] != w)
                len += (size_t)snprintf(y + len, cap - len,
                                        "    when: \"${ string(t%d.outputs.x) == '0' }\"\n",
                                        w);
        } else if (chance(s, 4)) {
            len += (size_t)snprintf(y + len, cap - len, "    when: false\n");
        }
        if (chance(s, 5))
            len += (size_t)snprintf(y + len, cap - len, "    schedule_timeout: %ds\n",
                                    1 + pick(s, 30));
        /* A task timeout arms the scheduler's own deadline (timeout plus grace). */
        if (chance(s, 15))
            len += (size_t)snprintf(y + len, cap - len, "    timeout: %ds\n", 1 + pick(s, 20));
        if (i > 0 && chance(s, 20))
            len += (size_t)snprintf(y + len, cap - len, "    needs: [t%d]\n", pick(s, i));
        if (i + 1 < n && chance(s, 15)) {
            int h = i + 1 + pick(s, n - i - 1);
            if (catcher[h] < 0) {
                catcher[h] = i;
                len +=
                    (size_t)snprintf(y + len, cap - len, "    catch: { on: [%s], next: t%d }\n",
                                     chance(s, 50) ? "fatal, crash" : "fatal, transient, lost", h);
            }
        }
        len += (size_t)snprintf(y + len, cap - len,
                                "    retry: { max_attempts: %d, interval: %dms, backoff_rate: "
                                "%d.5, max_delay: %ds, jitter: %s, on: [",
                                1 + pick(s, 4), 50 + pick(s, 2000), 1 + pick(s, 2), 1 + pick(s, 10),
                                chance(s, 50) ? "full" : "none");
        int first = 1;
        for (int k = 0; k < 5; k++)
            if (chance(s, 60)) {
                len += (size_t)snprintf(y + len, cap - len, "%s%s", first ? "" : ", ", classes[k]);
                first = 0;
            }
        len += (size_t)snprintf(y + len, cap - len, "] }\n");
    }
    return y;
}
