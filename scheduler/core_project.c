/* core_project: projects in the run state machine: each run belongs to one, and a
 * project's limits bound its attempts in flight (dispatch passes over its ready tasks while
 * it is at its limit) and the tasks and map elements of each of its runs (core_map.c). */
#include <stdlib.h>

#include "common/xmem.h"
#include "scheduler/core_int.h"

cproject *core_project(core *c, const char *name)
{
    cproject *p = strmap_get(c->projects, name ? name : "default");
    if (!p) {
        p = xcalloc(1, sizeof *p);
        p->name = xstrdup(name ? name : "default");
        strmap_put(c->projects, name ? name : "default", p);
    }
    return p;
}

void core_set_project(core *c, const char *project, size_t max_inflight, size_t max_units,
                      int priority)
{
    cproject *p = core_project(c, project);
    p->max_inflight = max_inflight;
    p->max_units = max_units;
    p->priority = priority;
}

void core_project_usage(const core *c, const char *project, size_t *runs, size_t *attempts)
{
    const cproject *p = strmap_get(c->projects, project ? project : "default");
    *runs = p ? p->runs : 0;
    *attempts = p ? p->inflight : 0;
}
