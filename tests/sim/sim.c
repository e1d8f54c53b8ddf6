/* weft-sim: deterministic simulation of the run state machine.
 *
 *   weft-sim [--seed N] [--seeds COUNT] [--steps N]
 *
 * A seeded driver plays the scheduler's shell, a network and a few workers around the real
 * core: dispatches are delivered late, out of order or to dead workers; results are
 * duplicated and reordered; workers crash, go silent and rejoin; the scheduler restarts,
 * rebuilding the core from what the driver had "committed" (the effects of completed steps,
 * as the catalogue would hold them). After every step it checks:
 *
 *   1. a task never succeeds twice;
 *   2. a task is never dispatched before all its parents succeeded (a catch handler: before
 *      its catcher was caught);
 *   3. a run ends exactly once, in one terminal state, and only when all its tasks ended;
 *   4. no task gets more attempts than its retry policy's max_attempts;
 *   5. every retry delay lies within [0, min(interval * rate^(n-1), max_delay)], and equals
 *      the bound when jitter is none; no retry starts before its stored due time, even
 *      after a restart;
 *   6. a worker is never given more attempts than it has slots;
 *   7. nothing of a cancelled run is dispatched after the cancel, and it ends cancelled
 *      (unless its run-level timeout had already stopped it); a run that was not stopped
 *      succeeds exactly when none of its tasks failed or was skipped.
 *
 * After the fault phase it drains (no more faults) and checks that every run ended
 * (liveness). A failure prints the seed and step; rerun with --seed to replay it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "common/strmap.h"
#include "common/units.h"
#include "common/xmem.h"
#include "scheduler/compile.h"
#include "scheduler/core.h"
#include "scheduler/typereg.h"

#define MAX_RUNS    4096
#define MAX_WORKERS 3
#define MAX_MSGS    4096
#define MAX_HELD    8
#define RECENT      16

typedef struct mtask {
    int state, attempts, succeeded;
    uint64_t running; /* attempt in flight, 0 when none */
    json_t *outputs;
    int64_t due;
} mtask;

/* A run as the catalogue would hold it, with its own compiled dag for the checks. */
typedef struct mrun {
    uint64_t id;
    char *yaml;
    dag *g;
    mtask *t;
    int ended;
    int cancelled;
} mrun;

typedef struct msg {
    int to_worker; /* 1: a dispatch (or a stop) to worker w; 0: a result from worker w */
    int stop;      /* with to_worker: stop the attempt */
    int w;
    uint64_t attempt;
    int ok, cls;
    json_t *json; /* dispatch: inputs; result: outputs */
} msg;

typedef struct sworker {
    char name[16];
    int alive, registered, slots;
    uint64_t held[MAX_HELD];
    json_t *held_inputs[MAX_HELD];
    int nheld;
    msg recent[RECENT]; /* results sent, resent after re-registering */
    int nrecent;
} sworker;

typedef struct sim {
    uint64_t rng, seed;
    long step;
    int64_t now;
    core *c;
    core_effects fx;
    typereg *types;
    mrun runs[MAX_RUNS];
    int nruns;
    uint64_t next_run;
    sworker w[MAX_WORKERS];
    msg net[MAX_MSGS];
    int nnet;
    uint64_t max_attempt;
    /* Per worker, the attempts the core should count against its slots: those it dispatched
     * and has not ended, plus those the worker reported running at registration. */
    uint64_t busy[MAX_WORKERS][64];
    int nbusy[MAX_WORKERS];
    long dispatches, results, restarts, losses, stale, hits;
    strmap *cache;        /* cache key -> outputs recorded by memoized tasks */
    core_event *lookups;  /* answers to give the core after the current step */
    size_t nlookups, caplookups;
} sim;

static uint64_t rnd(sim *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 0x2545F4914F6CDD1DULL;
}

static int chance(sim *s, int percent)
{
    return (int)(rnd(s) % 100) < percent;
}

static int pick(sim *s, int n)
{
    return (int)(rnd(s) % (uint64_t)n);
}

static void die(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(sim *s, const char *fmt, ...)
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

static typereg *sim_types(void)
{
    json_t *j = json_loads(
        "{\"plugins\":[{\"name\":\"builtin\",\"version\":\"1\",\"path\":\"-\",\"types\":["
        "{\"name\":\"echo\",\"version\":\"1\",\"inputs\":[{\"name\":\"*\",\"type\":\"any\","
        "\"optional\":true}],\"outputs\":[{\"name\":\"*\",\"type\":\"any\"}]}]}]}",
        0, NULL);
    typereg *r = typereg_new();
    typereg_add_description(r, j);
    json_decref(j);
    return r;
}

static dag *compile_yaml(sim *s, const char *yaml)
{
    diag *d = diag_new("sim.yaml");
    compile_input in = {.file = "sim.yaml", .text = yaml, .len = strlen(yaml), .types = s->types};
    dag *g = compile_workflow(&in, d);
    if (!g) {
        char *e = diag_render(d);
        die(s, "generated workflow does not compile: %s", e);
    }
    diag_destroy(&d);
    return g;
}

/* A random workflow: echo tasks reading outputs of up to three earlier tasks, some with
 * needs, each with a random retry policy. */
static char *random_workflow(sim *s)
{
    size_t cap = 1 << 16, len = 0;
    char *y = xmalloc(cap);
    int n = 3 + pick(s, 30);
    int catcher[40]; /* catcher[h]: the task that catches to h, or -1 */
    for (int i = 0; i < 40; i++)
        catcher[i] = -1;
    len += (size_t)snprintf(y + len, cap - len, "workflow: sim\n");
    if (chance(s, 20))
        len += (size_t)snprintf(y + len, cap - len, "timeout: %ds\n", 1 + pick(s, 60));
    len += (size_t)snprintf(y + len, cap - len, "tasks:\n");
    static const char *const classes[] = {"transient", "crash", "lost", "timeout", "fatal"};
    for (int i = 0; i < n; i++) {
        len +=
            (size_t)snprintf(y + len, cap - len, "  t%d:\n    type: echo\n    with: { x: %d", i, i);
        for (int k = 0; i > 0 && k < 3; k++) {
            if (!chance(s, 50))
                continue;
            int p = pick(s, i);
            /* A handler reads its catcher's error, never its outputs. */
            len += (size_t)snprintf(y + len, cap - len, ", p%d: \"${t%d.%s}\"", k, p,
                                    p == catcher[i] ? "error.message" : "outputs.x");
        }
        len += (size_t)snprintf(y + len, cap - len, " }\n");
        if (chance(s, 30))
            len += (size_t)snprintf(y + len, cap - len, "    cache: true\n");
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

static mrun *find_run(sim *s, uint64_t id)
{
    for (int i = 0; i < s->nruns; i++)
        if (s->runs[i].id == id)
            return &s->runs[i];
    return NULL;
}

static int worker_index(sim *s, const char *name)
{
    for (int i = 0; i < MAX_WORKERS; i++)
        if (!strcmp(s->w[i].name, name))
            return i;
    return -1;
}

static void busy_del(sim *s, int w, uint64_t id)
{
    for (int i = 0; i < s->nbusy[w]; i++)
        if (s->busy[w][i] == id) {
            s->busy[w][i] = s->busy[w][--s->nbusy[w]];
            return;
        }
}

static void send_msg(sim *s, msg m)
{
    if (s->nnet == MAX_MSGS) {
        json_decref(m.json);
        return; /* a full network drops, like a lost connection */
    }
    s->net[s->nnet++] = m;
}

/* ---- commit: apply the core's effects to the model, checking invariants ---- */

static void check_retry_delay(sim *s, const mrun *r, int task, const core_effect *e)
{
    const dag_retry *rt = &r->g->tasks[task].retry;
    int64_t delay = (e->due_us - s->now) / 1000;
    int64_t bound = core_backoff_ms(rt, r->t[task].attempts, 1.0);
    if (delay < 0 || delay > bound)
        die(s, "retry delay %lld ms of run %llu task %d outside [0, %lld]", (long long)delay,
            (unsigned long long)r->id, task, (long long)bound);
    if (!rt->jitter_full && delay != bound)
        die(s, "retry delay %lld ms without jitter, expected %lld", (long long)delay,
            (long long)bound);
}

static void commit_task_state(sim *s, mrun *r, const core_effect *e)
{
    mtask *t = &r->t[e->task];
    if (e->state == TS_SUCCEEDED) {
        if (t->succeeded++)
            die(s, "run %llu task %d succeeded twice", (unsigned long long)r->id, e->task);
        json_decref(t->outputs);
        t->outputs = json_incref(e->json);
    }
    if (e->state == TS_RETRY_WAIT) {
        check_retry_delay(s, r, e->task, e);
        t->due = e->due_us;
    }
    if (e->state == TS_READY && t->state == TS_RETRY_WAIT && s->now < t->due)
        die(s, "run %llu task %d retried %lld ms before its due time", (unsigned long long)r->id,
            e->task, (long long)((t->due - s->now) / 1000));
    t->state = e->state;
}

static void commit_dispatch(sim *s, mrun *r, const core_effect *e)
{
    const dag_task *dt = &r->g->tasks[e->task];
    if (r->cancelled)
        die(s, "run %llu dispatched task %d after it was cancelled", (unsigned long long)r->id,
            e->task);
    for (size_t k = 0; k < dt->nparents; k++) {
        int p = dt->parents[k], want = dt->catch_of == p ? TS_CAUGHT : TS_SUCCEEDED;
        if (r->t[p].state != want)
            die(s, "run %llu task %d dispatched with parent %d %s", (unsigned long long)r->id,
                e->task, p, core_task_state_name(r->t[p].state));
    }
    if (e->attempt_no > dt->retry.max_attempts)
        die(s, "attempt %d of task %d exceeds max_attempts %d", e->attempt_no, e->task,
            dt->retry.max_attempts);
    int w = worker_index(s, e->worker);
    if (w < 0 || s->nbusy[w] >= s->w[w].slots)
        die(s, "worker %s given more attempts than its %d slots", e->worker,
            w < 0 ? 0 : s->w[w].slots);
    s->busy[w][s->nbusy[w]++] = e->attempt_id;
    r->t[e->task].state = TS_RUNNING;
    r->t[e->task].running = e->attempt_id;
    r->t[e->task].attempts = e->attempt_no;
    if (e->attempt_id > s->max_attempt)
        s->max_attempt = e->attempt_id;
    s->dispatches++;
    send_msg(s,
             (msg){.to_worker = 1, .w = w, .attempt = e->attempt_id, .json = json_incref(e->json)});
}

static void commit(sim *s)
{
    for (size_t i = 0; i < s->fx.n; i++) {
        const core_effect *e = &s->fx.v[i];
        mrun *r = e->run_id ? find_run(s, e->run_id) : NULL;
        switch (e->kind) {
        case FX_TASK_STATE:
            commit_task_state(s, r, e);
            if (e->key && !strmap_get(s->cache, e->key))
                strmap_put(s->cache, e->key, json_incref(e->json));
            s->hits += e->state == TS_SUCCEEDED && e->source != SRC_COMPUTED;
            break;
        case FX_LOOKUP: {
            json_t *hit = strmap_get(s->cache, e->key);
            xgrow(&s->lookups, &s->caplookups, s->nlookups + 1, sizeof *s->lookups);
            s->lookups[s->nlookups++] = (core_event){.kind = EV_LOOKUP,
                                                     .run_id = e->run_id,
                                                     .task = e->task,
                                                     .ok = hit != NULL,
                                                     .outputs = hit,
                                                     .source_task = hit ? "cached" : NULL};
            break;
        }
        case FX_DISPATCH:
            commit_dispatch(s, r, e);
            break;
        case FX_ATTEMPT_END:
            if (r->t[e->task].running == e->attempt_id)
                r->t[e->task].running = 0;
            for (int w = 0; w < MAX_WORKERS; w++)
                busy_del(s, w, e->attempt_id);
            break;
        case FX_STALE:
            s->stale++;
            break;
        case FX_RUN_STATE:
            if (r->ended++)
                die(s, "run %llu ended twice", (unsigned long long)r->id);
            /* Cancelled exactly when a cancel came first (a run that had already timed out
             * stays failed). */
            if ((e->state == RS_CANCELLED && !r->cancelled) ||
                (r->cancelled && e->state != RS_CANCELLED &&
                 !(e->message && strstr(e->message, "timed out"))))
                die(s, "run %llu ended %s (%s) but %s cancelled", (unsigned long long)r->id,
                    core_run_state_name(e->state), e->message ? e->message : "",
                    r->cancelled ? "was" : "was not");
            int bad = 0;
            for (size_t k = 0; k < r->g->ntasks; k++) {
                if (r->t[k].state < TS_SUCCEEDED)
                    die(s, "run %llu ended with task %zu %s", (unsigned long long)r->id, k,
                        core_task_state_name(r->t[k].state));
                bad |= r->t[k].state == TS_FAILED || r->t[k].state == TS_SKIPPED;
            }
            int timed_out = e->message && strstr(e->message, "timed out");
            if (timed_out && e->state != RS_FAILED)
                die(s, "run %llu timed out but ended %s", (unsigned long long)r->id,
                    core_run_state_name(e->state));
            if (e->state != RS_CANCELLED && !timed_out && (e->state == RS_SUCCEEDED) == bad)
                die(s, "run %llu ended %s with %s failed or skipped task",
                    (unsigned long long)r->id, core_run_state_name(e->state), bad ? "a" : "no");
            break;
        case FX_STOP_ATTEMPT:
            send_msg(s, (msg){.to_worker = 1,
                              .stop = 1,
                              .w = worker_index(s, e->worker),
                              .attempt = e->attempt_id});
            break;
        case FX_WORKER_STATE:
            if (!strcmp(e->message, "lost")) {
                s->losses++;
                s->nbusy[worker_index(s, e->worker)] = 0;
            }
            break;
        }
    }
    core_effects_clear(&s->fx);
    for (int i = 0; i < s->nruns; i++) {
        mrun *r = &s->runs[i];
        int open = 0;
        for (size_t k = 0; k < r->g->ntasks && !open; k++)
            open = r->t[k].state < TS_SUCCEEDED;
        if (!open && !r->ended)
            die(s, "run %llu has every task ended but did not end", (unsigned long long)r->id);
    }
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
        printf("    fx %d run=%llu task=%d state=%d attempt=%llu worker=%s %s\n", e->kind,
               (unsigned long long)e->run_id, e->task, e->state, (unsigned long long)e->attempt_id,
               e->worker ? e->worker : "-", e->message ? e->message : "");
    }
    for (int w = 0; w < MAX_WORKERS; w++)
        printf("    %s busy=%d held=%d alive=%d\n", s->w[w].name, s->nbusy[w], s->w[w].nheld,
               s->w[w].alive);
}

static void step_core(sim *s, core_event *ev)
{
    ev->now_us = s->now;
    core_step(s->c, ev, &s->fx);
    trace(s, ev);
    commit(s);
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
    core_event ev = {.kind = EV_RUN_SUBMITTED, .run_id = r->id, .dag = compile_yaml(s, r->yaml)};
    step_core(s, &ev);
}

static void join(sim *s, int w)
{
    static const char *const types[] = {"echo"};
    sworker *sw = &s->w[w];
    core_event ev = {.kind = EV_WORKER_JOINED,
                     .worker = sw->name,
                     .slots = (uint32_t)sw->slots,
                     .types = types,
                     .ntypes = 1,
                     .running = sw->held,
                     .nrunning = (size_t)sw->nheld,
                     .heartbeat_us = 1000000};
    /* The core's count restarts from what the worker reports. */
    s->nbusy[w] = sw->nheld;
    memcpy(s->busy[w], sw->held, (size_t)sw->nheld * sizeof *sw->held);
    sw->registered = 1;
    step_core(s, &ev);
    for (int i = 0; i < sw->nrecent; i++) {
        msg m = sw->recent[i];
        m.json = json_incref(m.json);
        send_msg(s, m);
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
    if (m.to_worker && m.stop) {
        sworker *sw = &s->w[m.w];
        for (int k = 0; sw->alive && k < sw->nheld; k++)
            if (sw->held[k] == m.attempt) {
                json_decref(sw->held_inputs[k]);
                sw->held[k] = sw->held[--sw->nheld];
                sw->held_inputs[k] = sw->held_inputs[sw->nheld];
                send_msg(s, (msg){.w = m.w, .attempt = m.attempt, .ok = 0, .cls = ERRC_CANCELLED});
                break;
            }
        return;
    }
    if (m.to_worker) {
        sworker *sw = &s->w[m.w];
        if (sw->alive && sw->nheld < sw->slots) {
            sw->held_inputs[sw->nheld] = m.json;
            sw->held[sw->nheld++] = m.attempt;
        } else if (sw->alive) {
            /* Like weft-worker: no free executor, so the attempt fails at once. */
            json_decref(m.json);
            send_msg(s, (msg){.w = m.w, .attempt = m.attempt, .ok = 0, .cls = ERRC_FATAL});
        } else {
            json_decref(m.json);
        }
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
    sw->held[i] = sw->held[--sw->nheld];
    sw->held_inputs[i] = sw->held_inputs[sw->nheld];
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
    for (int i = 0; i < sw->nheld; i++)
        json_decref(sw->held_inputs[i]);
    for (int i = 0; i < sw->nrecent; i++)
        json_decref(sw->recent[i].json);
    sw->nheld = sw->nrecent = 0;
    sw->alive = sw->registered = 0;
}

/* The scheduler restarts: results queued at it are lost, and the core is rebuilt from the
 * committed model, as the scheduler rebuilds from the catalogue. */
static void restart(sim *s)
{
    s->restarts++;
    for (int i = 0; i < s->nnet;) {
        if (!s->net[i].to_worker && chance(s, 50)) {
            json_decref(s->net[i].json);
            s->net[i] = s->net[--s->nnet];
        } else {
            i++;
        }
    }
    core_destroy(&s->c);
    s->c = core_new(s->max_attempt + 1, s->seed + (uint64_t)s->step);
    for (int w = 0; w < MAX_WORKERS; w++) {
        s->w[w].registered = 0;
        s->nbusy[w] = 0;
    }
    for (int i = 0; i < s->nruns; i++) {
        mrun *r = &s->runs[i];
        if (r->ended)
            continue;
        core_task_snapshot *snap = xcalloc(r->g->ntasks, sizeof *snap);
        for (size_t k = 0; k < r->g->ntasks; k++)
            snap[k] = (core_task_snapshot){.state = r->t[k].state,
                                           .attempts = r->t[k].attempts,
                                           .attempt_id = r->t[k].running,
                                           .outputs = r->t[k].outputs,
                                           .due_us = r->t[k].due};
        core_event ev = {.kind = EV_RUN_RESTORED,
                         .run_id = r->id,
                         .dag = compile_yaml(s, r->yaml),
                         .snapshot = snap};
        step_core(s, &ev);
        free(snap);
        if (r->cancelled && !r->ended) {
            core_event cancel = {.kind = EV_CANCEL, .run_id = r->id};
            step_core(s, &cancel);
        }
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
        core_event ev = {.kind = EV_TICK};
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
    else if (roll < 936) {
        mrun *r = &s->runs[s->nruns - 1 - pick(s, s->nruns < 4 ? s->nruns : 4)];
        if (!r->ended && !r->cancelled) {
            r->cancelled = 1;
            core_event ev = {.kind = EV_CANCEL, .run_id = r->id};
            step_core(s, &ev);
        }
    } else if (roll < 945) {
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
        int roll = pick(s, 4), w = pick(s, MAX_WORKERS);
        if (roll == 0)
            deliver(s, 0);
        else if (roll == 1)
            complete(s, w, 1);
        else if (roll == 2)
            heartbeat(s, w);
        else {
            s->now += 200000;
            core_event ev = {.kind = EV_TICK};
            step_core(s, &ev);
        }
    }
    die(s, "liveness: runs still open after the drain");
}

static void free_sim(sim *s)
{
    for (int i = 0; i < s->nruns; i++) {
        for (size_t k = 0; k < s->runs[i].g->ntasks; k++)
            json_decref(s->runs[i].t[k].outputs);
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
    free(s->lookups);
}

static void run_seed(uint64_t seed, long steps)
{
    sim s;
    memset(&s, 0, sizeof s);
    s.seed = seed;
    s.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    s.now = 1000000000;
    s.c = core_new(1, seed);
    s.types = sim_types();
    s.cache = strmap_new();
    for (int w = 0; w < MAX_WORKERS; w++) {
        snprintf(s.w[w].name, sizeof s.w[w].name, "w%d", w);
        s.w[w].alive = 1;
        s.w[w].slots = 1 + pick(&s, 4);
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
           "%ld results (%ld stale), %ld outputs reused, %ld worker losses, "
           "%ld scheduler restarts: ok\n",
           (unsigned long long)seed, s.step, s.nruns, cancelled, caught, s.dispatches, s.results,
           s.stale, s.hits, s.losses, s.restarts);
    free_sim(&s);
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, nseeds = 1, steps = 100000;
    for (int i = 1; i < argc; i += 2) {
        uint64_t *dst = !strcmp(argv[i], "--seed")    ? &seed
                        : !strcmp(argv[i], "--seeds") ? &nseeds
                        : !strcmp(argv[i], "--steps") ? &steps
                                                      : NULL;
        if (!dst || i + 1 >= argc || units_uint(argv[i + 1], 1, UINT64_MAX / 2, dst) < 0) {
            fprintf(stderr, "usage: weft-sim [--seed N] [--seeds COUNT] [--steps N]\n");
            return 2;
        }
    }
    for (uint64_t k = 0; k < nseeds; k++)
        run_seed(seed + k, (long)steps);
    return 0;
}
