/* core_worker: workers in the run state machine: joining (and re-registering after either
 * side restarted), being lost, and the credits (free slots) dispatch may use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "common/xmem.h"
#include "scheduler/core_int.h"

uint64_t core_unknown_claim[1];

/* Frees the claims of w's untracked attempts, and the map. */
static void drop_untracked(cworker *w)
{
    size_t pos = 0;
    uint64_t id;
    void *v;
    while (w->untracked && u64map_next(w->untracked, &pos, &id, &v))
        if (v != core_unknown_claim)
            free(v);
    u64map_destroy(&w->untracked);
}

static void drop_capacity(cworker *w)
{
    res_free(&w->cap, &w->ncap);
    free(w->used);
    w->used = NULL;
    for (size_t i = 0; i < w->nlabels; i++)
        free(w->labels[i]);
    free(w->labels);
    w->labels = NULL;
    w->nlabels = 0;
}

void core_free_worker(cworker *w)
{
    strmap_destroy(&w->types);
    u64map_destroy(&w->running);
    drop_untracked(w);
    drop_capacity(w);
    free(w->name);
    free(w);
}

static const dag_task *attempt_task(const cattempt *a)
{
    return &a->run->g->tasks[a->run->t[a->task].task];
}

/* What attempt a holds of w's capacity: per entry of w->cap (ncap of them), then its GPUs
 * (claim[ncap], bits of w's devices) and its share of each (claim[ncap + 1]). A resource w
 * does not offer is not counted: nothing needing it was placed there. */
static void claim_of(const cworker *w, const cattempt *a, uint64_t *claim)
{
    const dag_task *t = attempt_task(a);
    memset(claim, 0, (w->ncap + CLAIM_GPU_SLOTS) * sizeof *claim);
    for (size_t i = 0; i < t->nres; i++) {
        size_t j = res_index(w->cap, w->ncap, t->res[i].name);
        if (j < w->ncap)
            claim[j] = t->res[i].amount;
    }
    claim[w->ncap] = a->gpu_mask;
    claim[w->ncap + 1] = a->gpu_milli;
}

/* Adds (sign 1) or takes back (-1) a claim to what w's attempts hold. */
static void add_claim(cworker *w, const uint64_t *claim, int sign)
{
    for (size_t j = 0; j < w->ncap; j++)
        w->used[j] += sign > 0 ? claim[j] : -claim[j];
    for (uint32_t d = 0; d < w->ngpu; d++)
        if (claim[w->ncap] & (UINT64_C(1) << d))
            w->gpu_used[d] += sign > 0 ? claim[w->ncap + 1] : -claim[w->ncap + 1];
}

static void hold(cworker *w, const cattempt *a, int sign)
{
    uint64_t claim[RES_MAX + CLAIM_GPU_SLOTS];
    claim_of(w, a, claim);
    add_claim(w, claim, sign);
}

/* The GPUs an attempt asking for want (thousandths of a device) would get on w now, with
 * its share of each into *milli: as many whole devices as it asks, unshared; or for a share
 * of one, the fullest device it still fits on (shares pack together and leave whole devices
 * free). 0 when they are not free. */
static uint64_t gpu_pick(const cworker *w, uint64_t want, uint32_t *milli)
{
    uint64_t mask = 0, got = 0;
    if (want >= 1000) {
        for (uint32_t d = 0; d < w->ngpu && got < want / 1000; d++)
            if (!w->gpu_used[d]) {
                mask |= UINT64_C(1) << d;
                got++;
            }
        *milli = 1000;
        return got == want / 1000 ? mask : 0;
    }
    int best = -1;
    for (uint32_t d = 0; d < w->ngpu; d++)
        if (w->gpu_used[d] + want <= 1000 &&
            (best < 0 || w->gpu_used[d] > w->gpu_used[best]))
            best = (int)d;
    *milli = (uint32_t)want;
    return best < 0 ? 0 : UINT64_C(1) << best;
}

int core_may_run(const cworker *w, const dag_task *t)
{
    if (!strmap_get(w->types, t->type))
        return 0;
    for (size_t i = 0; i < t->nlabels; i++)
        if (!res_has_label(w->labels, w->nlabels, t->labels[i]))
            return 0;
    return 1;
}

int core_fits(const cworker *w, const dag_task *t, int now)
{
    if (!core_may_run(w, t))
        return 0;
    for (size_t i = 0; i < t->nres; i++) {
        size_t j = res_index(w->cap, w->ncap, t->res[i].name);
        uint64_t want = t->res[i].amount;
        if (j == w->ncap || want > w->cap[j].amount ||
            (now && w->used[j] > w->cap[j].amount - want))
            return 0;
    }
    uint64_t gpu = res_get(t->res, t->nres, "gpu");
    uint32_t milli;
    if (gpu && (!w->ngpu || gpu / 1000 > w->ngpu))
        return 0;
    return !gpu || !now || gpu_pick(w, gpu, &milli) != 0;
}

void core_adopt_gpus(const cworker *w, cattempt *a, uint64_t mask, uint32_t milli)
{
    uint64_t want = res_get(attempt_task(a)->res, attempt_task(a)->nres, "gpu");
    uint64_t mine = w->ngpu < 64 ? (UINT64_C(1) << w->ngpu) - 1 : UINT64_MAX;
    (void)milli; /* the share is the task's: what a worker reports cannot enlarge it */
    a->gpu_milli = want >= 1000 ? 1000 : (uint32_t)want;
    a->gpu_mask = mask & mine;
    if (!want || (uint64_t)__builtin_popcountll(a->gpu_mask) != (want >= 1000 ? want / 1000 : 1))
        a->gpu_mask = 0; /* not what the task asks: placed anew (core_worker_take) */
}

void core_worker_take(cworker *w, cattempt *a)
{
    uint64_t gpu = res_get(attempt_task(a)->res, attempt_task(a)->nres, "gpu");
    a->w = w;
    if (gpu && !a->gpu_mask) /* a new placement; one the worker reported is kept */
        a->gpu_mask = gpu_pick(w, gpu, &a->gpu_milli);
    u64map_put(w->running, a->id, a);
    hold(w, a, 1);
    core_refresh_credits(w);
}

void core_worker_give_back(cworker *w, cattempt *a)
{
    if (u64map_del(w->running, a->id))
        hold(w, a, -1);
    core_refresh_credits(w);
}

void core_untrack(cworker *w, const cattempt *a)
{
    uint64_t *claim = xcalloc(w->ncap + CLAIM_GPU_SLOTS, sizeof *claim);
    claim_of(w, a, claim);
    add_claim(w, claim, 1);
    void *old = u64map_put(w->untracked, a->id, claim);
    if (old && old != core_unknown_claim)
        free(old);
}

int core_untracked_ended(cworker *w, uint64_t id)
{
    uint64_t *claim = u64map_del(w->untracked, id);
    if (!claim)
        return 0;
    if (claim != core_unknown_claim) {
        add_claim(w, claim, -1);
        free(claim);
    }
    core_refresh_credits(w);
    return 1;
}

/* Takes the capacity and labels ev registers, and counts again what w's running attempts
 * hold of it (its untracked ones were just reset: they hold slots only). */
static void set_capacity(cworker *w, const core_event *ev)
{
    int same = w->ncap == ev->ncapacity;
    for (size_t i = 0; same && i < w->ncap; i++)
        same = !strcmp(w->cap[i].name, ev->capacity[i].name);
    drop_capacity(w);
    for (size_t i = 0; i < ev->ncapacity; i++)
        res_set(&w->cap, &w->ncap, ev->capacity[i].name, ev->capacity[i].amount);
    w->used = xcalloc(w->ncap + 1, sizeof *w->used);
    uint64_t gpus = res_get(w->cap, w->ncap, "gpu") / 1000;
    w->ngpu = gpus < RES_GPU_MAX ? (uint32_t)gpus : RES_GPU_MAX;
    memset(w->gpu_used, 0, sizeof w->gpu_used);
    w->labels = xcalloc(ev->nlabels + 1, sizeof *w->labels);
    for (size_t i = 0; i < ev->nlabels; i++)
        w->labels[w->nlabels++] = xstrdup(ev->labels[i]);
    size_t pos = 0;
    uint64_t id;
    void *v;
    while (u64map_next(w->running, &pos, &id, &v))
        hold(w, v, 1);
    /* Stopped attempts' claims are per resource of the old capacity: kept when it is laid
     * out alike, else they hold a slot only. */
    size_t n = 0;
    uint64_t *forget = xcalloc(u64map_count(w->untracked) + 1, sizeof *forget);
    for (pos = 0; u64map_next(w->untracked, &pos, &id, &v);) {
        if (v == core_unknown_claim)
            continue;
        if (!same) {
            free(v);
            forget[n++] = id;
            continue;
        }
        add_claim(w, v, 1);
    }
    for (size_t i = 0; i < n; i++)
        u64map_put(w->untracked, forget[i], core_unknown_claim);
    free(forget);
}

static size_t busy(const cworker *w)
{
    return u64map_count(w->running) + u64map_count(w->untracked);
}

/* A worker's credits are its slots and the attempts it queues (prefetch), minus everything
 * occupying them: the attempts the core waits for on it and those it reported that the
 * core no longer tracks. Derived, never counted up and down, so it cannot drift. */
void core_refresh_credits(cworker *w)
{
    size_t cap = (size_t)w->slots + w->prefetch, b = busy(w);
    w->credits = cap > b ? (uint32_t)(cap - b) : 0;
}

uint32_t core_free_slots(const cworker *w)
{
    size_t b = busy(w);
    return w->slots > b ? w->slots - (uint32_t)b : 0;
}

int core_may_take(const cworker *w, int need_slot)
{
    return w->credits && (!need_slot || core_free_slots(w));
}

void core_send_attempt(core_effects *fx, enum core_fx_kind kind, cattempt *a, cworker *w,
                       json_t *inputs, int64_t now, int64_t due_us)
{
    a->dispatched_us = now;
    core_worker_take(w, a);
    core_effect *e = core_emit_unit(fx, kind, a->run, a->task);
    e->attempt_id = a->id;
    e->attempt_no = a->no;
    e->worker = xstrdup(w->name);
    e->json = inputs;
    e->due_us = due_us;
    e->gpu_mask = a->gpu_mask;
    e->gpu_milli = a->gpu_milli;
}

cworker *core_find_worker(const core *c, const char *name, size_t *index)
{
    for (size_t i = 0; i < c->nworkers; i++)
        if (strcmp(c->workers[i]->name, name) == 0) {
            if (index)
                *index = i;
            return c->workers[i];
        }
    return NULL;
}

int core_reported(const core_event *ev, uint64_t id)
{
    for (size_t i = 0; ev && i < ev->nrunning; i++)
        if (ev->running[i] == id)
            return 1;
    for (size_t i = 0; ev && i < ev->nfinished; i++)
        if (ev->finished[i] == id)
            return 1;
    return 0;
}

/* Fails what w runs, except what its registration ev (may be NULL) reports as running or
 * finished (its result follows). */
static void fail_running(core *c, cworker *w, const core_event *ev, const char *why, int64_t now,
                         core_effects *fx)
{
    size_t n = u64map_count(w->running), k = 0, pos = 0;
    cattempt **lost = xcalloc(n + 1, sizeof *lost);
    uint64_t id;
    void *v;
    while (u64map_next(w->running, &pos, &id, &v))
        if (!core_reported(ev, id))
            lost[k++] = v;
    for (size_t i = 0; i < k; i++)
        core_attempt_ended(c, lost[i], 0, ERRC_LOST, why, NULL, now, fx);
    free(lost);
}

void core_on_worker_joined(core *c, const core_event *ev, core_effects *fx)
{
    cworker *w = core_find_worker(c, ev->worker, NULL);
    if (w) {
        /* A worker we know registered again (it or we restarted): keep what it still runs,
         * fail what it no longer knows about. */
        char why[256];
        snprintf(why, sizeof why, "worker '%s' re-registered without this attempt", w->name);
        fail_running(c, w, ev, why, ev->now_us, fx);
        strmap_destroy(&w->types);
    } else {
        w = xcalloc(1, sizeof *w);
        w->name = xstrdup(ev->worker);
        w->running = u64map_new();
        xgrow(&c->workers, &c->capworkers, c->nworkers + 1, sizeof *c->workers);
        c->workers[c->nworkers++] = w;
    }
    /* Attempts restored after a scheduler restart belong to the worker that reports them;
     * attempts it reports that the core no longer waits for still occupy its slots, and
     * a stopped one what it held (while the worker offers the same resources). */
    u64map *old = w->untracked;
    w->untracked = u64map_new();
    for (size_t i = 0; i < ev->nrunning; i++)
        if (ev->running[i] && !u64map_get(c->attempts, ev->running[i])) {
            void *claim = old ? u64map_del(old, ev->running[i]) : NULL;
            u64map_put(w->untracked, ev->running[i], claim ? claim : core_unknown_claim);
        }
    if (old) {
        u64map *rest = w->untracked;
        w->untracked = old;
        drop_untracked(w);
        w->untracked = rest;
    }
    set_capacity(w, ev);
    /* One the core knows nothing of still holds the GPUs it reports. */
    for (size_t i = 0; ev->running_gpus && i < ev->nrunning; i++)
        if (ev->running_gpus[i] && u64map_get(w->untracked, ev->running[i]) ==
                                       core_unknown_claim) {
            /* Its devices only, as its other resources are not counted: it may be one the
             * core failed before it reached the worker (which then re-registered), running
             * beside what took its place. No new attempt goes on those devices. */
            uint64_t *claim = xcalloc(w->ncap + CLAIM_GPU_SLOTS, sizeof *claim);
            uint32_t milli = ev->running_gpu_milli ? ev->running_gpu_milli[i] : 1000;
            claim[w->ncap] = ev->running_gpus[i];
            claim[w->ncap + 1] = milli && milli < 1000 ? milli : 1000;
            add_claim(w, claim, 1);
            u64map_put(w->untracked, ev->running[i], claim);
        }
    w->types = strmap_new();
    for (size_t i = 0; i < ev->ntypes; i++)
        strmap_put(w->types, ev->types[i], (void *)1);
    w->slots = ev->slots;
    w->prefetch = ev->prefetch;
    core_refresh_credits(w);
    w->last_seen_us = ev->now_us;
    w->grace_until_us = 0;
    w->heartbeat_us = ev->heartbeat_us > 0 ? ev->heartbeat_us : 1000000;
    core_effect *e = core_emit(fx, FX_WORKER_STATE);
    e->worker = xstrdup(w->name);
    e->message = xstrdup("up");
    core_claim_orphans(c, w, ev, fx);
    core_refresh_credits(w);
    core_waiting_rearm(c);
}

void core_worker_lost(core *c, size_t index, const char *why, int64_t now, core_effects *fx)
{
    cworker *w = c->workers[index];
    c->workers[index] = c->workers[--c->nworkers];
    fail_running(c, w, NULL, why, now, fx);
    core_effect *e = core_emit(fx, FX_WORKER_STATE);
    e->worker = xstrdup(w->name);
    e->message = xstrdup("lost");
    core_free_worker(w);
}

const char *core_attempt_owner(const core *c, uint64_t attempt_id)
{
    cattempt *a = u64map_get(c->attempts, attempt_id);
    return !a ? NULL : a->w ? a->w->name : a->orphan_of;
}

size_t core_nworkers(const core *c)
{
    return c->nworkers;
}
