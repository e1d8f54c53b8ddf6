/* weft-sim: deterministic simulation of the run state machine.
 *
 *   weft-sim [--seed N] [--seeds COUNT] [--steps N]
 *
 * A seeded driver plays the scheduler's shell, a network and a few workers around the real
 * core: dispatches are delivered late, out of order or to dead workers; results are
 * duplicated and reordered; workers crash, go silent and rejoin; the scheduler restarts,
 * rebuilding the core from what the driver had "committed" (the effects of completed steps,
 * as the catalogue would hold them); and commits fail (--commit-failures PER_MILLE): the
 * step's effects are discarded unseen and the core is rebuilt from what was committed, as
 * the scheduler does when the catalogue cannot be written. After every step it checks:
 *
 *   1. a task never succeeds twice;
 *   2. a task is never dispatched before all its parents succeeded (a catch handler: before
 *      its catcher was caught);
 *   3. a run ends exactly once, in one terminal state, and only when all its tasks ended;
 *   4. no task gets more attempts than its retry policy's max_attempts;
 *   5. every retry delay lies within [0, min(interval * rate^(n-1), max_delay)], and equals
 *      the bound when jitter is none; no retry starts before its stored due time, even
 *      after a restart;
 *   6. a worker is never given more attempts than it has slots and queue (prefetch), nor
 *      an attempt with a timeout while its slots are all busy;
 *   7. nothing of a cancelled run is dispatched after the cancel, and it ends cancelled
 *      (unless its run-level timeout had already stopped it); a run that was not stopped
 *      succeeds exactly when none of its tasks failed or was skipped by a failure (a run of
 *      succeeded tasks and tasks a when skipped succeeds);
 *   8. a mapped task never has more than max_parallel elements started and not ended; it
 *      ends only after all its elements, succeeded exactly when at least min_success of
 *      them did, with one list entry per element in each output;
 *   9. no effect of a failed commit is ever observed: the attempt ids its dispatches took
 *      are never dispatched again, and only committed dispatches reach workers;
 *  10. the runs of a project (the odd runs, project "capped") never have more attempts in
 *      flight together than the project's limit;
 *  11. an attempt is sent again only to the worker it was dispatched to, the same process,
 *      only while its task still waits for it, and only when that worker does not hold it;
 *  12. no worker is given an attempt its free capacity (cpu, mem, gpu) does not cover, nor
 *      one whose task's labels it does not carry, and the core never counts a worker as
 *      holding more than it offers; an attempt gets the GPUs it asks for (whole devices, or
 *      one it shares) and no GPU is ever held past its whole;
 *  13. no dispatch takes a workflow's attempts in flight past its concurrency, nor a pool's
 *      past its limit (over the runs of a project);
 *  14. a skipped task never dispatches, and a task is dispatched only after each parent
 *      succeeded, or was skipped by a when (it reads none of that one's outputs, or through
 *      a ?? that found another);
 *  15. an approval never dispatches (it waits holding no worker) and is the only task that
 *      waits; it ends succeeded only with the values a signal approved, failed when one
 *      rejected it, and as timeout no sooner than its timeout after it began to wait.
 *
 * After the fault phase it drains (no more faults) and checks that every run ended
 * (liveness). A failure prints the seed and step; rerun with --seed to replay it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "common/units.h"
#include "common/xmem.h"
#include "compiler/compile.h"
#include "sim.h"
#include "tests/unit/fixture.h"

uint64_t rnd(sim *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 0x2545F4914F6CDD1DULL;
}

int chance(sim *s, int percent)
{
    return (int)(rnd(s) % 100) < percent;
}

int pick(sim *s, int n)
{
    return (int)(rnd(s) % (uint64_t)n);
}

void die(sim *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr,
            "weft-sim: seed %llu, step %ld: invariant broken: ", (unsigned long long)s->seed,
            s->step);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nreplay with: weft-sim --seed %llu\n", (unsigned long long)s->seed);
    va_end(ap);
    exit(1);
}

static dag *compile_yaml(sim *s, const char *yaml)
{
    char *e = NULL;
    dag *g = fixture_compile(s->types, "sim.yaml", yaml, &e);
    if (!g)
        die(s, "generated workflow does not compile: %s", e);
    free(e);
    return g;
}

mrun *find_run(sim *s, uint64_t id)
{
    for (int i = 0; i < s->nruns; i++)
        if (s->runs[i].id == id)
            return &s->runs[i];
    return NULL;
}

int worker_index(sim *s, const char *name)
{
    for (int i = 0; i < MAX_WORKERS; i++)
        if (!strcmp(s->w[i].name, name))
            return i;
    return -1;
}

void busy_del(sim *s, int w, uint64_t id)
{
    for (int i = 0; i < s->nbusy[w]; i++)
        if (s->busy[w][i] == id) {
            s->busy[w][i] = s->busy[w][--s->nbusy[w]];
            memcpy(s->held_res[w][i], s->held_res[w][s->nbusy[w]], sizeof s->held_res[w][i]);
            memcpy(s->held_gpu[w][i], s->held_gpu[w][s->nbusy[w]], sizeof s->held_gpu[w][i]);
            return;
        }
}

void send_msg(sim *s, msg m)
{
    if (s->nnet == MAX_MSGS) {
        json_decref(m.json);
        return; /* a full network drops, like a lost connection */
    }
    s->net[s->nnet++] = m;
}

static void trace(sim *s, const core_event *ev)
{
    static const char *const kinds[] = {"submit", "join", "heartbeat", "lost",
                                        "result", "tick", "restore",   "cancel"};
    if (!getenv("WEFT_SIM_TRACE"))
        return;
    printf("step %ld t=%lld %s worker=%s attempt=%llu ok=%d running=%zu\n", s->step,
           (long long)(s->now / 1000), kinds[ev->kind], ev->worker ? ev->worker : "-",
           (unsigned long long)ev->attempt_id, ev->ok, ev->nrunning);
    for (size_t i = 0; i < s->fx.n; i++) {
        const core_effect *e = &s->fx.v[i];
        printf("    fx %d run=%llu task=%d elem=%d more=%u state=%d attempt=%llu worker=%s %s\n",
               e->kind, (unsigned long long)e->run_id, e->task, e->elem, e->more, e->state,
               (unsigned long long)e->attempt_id, e->worker ? e->worker : "-",
               e->message ? e->message : "");
    }
    for (int w = 0; w < MAX_WORKERS; w++)
        printf("    %s busy=%d held=%d alive=%d\n", s->w[w].name, s->nbusy[w], s->w[w].nheld,
               s->w[w].alive);
}

static void restart(sim *s);

/* The step's commit fails: nothing of it is applied or sent. Its dispatches' attempt ids
 * are remembered, and the core is rebuilt from what was committed. */
static void commit_failed(sim *s)
{
    s->commit_failures++;
    for (size_t i = 0; i < s->fx.n; i++)
        if (s->fx.v[i].kind == FX_DISPATCH)
            u64map_put(s->discarded, s->fx.v[i].attempt_id, (void *)1);
    core_effects_clear(&s->fx);
    s->nlookups = 0;
    if (s->pending_submit) {
        mrun *r = s->pending_submit;
        free(r->t);
        free(r->yaml);
        dag_free(r->g);
        s->nruns--;
        s->pending_submit = NULL;
    }
    if (s->pending_cancel)
        s->pending_cancel->cancelled = 0;
    s->pending_cancel = NULL;
    restart(s);
}

static void step_core(sim *s, core_event *ev)
{
    ev->now_us = ev->wall_us = s->now;
    ev->mono_us = s->now - s->skew + (INT64_C(1) << 40);
    core_step(s->c, ev, &s->fx);
    trace(s, ev);
    /* A whole turn (the step and the lookups it asks) commits or fails together; a failed
     * one is decided before anything of it is applied. */
    if (!s->restarting && (int)(rnd(s) % 1000) < s->commit_fail_pct10) {
        commit_failed(s);
        return;
    }
    commit(s);
    char why[300];
    if (core_over_capacity(s->c, why, sizeof why))
        die(s, "%s", why);
    /* The shell answers lookups right after the step that asked (hits hold a reference in
     * the cache map, which outlives the step). */
    for (size_t i = 0; i < s->nlookups; i++) {
        core_event la = s->lookups[i];
        la.now_us = s->now;
        core_step(s->c, &la, &s->fx);
        trace(s, &la);
        commit(s);
    }
    s->nlookups = 0;
}

/* ---- actions ---- */

static void submit(sim *s)
{
    if (s->nruns == MAX_RUNS)
        return;
    mrun *r = &s->runs[s->nruns++];
    memset(r, 0, sizeof *r);
    r->id = ++s->next_run;
    r->yaml = random_workflow(s);
    r->g = compile_yaml(s, r->yaml);
    r->t = xcalloc(r->g->ntasks, sizeof *r->t);
    core_event ev = {.kind = EV_RUN_SUBMITTED, .run_id = r->id, .dag = compile_yaml(s, r->yaml),
                     .project = SIM_PROJECT(r->id)};
    s->pending_submit = r;
    step_core(s, &ev);
    s->pending_submit = NULL;
}

static void join(sim *s, int w)
{
    static const char *const types[] = {"echo"};
    sworker *sw = &s->w[w];
    uint64_t finished[RECENT];
    for (int i = 0; i < sw->nrecent; i++)
        finished[i] = sw->recent[i].attempt;
    core_event ev = {.kind = EV_WORKER_JOINED,
                     .worker = sw->name,
                     .slots = (uint32_t)sw->slots,
                     .prefetch = (uint32_t)sw->prefetch,
                     .types = types,
                     .ntypes = 1,
                     .running = sw->held,
                     .nrunning = (size_t)sw->nheld,
                     .running_gpus = sw->held_gpus,
                     .running_gpu_milli = sw->held_gpu_milli,
                     .finished = finished,
                     .nfinished = (size_t)sw->nrecent,
                     .again = sw->again,
                     .heartbeat_us = 1000000,
                     .capacity = sw->cap,
                     .ncapacity = 3,
                     .labels = (char *const *)&sw->label,
                     .nlabels = sw->label ? 1 : 0};
    /* The core's count restarts from what the worker reports. */
    s->nbusy[w] = sw->nheld;
    memcpy(s->busy[w], sw->held, (size_t)sw->nheld * sizeof *sw->held);
    memset(s->held_res[w], 0, sizeof s->held_res[w]);
    for (int i = 0; i < sw->nheld; i++) {
        s->held_gpu[w][i][0] = sw->held_gpus[i];
        s->held_gpu[w][i][1] = sw->held_gpu_milli[i];
    }
    sw->registered = 1;
    step_core(s, &ev);
    sw->again = 1;
    for (int i = 0; i < sw->nrecent; i++) {
        msg m = sw->recent[i];
        m.json = json_incref(m.json);
        send_msg(s, m);
    }
}

/* Worker sw no longer holds its k-th attempt. */
static void held_del(sworker *sw, int k)
{
    sw->nheld--;
    sw->held[k] = sw->held[sw->nheld];
    sw->held_inputs[k] = sw->held_inputs[sw->nheld];
    sw->held_gpus[k] = sw->held_gpus[sw->nheld];
    sw->held_gpu_milli[k] = sw->held_gpu_milli[sw->nheld];
}

/* A dispatch or a stop reaches worker m.w. */
static void deliver_to_worker(sim *s, msg m)
{
    if (m.stop) {
        sworker *sw = &s->w[m.w];
        for (int k = 0; sw->alive && k < sw->nheld; k++)
            if (sw->held[k] == m.attempt) {
                json_decref(sw->held_inputs[k]);
                held_del(sw, k);
                send_msg(s, (msg){.w = m.w, .attempt = m.attempt, .ok = 0, .cls = ERRC_CANCELLED});
                break;
            }
        return;
    }
    sworker *sw = &s->w[m.w];
    for (int k = 0; sw->alive && k < sw->nheld; k++)
        if (sw->held[k] == m.attempt) {
            json_decref(m.json); /* like weft-worker: a second copy is ignored */
            return;
        }
    if (sw->alive && sw->nheld < sw->slots + sw->prefetch) {
        sw->held_inputs[sw->nheld] = m.json;
        sw->held_gpus[sw->nheld] = m.gpu_mask;
        sw->held_gpu_milli[sw->nheld] = m.gpu_milli;
        sw->held[sw->nheld++] = m.attempt;
    } else if (sw->alive) {
        /* Like weft-worker: no free executor, so the attempt fails at once. */
        json_decref(m.json);
        send_msg(s, (msg){.w = m.w, .attempt = m.attempt, .ok = 0, .cls = ERRC_FATAL});
    } else {
        json_decref(m.json);
    }
}

static void deliver(sim *s, int allow_dup)
{
    if (!s->nnet)
        return;
    int i = pick(s, s->nnet);
    msg m = s->net[i];
    int dup = allow_dup && !m.to_worker && chance(s, 10);
    if (!dup)
        s->net[i] = s->net[--s->nnet];
    else
        m.json = json_incref(m.json);
    if (m.to_worker) {
        deliver_to_worker(s, m);
        return;
    }
    core_event ev = {.kind = EV_RESULT,
                     .attempt_id = m.attempt,
                     .ok = m.ok,
                     .errclass = m.cls,
                     .message = m.ok ? NULL : "simulated failure",
                     .outputs = m.json,
                     .worker = s->w[m.w].name};
    s->results++;
    busy_del(s, m.w, m.attempt); /* its slot is free whether the core waited for it or not */
    step_core(s, &ev);
    json_decref(m.json);
}

static void complete(sim *s, int w, int always_ok)
{
    sworker *sw = &s->w[w];
    if (!sw->alive || !sw->nheld)
        return;
    int i = pick(s, sw->nheld);
    msg m = {.w = w, .attempt = sw->held[i], .ok = 1};
    int roll = pick(s, 100);
    if (!always_ok && roll < 10)
        m.ok = 0, m.cls = ERRC_TRANSIENT;
    else if (!always_ok && roll < 13)
        m.ok = 0, m.cls = ERRC_FATAL;
    else if (!always_ok && roll < 20)
        m.ok = 0, m.cls = ERRC_CRASH;
    m.json = m.ok ? json_incref(sw->held_inputs[i]) : NULL; /* echo: outputs = inputs */
    json_decref(sw->held_inputs[i]);
    held_del(sw, i);
    if (sw->nrecent == RECENT) {
        json_decref(sw->recent[0].json);
        memmove(sw->recent, sw->recent + 1, (RECENT - 1) * sizeof *sw->recent);
        sw->nrecent--;
    }
    sw->recent[sw->nrecent] = m;
    sw->recent[sw->nrecent++].json = json_incref(m.json);
    send_msg(s, m);
}

static void heartbeat(sim *s, int w)
{
    sworker *sw = &s->w[w];
    if (!sw->alive)
        return;
    if (!sw->registered || !core_worker_known(s->c, sw->name)) {
        join(s, w); /* the scheduler asks an unknown worker to register */
        return;
    }
    core_event ev = {.kind = EV_HEARTBEAT, .worker = sw->name};
    step_core(s, &ev);
}

static void crash_worker(sim *s, int w)
{
    sworker *sw = &s->w[w];
    /* Its connection goes with it: what was sent to it never reaches its successor. */
    for (int i = 0; i < s->nnet;) {
        if (s->net[i].to_worker && s->net[i].w == w) {
            json_decref(s->net[i].json);
            s->net[i] = s->net[--s->nnet];
        } else {
            i++;
        }
    }
    for (int i = 0; i < sw->nheld; i++)
        json_decref(sw->held_inputs[i]);
    for (int i = 0; i < sw->nrecent; i++)
        json_decref(sw->recent[i].json);
    sw->nheld = sw->nrecent = 0;
    sw->alive = sw->registered = sw->again = 0;
}

static core_task_snapshot snapshot_of(sim *s, const mtask *t)
{
    return (core_task_snapshot){.state = t->state,
                                .attempts = t->attempts,
                                .attempt_id = t->running,
                                .worker = t->running ? s->w[t->worker].name : NULL,
                                .dispatched_us = t->running ? t->dispatched : 0,
                                .outputs = t->outputs,
                                .due_us = t->due};
}

/* The scheduler restarts: what it had sent to workers either reaches them before they
 * register again (a connection delivers in order) or never does; results queued at it are
 * lost; and the core is rebuilt from the committed model, as the scheduler rebuilds from
 * the catalogue. Attempt ids go on after every id the old core issued, as the scheduler's
 * do after a failed commit. */
static void restart(sim *s)
{
    s->restarts++;
    s->restarting = 1;
    uint64_t next = core_next_attempt_id(s->c);
    if (next < s->max_attempt + 1)
        next = s->max_attempt + 1;
    for (int i = 0; i < s->nnet;) {
        if (!s->net[i].to_worker) {
            i++;
            continue;
        }
        msg m = s->net[i];
        s->net[i] = s->net[--s->nnet];
        if (chance(s, 50))
            deliver_to_worker(s, m);
        else
            json_decref(m.json);
    }
    for (int i = 0; i < s->nnet;) {
        if (!s->net[i].to_worker && chance(s, 50)) {
            json_decref(s->net[i].json);
            s->net[i] = s->net[--s->nnet];
        } else {
            i++;
        }
    }
    core_destroy(&s->c);
    s->c = core_new(next, s->seed + (uint64_t)s->step);
    core_set_project(s->c, "capped", CAPPED_INFLIGHT, 0, 1);
    for (int w = 0; w < MAX_WORKERS; w++) {
        s->w[w].registered = 0;
        s->nbusy[w] = 0;
    }
    for (int i = 0; i < s->nruns; i++) {
        mrun *r = &s->runs[i];
        if (r->ended)
            continue;
        core_task_snapshot *snap = xcalloc(r->g->ntasks, sizeof *snap);
        core_task_snapshot **elems = xcalloc(r->g->ntasks, sizeof *elems);
        for (size_t k = 0; k < r->g->ntasks; k++) {
            snap[k] = snapshot_of(s, &r->t[k]);
            elems[k] = xcalloc(r->t[k].nelems + 1, sizeof **elems);
            for (size_t j = 0; j < r->t[k].nelems; j++)
                elems[k][j] = snapshot_of(s, &r->t[k].elems[j]);
            snap[k].elems = elems[k];
            snap[k].nelems = r->t[k].nelems;
        }
        core_event ev = {.kind = EV_RUN_RESTORED,
                         .run_id = r->id,
                         .dag = compile_yaml(s, r->yaml),
                         .snapshot = snap,
                         .project = SIM_PROJECT(r->id)};
        step_core(s, &ev);
        for (size_t k = 0; k < r->g->ntasks; k++)
            free(elems[k]);
        free(elems);
        free(snap);
        if (r->cancelled && !r->ended) {
            core_event cancel = {.kind = EV_CANCEL, .run_id = r->id};
            step_core(s, &cancel);
        }
    }
    s->restarting = 0;
}

/* A person decides one waiting approval (of the committed model): approves it with values,
 * or rejects it. */
static void signal_approval(sim *s)
{
    int nwait = 0;
    for (int i = 0; i < s->nruns; i++)
        for (size_t k = 0; !s->runs[i].ended && k < s->runs[i].g->ntasks; k++)
            nwait += s->runs[i].t[k].state == TS_WAITING;
    if (!nwait)
        return;
    int which = pick(s, nwait);
    for (int i = 0; i < s->nruns; i++)
        for (size_t k = 0; !s->runs[i].ended && k < s->runs[i].g->ntasks; k++) {
            if (s->runs[i].t[k].state != TS_WAITING || which--)
                continue;
            json_t *out = json_pack("{s:i, s:[i,i], s:s}", "x", 0, "l", 1, 2, "approved_by",
                                    "sim");
            core_event ev = {.kind = EV_SIGNAL, .run_id = s->runs[i].id, .task = (int)k,
                             .ok = chance(s, 70), .outputs = out, .message = "no",
                             .worker = "sim"};
            s->signals++;
            step_core(s, &ev);
            json_decref(out);
            return;
        }
}

static void fault_step(sim *s)
{
    int roll = pick(s, 1000), w = pick(s, MAX_WORKERS);
    s->now += 1000;
    if (roll < 250)
        deliver(s, 1);
    else if (roll < 500)
        complete(s, w, 0);
    else if (roll < 600) {
        s->now += (int64_t)pick(s, 800) * 1000;
        if (!pick(s, 8)) { /* the wall clock stepped ahead (NTP): timers keep their length */
            int64_t step = (int64_t)pick(s, 3000) * 1000;
            s->now += step;
            s->skew += step;
        }
        /* One tick in four late: the scheduler did not hear its workers meanwhile. */
        core_event ev = {.kind = EV_TICK, .late_us = pick(s, 4) ? 0 : pick(s, 500) * 1000};
        step_core(s, &ev);
    } else if (roll < 920)
        heartbeat(s, w);
    else if (roll < 930) {
        if (s->w[w].alive)
            crash_worker(s, w);
        else
            s->w[w].alive = 1;
    } else if (roll < 933)
        restart(s);
    else if (roll < 936 && s->nruns) { /* none yet when the first submit's commit failed */
        mrun *r = &s->runs[s->nruns - 1 - pick(s, s->nruns < 4 ? s->nruns : 4)];
        if (!r->ended && !r->cancelled) {
            r->cancelled = 1;
            core_event ev = {.kind = EV_CANCEL, .run_id = r->id};
            s->pending_cancel = r;
            step_core(s, &ev);
            s->pending_cancel = NULL;
        }
    } else if (roll < 950) {
        signal_approval(s);
    } else if (roll < 959) {
        int open = 0;
        for (int i = 0; i < s->nruns; i++)
            open += !s->runs[i].ended;
        if (open < 4)
            submit(s);
    } else
        deliver(s, 0);
}

/* No more faults: everything is delivered and completed until every run has ended. */
static void drain(sim *s)
{
    s->commit_fail_pct10 = 0;
    for (int w = 0; w < MAX_WORKERS; w++)
        s->w[w].alive = 1;
    for (long i = 0; i < 200000; i++) {
        int open = 0;
        for (int r = 0; r < s->nruns; r++)
            open += !s->runs[r].ended;
        if (!open)
            return;
        s->step++;
        s->now += 1000;
        int roll = pick(s, 5), w = pick(s, MAX_WORKERS);
        if (roll == 0)
            deliver(s, 0);
        else if (roll == 1)
            complete(s, w, 1);
        else if (roll == 2)
            heartbeat(s, w);
        else if (roll == 3)
            signal_approval(s);
        else {
            s->now += 200000;
            core_event ev = {.kind = EV_TICK, .late_us = pick(s, 2) ? 0 : 300000};
            step_core(s, &ev);
        }
    }
    die(s, "liveness: runs still open after the drain");
}

static void free_sim(sim *s)
{
    for (int i = 0; i < s->nruns; i++) {
        for (size_t k = 0; k < s->runs[i].g->ntasks; k++) {
            mtask *t = &s->runs[i].t[k];
            for (size_t e = 0; e < t->nelems; e++)
                json_decref(t->elems[e].outputs);
            free(t->elems);
            json_decref(t->outputs);
        }
        free(s->runs[i].t);
        free(s->runs[i].yaml);
        dag_free(s->runs[i].g);
    }
    for (int i = 0; i < s->nnet; i++)
        json_decref(s->net[i].json);
    for (int w = 0; w < MAX_WORKERS; w++)
        crash_worker(s, w);
    core_effects_free(&s->fx);
    core_destroy(&s->c);
    typereg_destroy(&s->types);
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next(s->cache, &pos, &k, &v))
        json_decref(v);
    strmap_destroy(&s->cache);
    u64map_destroy(&s->discarded);
    free(s->lookups);
}

static void run_seed(uint64_t seed, long steps, int commit_failures)
{
    sim s;
    memset(&s, 0, sizeof s);
    s.seed = seed;
    s.commit_fail_pct10 = commit_failures;
    s.discarded = u64map_new();
    s.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    s.now = 1000000000;
    s.c = core_new(1, seed);
    core_set_project(s.c, "capped", CAPPED_INFLIGHT, 0, 1);
    s.types = fixture_types();
    s.cache = strmap_new();
    for (int w = 0; w < MAX_WORKERS; w++) {
        snprintf(s.w[w].name, sizeof s.w[w].name, "w%d", w);
        s.w[w].alive = 1;
        s.w[w].slots = 1 + pick(&s, 4);
        s.w[w].prefetch = pick(&s, 3);
        /* w0 fits every task random_workflow makes; w1 and w2 only some. */
        static const uint64_t cpu[] = {4000, 2000, 1000}, mem[] = {2u << 30, 1u << 30,
                                                                    2u << 30};
        s.w[w].cap[0] = (res_amount){"cpu", cpu[w]};
        s.w[w].cap[1] = (res_amount){"mem", mem[w]};
        s.w[w].cap[2] = (res_amount){"gpu", w == 0 ? 2000 : 0}; /* two devices */
        s.w[w].label = w == 0 ? "pool=a" : w == 1 ? "pool=b" : NULL;
    }
    submit(&s);
    for (s.step = 1; s.step <= steps; s.step++)
        fault_step(&s);
    drain(&s);
    int cancelled = 0, caught = 0;
    for (int i = 0; i < s.nruns; i++) {
        cancelled += s.runs[i].cancelled;
        for (size_t k = 0; k < s.runs[i].g->ntasks; k++)
            caught += s.runs[i].t[k].state == TS_CAUGHT;
    }
    printf("seed %llu: %ld steps, %d runs (%d cancelled), %d caught failures, %ld dispatches, "
           "%ld results (%ld stale), %ld outputs reused, %ld map elements, %ld worker losses, "
           "%ld scheduler restarts (%ld after a failed commit), %ld dispatches sent again, "
           "%ld approvals decided: ok\n",
           (unsigned long long)seed, s.step, s.nruns, cancelled, caught, s.dispatches, s.results,
           s.stale, s.hits, s.elements, s.losses, s.restarts, s.commit_failures, s.resent,
           s.signals);
    free_sim(&s);
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, nseeds = 1, steps = 100000, failures = 5;
    for (int i = 1; i < argc; i += 2) {
        uint64_t *dst = !strcmp(argv[i], "--seed")              ? &seed
                        : !strcmp(argv[i], "--seeds")           ? &nseeds
                        : !strcmp(argv[i], "--steps")           ? &steps
                        : !strcmp(argv[i], "--commit-failures") ? &failures
                                                                : NULL;
        if (!dst || i + 1 >= argc || units_uint(argv[i + 1], 0, UINT64_MAX / 2, dst) < 0 ||
            (dst != &failures && *dst == 0) || failures > 1000) {
            fprintf(stderr, "usage: weft-sim [--seed N] [--seeds COUNT] [--steps N] "
                            "[--commit-failures PER_MILLE]\n");
            return 2;
        }
    }
    for (uint64_t k = 0; k < nseeds; k++)
        run_seed(seed + k, (long)steps, (int)failures);
    return 0;
}
