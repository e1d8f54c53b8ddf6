/* core_query: what the shell may ask the core about its state, between steps: runs,
 * attempts, ready queues and slots. Nothing here changes it. */
#include <stdio.h>
#include <string.h>

#include "scheduler/core_int.h"

crun *core_find_run(const core *c, uint64_t run_id)
{
    crun *r = u64map_get(c->runs, run_id);
    for (size_t i = 0; !r && i < c->nended; i++)
        if (c->ended[i]->id == run_id)
            r = c->ended[i];
    return r;
}

const dag *core_run_dag(const core *c, uint64_t run_id)
{
    crun *r = core_find_run(c, run_id);
    return r ? r->g : NULL;
}

int core_run_active(const core *c, uint64_t run_id)
{
    return u64map_get(c->runs, run_id) != NULL;
}

int core_task_state(const core *c, uint64_t run_id, int task)
{
    const crun *r = u64map_get(c->runs, run_id);
    return r && task >= 0 && (size_t)task < r->g->ntasks ? r->t[task].state : -1;
}

int core_run_counts(const core *c, uint64_t run_id, size_t *counts)
{
    const crun *r = core_find_run(c, run_id);
    if (!r)
        return 0;
    for (int i = 0; i < TS__COUNT; i++)
        counts[i] = r->unheld[i];
    for (size_t i = 0; i < r->nslots; i++)
        counts[r->t[i].state]++;
    return 1;
}

json_t *core_counts_json(const size_t *counts)
{
    json_t *j = json_object();
    for (int i = 0; i < TS__COUNT; i++)
        if (counts[i])
            json_object_set_new(j, core_task_state_name(i), json_integer((json_int_t)counts[i]));
    return j;
}

int core_attempt_info(const core *c, uint64_t attempt_id, uint64_t *run_id, int *task,
                      int *elem, int *attempt_no)
{
    cattempt *a = u64map_get(c->attempts, attempt_id);
    if (!a)
        return 0;
    *run_id = a->run->id;
    *task = a->run->t[a->task].task;
    *elem = a->run->t[a->task].elem;
    *attempt_no = a->no;
    return 1;
}

uint64_t core_next_attempt_id(const core *c)
{
    return c->next_attempt;
}

size_t core_nruns(const core *c)
{
    return u64map_count(c->runs);
}

size_t core_nready(const core *c)
{
    return c->nready;
}

json_t *core_ready_by_type(const core *c)
{
    json_t *o = json_object();
    size_t pos = 0, qpos;
    uint64_t id;
    void *v, *qv;
    const char *place;
    while (u64map_next(c->runs, &pos, &id, &v)) {
        const crun *r = v;
        for (qpos = 0; r->nready && strmap_next(r->queues, &qpos, &place, &qv);) {
            const tqueue *q = qv;
            if (q->tail == q->head)
                continue;
            const char *type = r->g->tasks[r->t[q->v[q->head].task].task].type;
            json_int_t had = json_integer_value(json_object_get(o, type));
            json_object_set_new(o, type, json_integer(had + (json_int_t)(q->tail - q->head)));
        }
    }
    return o;
}

void core_slots(const core *c, size_t *total, size_t *free_slots)
{
    *total = *free_slots = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        *total += c->workers[i]->slots;
        *free_slots += core_free_slots(c->workers[i]);
    }
}

int core_worker_known(const core *c, const char *name)
{
    return core_find_worker(c, name, NULL) != NULL;
}

const json_t *core_task_outputs(const core *c, uint64_t run_id, int task)
{
    crun *r = core_find_run(c, run_id);
    return r && task >= 0 && (size_t)task < r->g->ntasks ? r->outputs[task] : NULL;
}

int core_over_capacity(const core *c, char *why, size_t n)
{
    for (size_t i = 0; i < c->nworkers; i++) {
        const cworker *w = c->workers[i];
        for (size_t j = 0; j < w->ncap; j++)
            if (w->used[j] > w->cap[j].amount) {
                snprintf(why, n, "worker %s holds %llu of its %llu %s", w->name,
                         (unsigned long long)w->used[j], (unsigned long long)w->cap[j].amount,
                         w->cap[j].name);
                return 1;
            }
    }
    return 0;
}

/* {name: amount} of v (cpu in cores, gpu in devices). */
static json_t *amounts_json(const res_amount *v, const uint64_t *amounts, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        uint64_t a = amounts ? amounts[i] : v[i].amount;
        int milli = !strcmp(v[i].name, "cpu") || !strcmp(v[i].name, "gpu");
        json_object_set_new(o, v[i].name, milli ? json_real((double)a / 1000.0)
                                                : json_integer((json_int_t)a));
    }
    return o;
}

json_t *core_workers_json(const core *c)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->nworkers; i++) {
        const cworker *w = c->workers[i];
        json_t *labels = json_array(), *types = json_array();
        for (size_t k = 0; k < w->nlabels; k++)
            json_array_append_new(labels, json_string(w->labels[k]));
        size_t pos = 0;
        const char *type;
        void *v;
        while (strmap_next(w->types, &pos, &type, &v))
            json_array_append_new(types, json_string(type));
        json_array_append_new(
            arr, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:I}", "name",
                           w->name, "slots", (json_int_t)w->slots, "prefetch",
                           (json_int_t)w->prefetch, "free_slots",
                           (json_int_t)core_free_slots(w), "attempts",
                           (json_int_t)u64map_count(w->running), "untracked",
                           (json_int_t)u64map_count(w->untracked), "capacity",
                           amounts_json(w->cap, NULL, w->ncap), "used",
                           amounts_json(w->cap, w->used, w->ncap), "labels", labels, "types",
                           types, "last_seen_us", (json_int_t)w->last_seen_us));
    }
    return arr;
}
