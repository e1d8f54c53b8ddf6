/* core_map: map fan-out in the run state machine. See core_int.h.
 *
 * A mapped task that becomes ready resolves its list and appends one slot per item: its
 * elements. The task itself is then running, with no attempt of its own. Elements start
 * in order, at most max_parallel at a time; each is an ordinary unit from there on (a cache
 * lookup, attempts, retries with the task's policy, stop on cancel). When the last one
 * ends, the task ends: succeeded when at least min_success elements did, its outputs one
 * list per output name with the elements' values in order (null where an element failed);
 * failed otherwise, with the first element failure as its error (which its catch, if any,
 * may handle). An element's own failure never fails the run directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "common/xmem.h"
#include "scheduler/core_int.h"

void core_map_free(cmap *m)
{
    if (!m)
        return;
    json_decref(m->items);
    free(m->err);
    free(m);
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an int";
    case JSON_REAL: return "a float";
    case JSON_TRUE:
    case JSON_FALSE: return "a bool";
    case JSON_NULL: return "null";
    default: return "a list";
    }
}

/* The list to fan out over, or NULL with why. */
static json_t *map_items(const crun *r, int task, char *why, size_t n)
{
    const dag_task *dt = &r->g->tasks[task];
    dag_scope sc = {r->outputs, NULL, -1, NULL};
    json_t *items = dag_resolve_value(r->g, dt->map, &sc, why, n);
    if (items && !json_is_array(items)) {
        snprintf(why, n, "map: expected a list to fan out over, got %s", json_kind(items));
        json_decref(items);
        return NULL;
    }
    if (!items)
        return NULL;
    size_t count = json_array_size(items), units = r->proj->max_units;
    if (count > CORE_MAP_MAX || r->nslots + count > CORE_RUN_UNITS_MAX) {
        snprintf(why, n, "map: %zu elements; at most %d per map and %d tasks and elements per "
                 "run", count, CORE_MAP_MAX, CORE_RUN_UNITS_MAX);
    } else if (units && r->nslots + count > units) {
        /* nslots counts the tasks and the elements of maps expanded before. */
        snprintf(why, n, "map: %zu elements would make %zu tasks and elements in this run; "
                 "its project allows %zu (weft project set --max-tasks)", count,
                 r->nslots + count, units);
    } else {
        return items;
    }
    json_decref(items);
    return NULL;
}

/* Appends the elements' slots (pending); the task is running from now on. */
static cmap *add_elements(crun *r, int task, json_t *items)
{
    cmap *m = xcalloc(1, sizeof *m);
    m->items = items;
    m->n = json_array_size(items);
    m->first = core_add_slots(r, m->n);
    for (size_t i = 0; i < m->n; i++) {
        r->t[m->first + i].task = task;
        r->t[m->first + i].elem = (int32_t)i;
    }
    r->t[task].map = m;
    r->t[task].state = TS_RUNNING;
    return m;
}

void core_map_expand(core *c, crun *r, int task, core_effects *fx)
{
    char why[512];
    if (r->stop_class) {
        core_task_failed(c, r, task, r->stop_class, r->stop_reason, NULL, 0, 0, fx);
        return;
    }
    json_t *items = map_items(r, task, why, sizeof why);
    if (!items) {
        core_task_failed(c, r, task, ERRC_FATAL, why, NULL, 0, 0, fx);
        return;
    }
    add_elements(r, task, items);
    core_effect *e = core_emit_unit(fx, FX_MAP, r, task);
    e->json = json_incref(items);
    core_map_advance(c, r, task, fx);
}

/* The task's outputs: for each declared output and each name an element produced, the
 * list of the elements' values (null for an element that did not succeed). */
static json_t *map_outputs(const crun *r, int task, const cmap *m)
{
    const dag_task *dt = &r->g->tasks[task];
    json_t *out = json_object();
    for (size_t k = 0; k < dt->noutputs; k++)
        json_object_set_new(out, dt->output_names[k], json_array());
    for (size_t i = 0; i < m->n; i++) {
        const char *name;
        json_t *v;
        json_object_foreach(r->outputs[m->first + i], name, v)
            if (!json_object_get(out, name))
                json_object_set_new(out, name, json_array());
    }
    const char *name;
    json_t *list;
    json_object_foreach(out, name, list) {
        for (size_t i = 0; i < m->n; i++) {
            json_t *v = json_object_get(r->outputs[m->first + i], name);
            json_array_append_new(list, v ? json_incref(v) : json_null());
        }
    }
    return out;
}

static void map_finish(core *c, crun *r, int task, cmap *m, core_effects *fx)
{
    const dag_task *dt = &r->g->tasks[task];
    size_t need = dag_min_success(dt, m->n);
    if (r->stop_class) {
        core_task_failed(c, r, task, r->stop_class, r->stop_reason, NULL, 0, 0, fx);
    } else if (m->nok >= need) {
        json_t *out = map_outputs(r, task, m);
        core_task_succeeded(c, r, task, out, SRC_COMPUTED, 0, NULL, fx);
        json_decref(out);
    } else {
        char *msg = xasprintf("%zu of %zu elements did not succeed (at least %zu must)%s%s",
                              m->n - m->nok, m->n, need, m->err ? "; first: " : "",
                              m->err ? m->err : "");
        core_task_failed(c, r, task, m->err ? m->err_class : ERRC_FATAL, msg, NULL, 0, 0, fx);
        free(msg);
    }
}

void core_map_advance(core *c, crun *r, int task, core_effects *fx)
{
    cmap *m = r->t[task].map;
    if (!m || r->t[task].state != TS_RUNNING)
        return;
    size_t limit = r->g->tasks[task].max_parallel;
    while (!r->stop_class && m->next < m->n && (!limit || m->active < limit)) {
        size_t slot = m->first + m->next++;
        if (r->t[slot].state != TS_PENDING)
            continue; /* restored as started or ended */
        m->active++;
        core_make_ready(c, r, (int)slot, fx);
    }
    if (m->nended == m->n && r->t[task].state == TS_RUNNING)
        map_finish(c, r, task, m, fx);
}

/* One restored element, as a task of its own is restored (core_restore.c). */
static void restore_element(core *c, crun *r, int slot, const core_task_snapshot *es,
                            int64_t now, core_effects *fx)
{
    ctask *t = &r->t[slot];
    cmap *m = r->t[t->task].map;
    t->attempts = (uint16_t)es->attempts;
    switch (es->state) {
    case TS_PENDING:
        return;
    case TS_SUCCEEDED:
        r->outputs[slot] = core_kept_outputs(c, es->outputs);
        core_end_task(c, r, slot, TS_SUCCEEDED);
        return;
    case TS_RUNNING:
        m->active++;
        if (es->attempt_id) {
            t->state = TS_RUNNING;
            core_add_orphan(c, r, slot, es, now);
            return;
        }
        core_make_ready(c, r, slot, fx);
        return;
    case TS_READY:
        m->active++;
        core_requeue_ready(c, r, slot, fx);
        return;
    case TS_RETRY_WAIT:
        m->active++;
        t->state = TS_RETRY_WAIT;
        core_heap_push(c, (timer){es->due_us, r->id, slot, 0});
        return;
    default: /* ended otherwise */
        if (es->state <= TS_SUCCEEDED || es->state >= TS__COUNT)
            return;
        if (!m->err && es->state == TS_FAILED) {
            char name[300];
            core_unit_name(r, slot, name, sizeof name);
            m->err = xasprintf("%s failed", name);
            m->err_class = ERRC_FATAL;
        }
        core_end_task(c, r, slot, es->state);
        return;
    }
}

void core_map_restore(core *c, crun *r, int task, const core_task_snapshot *snap,
                      int64_t now, core_effects *fx)
{
    char why[512];
    json_t *items = map_items(r, task, why, sizeof why);
    if (!items) {
        core_task_failed(c, r, task, ERRC_FATAL, why, NULL, 0, 0, fx);
        return;
    }
    cmap *m = add_elements(r, task, items);
    for (size_t i = 0; i < m->n && i < snap->nelems; i++)
        restore_element(c, r, (int)(m->first + i), &snap->elems[i], now, fx);
    core_map_advance(c, r, task, fx);
}
