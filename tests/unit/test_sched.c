/* Unit tests for the compiler and the run state machine (no I/O: a hand-written type
 * registry, and events fed to the core directly). */
#include <stdlib.h>
#include <string.h>

#include "common/errclass.h"
#include "compiler/compile.h"
#include "scheduler/core.h"
#include "compiler/typereg.h"
#include "tests/unit/fixture.h"
#include "tests/unit/selftest.h"

/* Compiles text; returns the dag, or NULL with the rendered errors in *errors. */
static dag *compile(const typereg *r, const char *text, char **errors)
{
    return fixture_compile(r, "t.yaml", text, errors);
}

int test_compile(void)
{
    int fails = 0;
    typereg *r = fixture_types();
    char *errors;
    dag *g =
        compile(r,
                "workflow: w\n"
                "params: { n: { type: int, default: 3 } }\n"
                "tasks:\n"
                "  a: { type: count, with: { n: \"${params.n}\" } }\n"
                "  b: { type: echo, with: { x: \"${a.outputs.total}\", s: \"n=${params.n}\" } }\n"
                "  c: { type: count, with: { n: \"${b.outputs.x}\" }, needs: [a] }\n",
                &errors);
    CHECK(g != NULL);
    CHECK_STR(errors, "");
    if (g) {
        CHECK(g->ntasks == 3);
        CHECK(g->tasks[1].nparents == 1 && g->tasks[1].parents[0] == 0);
        CHECK(g->tasks[2].nparents == 2);
        CHECK(g->order[0] == 0 && g->order[2] == 2);
        CHECK(json_integer_value(json_object_get(g->params, "n")) == 3);
        /* A unit's name: the task's, or "task[elem]"; cut short as snprintf would. */
        char unit[8] = "xxxxxxx";
        dag_unit_name(g, 1, -1, unit, sizeof unit);
        CHECK_STR(unit, "b");
        dag_unit_name(g, 1, 12, unit, sizeof unit);
        CHECK_STR(unit, "b[12]");
        dag_unit_name(g, 1, 123456, unit, 4);
        CHECK_STR(unit, "b[1");
        dag_unit_name(g, 0, -1, unit, 1);
        CHECK_STR(unit, "");
        unit[0] = 'x';
        dag_unit_name(g, 0, -1, unit, 0);
        CHECK(unit[0] == 'x');
        /* Resolving b's inputs with a's outputs. */
        json_t *outs[3] = {json_pack("{s:i}", "total", 42), NULL, NULL};
        char why[128];
        dag_scope sc = {outs, NULL, -1, NULL};
        json_t *in = dag_resolve_inputs(g, 1, &sc, why, sizeof why);
        CHECK(in && json_integer_value(json_object_get(in, "x")) == 42);
        CHECK_STR(json_string_value(json_object_get(in, "s")), "n=3");
        json_decref(in);
        json_decref(outs[0]);
    }
    dag_free(g);
    free(errors);

    /* Several errors at once, each with its position. */
    g = compile(r,
                "workflow: w\n"
                "tasks:\n"
                "  a: { type: count, with: { n: \"ten\" } }\n"
                "  b: { type: sleep, with: { duration: 5 minutes } }\n"
                "  c: { type: nope }\n"
                "  d: { type: echo, with: { x: \"${zz.outputs.y}\" } }\n",
                &errors);
    CHECK(g == NULL);
    CHECK(strstr(errors, "t.yaml:3:32: task 'a' input 'n': expected int, got string") != NULL);
    CHECK(strstr(errors, "t.yaml:4:39: task 'b' input 'duration': bad duration") != NULL);
    CHECK(strstr(errors, "t.yaml:5:14: task 'c': unknown task type 'nope'") != NULL);
    CHECK(strstr(errors, "t.yaml:6:31: unknown task 'zz'") != NULL);
    dag_free(g);
    free(errors);

    /* A cycle is named. */
    g = compile(r,
                "workflow: w\n"
                "tasks:\n"
                "  a: { type: echo, needs: [c] }\n"
                "  b: { type: echo, needs: [a] }\n"
                "  c: { type: echo, needs: [b] }\n",
                &errors);
    CHECK(g == NULL);
    CHECK(strstr(errors, "dependency cycle: ") != NULL);
    CHECK(strstr(errors, "a -> b -> c -> a") || strstr(errors, "b -> c -> a -> b") ||
          strstr(errors, "c -> a -> b -> c"));
    dag_free(g);
    free(errors);
    typereg_destroy(&r);
    return fails;
}

/* ---- the core ---- */

typedef struct sim {
    core *c;
    core_effects fx;
    int64_t now;
} sim;

static void submit(sim *s, dag *g, uint64_t run)
{
    core_event ev = {.kind = EV_RUN_SUBMITTED, .now_us = s->now, .run_id = run, .dag = g};
    core_step(s->c, &ev, &s->fx);
}

static void join(sim *s, const char *name, uint32_t slots)
{
    const char *t[] = {"echo", "count", "sleep"};
    core_event ev = {.kind = EV_WORKER_JOINED,
                     .now_us = s->now,
                     .worker = name,
                     .slots = slots,
                     .types = t,
                     .ntypes = 3,
                     .heartbeat_us = 1000000};
    core_step(s->c, &ev, &s->fx);
}

static size_t count_fx(const sim *s, enum core_fx_kind kind, int state)
{
    size_t n = 0;
    for (size_t i = 0; i < s->fx.n; i++)
        if (s->fx.v[i].kind == kind && (state < 0 || s->fx.v[i].state == state))
            n += 1 + s->fx.v[i].more; /* the units a ready state counts */
    return n;
}

static uint64_t first_dispatch(const sim *s, int *task)
{
    for (size_t i = 0; i < s->fx.n; i++)
        if (s->fx.v[i].kind == FX_DISPATCH) {
            if (task)
                *task = s->fx.v[i].task;
            return s->fx.v[i].attempt_id;
        }
    return 0;
}

static void result(sim *s, uint64_t attempt, int ok, int cls)
{
    json_t *out = json_pack("{s:i}", "total", 1);
    core_event ev = {.kind = EV_RESULT,
                     .now_us = s->now,
                     .attempt_id = attempt,
                     .ok = ok,
                     .errclass = cls,
                     .message = ok ? NULL : "boom",
                     .outputs = out};
    core_step(s->c, &ev, &s->fx);
    json_decref(out);
}

int test_core(void)
{
    int fails = 0;
    typereg *r = fixture_types();
    char *errors;
    const char *text =
        "workflow: w\n"
        "tasks:\n"
        "  a: { type: count, with: { n: 1 }, retry: { max_attempts: 2, interval: 1s } }\n"
        "  b: { type: count, with: { n: \"${a.outputs.total}\" } }\n"
        "  c: { type: echo }\n";
    sim s = {.c = core_new(1, 42), .now = 1000000};

    /* Nothing is dispatched without a worker; the two roots become ready. */
    submit(&s, compile(r, text, &errors), 1);
    free(errors);
    CHECK(count_fx(&s, FX_TASK_STATE, TS_READY) == 2);
    CHECK(count_fx(&s, FX_DISPATCH, -1) == 0);
    core_effects_clear(&s.fx);

    /* One slot: one dispatch (credit-based). */
    join(&s, "w1", 1);
    CHECK(count_fx(&s, FX_DISPATCH, -1) == 1);
    int task = -1;
    uint64_t a1 = first_dispatch(&s, &task);
    CHECK(task == 0);
    core_effects_clear(&s.fx);

    /* A transient failure of a waits for its retry; the freed credit goes to c. */
    result(&s, a1, 0, ERRC_TRANSIENT);
    CHECK(count_fx(&s, FX_TASK_STATE, TS_RETRY_WAIT) == 1);
    uint64_t c1 = first_dispatch(&s, &task);
    CHECK(c1 && task == 2);
    CHECK(core_next_deadline(s.c) == s.now + 1000000);
    core_effects_clear(&s.fx);

    /* A duplicate of a1's result is stale. */
    result(&s, a1, 1, 0);
    CHECK(count_fx(&s, FX_STALE, -1) == 1);
    core_effects_clear(&s.fx);

    result(&s, c1, 1, 0);
    CHECK(count_fx(&s, FX_TASK_STATE, TS_SUCCEEDED) == 1);
    core_effects_clear(&s.fx);

    /* After the delay, a is ready and dispatched again as attempt 2. */
    s.now += 1000000;
    core_event tick = {.kind = EV_TICK, .now_us = s.now};
    core_step(s.c, &tick, &s.fx);
    uint64_t a2 = first_dispatch(&s, &task);
    CHECK(a2 && task == 0 && s.fx.v[s.fx.n - 1].attempt_no == 2);
    core_effects_clear(&s.fx);

    /* The scheduler is stopped for 5 s: its tick comes 4.5 s late. The worker's silence
     * meanwhile was not heard, so it has one more interval to speak. */
    s.now += 5000000;
    tick.now_us = s.now;
    tick.late_us = 4500000;
    core_step(s.c, &tick, &s.fx);
    CHECK(count_fx(&s, FX_WORKER_STATE, -1) == 0);
    CHECK(core_next_deadline(s.c) == s.now + 1000000 + 1);
    core_effects_clear(&s.fx);

    /* It stays silent, heard: a fails as lost, its retries are exhausted, b is skipped,
     * and the run ends failed. */
    s.now += 1000001;
    tick.now_us = s.now;
    tick.late_us = 0;
    core_step(s.c, &tick, &s.fx);
    CHECK(count_fx(&s, FX_WORKER_STATE, -1) == 1);
    CHECK(count_fx(&s, FX_TASK_STATE, TS_FAILED) == 1);
    CHECK(count_fx(&s, FX_TASK_STATE, TS_SKIPPED) == 1);
    CHECK(count_fx(&s, FX_RUN_STATE, RS_FAILED) == 1);
    CHECK(core_nruns(s.c) == 0);
    core_effects_clear(&s.fx);

    /* Roots one after another become ready in one effect about all three (a run of
     * 100,000 roots makes one, not 100,000); c's, after a task with a parent, stays apart. */
    submit(&s, compile(r, "workflow: w\ntasks:\n  x: { type: echo }\n  y: { type: echo }\n"
                          "  z: { type: echo }\n  after: { type: echo, needs: [x] }\n"
                          "  c: { type: echo }\n", &errors), 2);
    free(errors);
    CHECK(count_fx(&s, FX_TASK_STATE, TS_READY) == 4);
    size_t effects = 0;
    for (size_t i = 0; i < s.fx.n; i++)
        if (s.fx.v[i].kind == FX_TASK_STATE && s.fx.v[i].state == TS_READY) {
            const core_effect *e = &s.fx.v[i];
            CHECK(effects || (e->task == 0 && e->elem == -1 && e->more == 2));
            CHECK(!effects || (e->task == 4 && e->more == 0));
            CHECK(core_effect_unit(e, e->more).task == (effects ? 4 : 2));
            CHECK(core_effect_unit(e, e->more).more == 0);
            effects++;
        }
    CHECK(effects == 2);
    core_effects_free(&s.fx);
    core_destroy(&s.c);
    typereg_destroy(&r);
    return fails;
}

/* A tick at s->now, with the monotonic clock at mono_us (0: not known). */
static void tick_at(sim *s, int64_t mono_us, int64_t late_us)
{
    core_event ev = {.kind = EV_TICK, .now_us = s->now, .wall_us = mono_us ? s->now : 0,
                     .mono_us = mono_us, .late_us = late_us};
    core_step(s->c, &ev, &s->fx);
}

/* A heartbeat from worker at s->now, with the monotonic clock at mono_us. */
static void beat_at(sim *s, const char *worker, int64_t mono_us)
{
    core_event ev = {.kind = EV_HEARTBEAT, .now_us = s->now, .wall_us = s->now,
                     .mono_us = mono_us, .worker = worker};
    core_step(s->c, &ev, &s->fx);
}

/* Heartbeats are timed by the wall clock. Stepped forward (NTP, a resumed VM), it makes no
 * worker lost at once: each has one more interval. Stepped back, no worker counts as heard
 * from later than now. Either way, silence heard afterwards still makes a worker lost, and
 * ticks that keep coming late do not keep a dead worker from being lost. Timers are moved
 * with the clock. */
int test_core_clock(void)
{
    int fails = 0;
    sim s = {.c = core_new(1, 42), .now = 100000000};
    int64_t mono = 5000000;
    join(&s, "w1", 1);
    tick_at(&s, mono, 0);
    core_effects_clear(&s.fx);

    /* 0.5 s pass, and the wall clock is stepped 4.5 s ahead. */
    s.now += 5000000;
    mono += 500000;
    tick_at(&s, mono, 0);
    CHECK(count_fx(&s, FX_WORKER_STATE, -1) == 0);
    CHECK(core_next_deadline(s.c) == s.now + 1000000 + 1);
    s.now += 1000001;
    mono += 1000001;
    tick_at(&s, mono, 0);
    CHECK(count_fx(&s, FX_WORKER_STATE, -1) == 1);
    core_effects_clear(&s.fx);

    /* w2 is heard from; 0.1 s later the wall clock is 10 s behind. */
    join(&s, "w2", 1);
    core_effects_clear(&s.fx);
    s.now -= 9900000;
    mono += 100000;
    tick_at(&s, mono, 0);
    CHECK(count_fx(&s, FX_WORKER_STATE, -1) == 0);
    CHECK(core_next_deadline(s.c) == s.now + 3000000 + 1);
    s.now += 3000001;
    mono += 3000001;
    tick_at(&s, mono, 0);
    CHECK(count_fx(&s, FX_WORKER_STATE, -1) == 1);
    core_effects_clear(&s.fx);

    /* w3 goes silent, and every tick comes 0.2 s late: its loss is put off by one interval,
     * once. */
    join(&s, "w3", 1);
    core_effects_clear(&s.fx);
    int64_t joined = s.now;
    s.now += 2500000;
    mono += 2500000;
    tick_at(&s, mono, 200000);
    CHECK(core_next_deadline(s.c) == joined + 3500000 + 1);
    s.now = joined + 3400000;
    mono += 900000;
    tick_at(&s, mono, 200000);
    CHECK(count_fx(&s, FX_WORKER_STATE, -1) == 0);
    CHECK(core_next_deadline(s.c) == joined + 3500000 + 1);
    s.now = joined + 3500001;
    mono += 100001;
    tick_at(&s, mono, 200000);
    CHECK(count_fx(&s, FX_WORKER_STATE, -1) == 1);
    core_effects_free(&s.fx);
    core_destroy(&s.c);

    /* Timers keep their length across a step: a retry due 1 s after a failure comes 1 s
     * after it, whether the clock is then stepped 10 s ahead or 10 s back. */
    typereg *r = fixture_types();
    for (int64_t step = 10000000; step >= -10000000; step -= 20000000) {
        sim t = {.c = core_new(1, 42), .now = 100000000};
        char *errors;
        const char *text = "workflow: w\n"
                           "tasks:\n"
                           "  a: { type: count, with: { n: 1 }, retry: { max_attempts: 2, "
                           "interval: 1s } }\n";
        mono = 7000000;
        tick_at(&t, mono, 0);
        submit(&t, compile(r, text, &errors), 1);
        free(errors);
        join(&t, "w1", 1);
        result(&t, first_dispatch(&t, NULL), 0, ERRC_TRANSIENT);
        core_effects_clear(&t.fx);
        /* The first event after the step, a heartbeat, sees it: no timer may fire early,
         * nor be moved again by the tick after it. */
        t.now += step + 100000;
        mono += 100000;
        beat_at(&t, "w1", mono);
        CHECK(count_fx(&t, FX_DISPATCH, -1) == 0);
        tick_at(&t, mono, 0);
        CHECK(count_fx(&t, FX_DISPATCH, -1) == 0);
        CHECK(core_next_deadline(t.c) == t.now + 900000);
        t.now += 1000000;
        mono += 1000000;
        beat_at(&t, "w1", mono);
        CHECK(count_fx(&t, FX_DISPATCH, -1) == 1);
        core_effects_free(&t.fx);
        core_destroy(&t.c);
    }
    typereg_destroy(&r);
    return fails;
}

/* After a restart, two attempts were committed as dispatched to w1 and never sent. w1, the
 * same process, registers again without them (again = 1): both are sent again, same ids
 * and attempt numbers, in the order first dispatched, and none is lost. A new process
 * (again = 0) never got them: they fail as lost. */
static void restore_two_orphans(sim *s, dag *g)
{
    core_task_snapshot snap[3] = {
        {.state = TS_RUNNING, .attempts = 1, .attempt_id = 7, .worker = "w1", .dispatched_us = 1},
        {.state = TS_PENDING},
        {.state = TS_RUNNING, .attempts = 2, .attempt_id = 5, .worker = "w1", .dispatched_us = 1}};
    core_event ev = {
        .kind = EV_RUN_RESTORED, .now_us = s->now, .run_id = 1, .dag = g, .snapshot = snap};
    core_step(s->c, &ev, &s->fx);
}

static void rejoin(sim *s, int again)
{
    const char *t[] = {"echo", "count", "sleep"};
    core_event ev = {.kind = EV_WORKER_JOINED,
                     .now_us = s->now,
                     .worker = "w1",
                     .slots = 2,
                     .types = t,
                     .ntypes = 3,
                     .again = again,
                     .heartbeat_us = 1000000};
    core_step(s->c, &ev, &s->fx);
}

/* A run restored (a restart, a retry) with a mapped task that had ended: that map's
 * elements hold no slot, and are counted apart, as the snapshot says. */
static int restored_map_counts(const typereg *r)
{
    int fails = 0;
    const char *text = "workflow: m\n"
                       "tasks:\n"
                       "  a: { type: echo, with: { l: [1, 2] } }\n"
                       "  m: { type: echo, map: \"${a.outputs.l}\", with: { x: \"${item}\" } }\n"
                       "  b: { type: echo, with: { xs: \"${m.outputs.x}\" } }\n";
    sim s = {.c = core_new(100, 42), .now = 1000000};
    json_t *outs[2] = {json_pack("{s:[i,i]}", "l", 1, 2), json_pack("{s:[i,i]}", "x", 1, 2)};
    core_task_snapshot elems[2] = {{.state = TS_SUCCEEDED}, {.state = TS_FAILED}};
    core_task_snapshot snap[3] = {{.state = TS_SUCCEEDED, .outputs = outs[0]},
                                  {.state = TS_SUCCEEDED, .outputs = outs[1], .elems = elems,
                                   .nelems = 2},
                                  {.state = TS_PENDING}};
    core_event ev = {.kind = EV_RUN_RESTORED, .now_us = s.now, .run_id = 1,
                     .dag = compile(r, text, NULL), .snapshot = snap};
    core_step(s.c, &ev, &s.fx);
    snap[1] = (core_task_snapshot){.state = TS_PENDING}; /* its elements come as it expands */
    ev.run_id = 2;
    ev.dag = compile(r, text, NULL);
    core_step(s.c, &ev, &s.fx);
    submit(&s, compile(r, text, NULL), 3);
    size_t counts[TS__COUNT];
    CHECK(core_run_counts(s.c, 1, counts)); /* a, m and m[0] succeeded; m[1] failed */
    CHECK(counts[TS_SUCCEEDED] == 3 && counts[TS_FAILED] == 1);
    CHECK(core_run_counts(s.c, 2, counts) && counts[TS_SUCCEEDED] == 1);
    CHECK(core_run_counts(s.c, 3, counts) && counts[TS_SUCCEEDED] == 0);
    CHECK(!core_run_counts(s.c, 4, counts));
    json_decref(outs[0]);
    json_decref(outs[1]);
    core_effects_free(&s.fx);
    core_destroy(&s.c);
    return fails;
}

int test_core_restore(void)
{
    int fails = 0;
    typereg *r = fixture_types();
    char *errors;
    const char *text = "workflow: w\n"
                       "tasks:\n"
                       "  a: { type: count, with: { n: 1 } }\n"
                       "  b: { type: count, with: { n: \"${a.outputs.total}\" } }\n"
                       "  c: { type: echo }\n";
    for (int again = 1; again >= 0; again--) {
        sim s = {.c = core_new(100, 42), .now = 1000000};
        restore_two_orphans(&s, compile(r, text, &errors));
        free(errors);
        core_effects_clear(&s.fx);
        rejoin(&s, again);
        size_t resent = 0, lost = 0;
        for (size_t i = 0; i < s.fx.n; i++) {
            const core_effect *e = &s.fx.v[i];
            if (e->kind == FX_REDISPATCH) {
                /* Attempt 5 (task c, its second attempt) first, then 7 (task a). */
                CHECK(e->attempt_id == (resent ? 7u : 5u));
                CHECK(e->task == (resent ? 0 : 2) && e->attempt_no == (resent ? 1 : 2));
                CHECK_STR(e->worker, "w1");
                resent++;
            }
            if (e->kind == FX_ATTEMPT_END) {
                CHECK(e->errclass == ERRC_LOST);
                CHECK(strstr(e->message, "registered again, a new process, without attempt"));
                lost++;
            }
        }
        CHECK(resent == (again ? 2u : 0u) && lost == (again ? 0u : 2u));
        CHECK(count_fx(&s, FX_DISPATCH, -1) == 0);
        core_effects_clear(&s.fx);
        if (again) {
            /* Their results are accepted as those of the attempts the core waits for. */
            result(&s, 7, 1, 0);
            CHECK(count_fx(&s, FX_TASK_STATE, TS_SUCCEEDED) == 1);
            CHECK(count_fx(&s, FX_STALE, -1) == 0);
        }
        core_effects_free(&s.fx);
        core_destroy(&s.c);
    }

    /* Nobody claims them: they fail as lost on a tick past their deadline (5 s after their
     * dispatch, at time 1), not on another event, and a tick the scheduler could not hear
     * in time (3 s late) gives them the 2 s claim period again, once. */
    sim s = {.c = core_new(100, 42), .now = 1000000};
    restore_two_orphans(&s, compile(r, text, &errors));
    free(errors);
    core_effects_clear(&s.fx);
    s.now = 6000000;
    core_event beat = {.kind = EV_HEARTBEAT, .now_us = s.now, .worker = "w9"};
    core_step(s.c, &beat, &s.fx);
    CHECK(count_fx(&s, FX_ATTEMPT_END, -1) == 0);
    tick_at(&s, 0, 3000000);
    CHECK(count_fx(&s, FX_ATTEMPT_END, -1) == 0);
    CHECK(core_next_deadline(s.c) == 8000000);
    s.now = 7000000;
    tick_at(&s, 0, 3000000);
    CHECK(count_fx(&s, FX_ATTEMPT_END, -1) == 0);
    s.now = 8000000;
    tick_at(&s, 0, 0);
    CHECK(count_fx(&s, FX_ATTEMPT_END, -1) == 2);
    core_effects_free(&s.fx);
    core_destroy(&s.c);
    fails += restored_map_counts(r);
    typereg_destroy(&r);
    return fails;
}

int test_backoff(void)
{
    int fails = 0;
    dag_retry r = {
        .max_attempts = 10, .interval_ms = 1000, .backoff_rate = 2.0, .max_delay_ms = 5000};
    CHECK(core_backoff_ms(&r, 1, 1.0) == 1000);
    CHECK(core_backoff_ms(&r, 2, 1.0) == 2000);
    CHECK(core_backoff_ms(&r, 3, 1.0) == 4000);
    CHECK(core_backoff_ms(&r, 4, 1.0) == 5000); /* capped */
    CHECK(core_backoff_ms(&r, 60, 1.0) == 5000);
    r.jitter_full = 1;
    CHECK(core_backoff_ms(&r, 2, 0.5) == 1000);
    CHECK(core_backoff_ms(&r, 2, 0.0) == 0);
    return fails;
}

/* Placement: a task goes only to a worker that carries its labels and whose free capacity
 * covers its resources; what it holds comes back when its attempt ends. */
int test_placement(void)
{
    int fails = 0;
    typereg *r = fixture_types();
    char *errors;
    dag *g = compile(r,
                     "workflow: w\n"
                     "defaults: { resources: { mem: 1G }, labels: { zone: a } }\n"
                     "tasks:\n"
                     "  big: { type: echo, resources: { cpu: 3, license.glpk: 1 } }\n"
                     "  m1: { type: echo, with: { i: 1 } }\n"
                     "  m2: { type: echo, with: { i: 2 } }\n"
                     "  m3: { type: echo, with: { i: 3 } }\n"
                     "  gpu: { type: echo, resources: { cpu: 0.5, gpu: 1, mem: 0 }, "
                     "labels: { pool: gpu } }\n",
                     &errors);
    CHECK(g != NULL);
    CHECK_STR(errors, "");
    free(errors);
    if (!g) {
        typereg_destroy(&r);
        return fails;
    }
    const dag_task *big = &g->tasks[0], *gpu = &g->tasks[4];
    CHECK(big->nres == 3 && !strcmp(big->res[0].name, "cpu") && big->res[0].amount == 3000);
    CHECK(!strcmp(big->res[1].name, "license.glpk") && big->res[2].amount == 1u << 30);
    CHECK(big->mem == 1u << 30 && big->nlabels == 1 && !strcmp(big->labels[0], "zone=a"));
    CHECK(gpu->nres == 2 && gpu->mem == 0 && gpu->res[0].amount == 500);
    CHECK(gpu->nlabels == 2 && !strcmp(gpu->labels[0], "pool=gpu"));
    CHECK(strcmp(g->tasks[1].place, big->place) != 0);
    CHECK_STR(g->tasks[1].place, g->tasks[2].place);

    sim s = {.c = core_new(1, 1), .now = 1000};
    const char *t[] = {"echo"};
    res_amount small_cap[] = {{"cpu", 2000}, {"mem", 2u << 30}};
    char *zone_a[] = {"zone=a"};
    core_event ev = {.kind = EV_WORKER_JOINED, .now_us = s.now, .worker = "small", .slots = 8,
                     .types = t, .ntypes = 1, .heartbeat_us = 1000000, .capacity = small_cap,
                     .ncapacity = 2, .labels = zone_a, .nlabels = 1};
    core_step(s.c, &ev, &s.fx);
    submit(&s, g, 1);
    /* Two 1G tasks fit the 2G worker; the third waits, and so do the 3-cpu one (on a 2-cpu
     * worker, with no license) and the GPU one (no such label). */
    CHECK(count_fx(&s, FX_DISPATCH, -1) == 2);
    int task = -1;
    uint64_t a = first_dispatch(&s, &task);
    CHECK(task >= 1 && task <= 3);
    core_effects_clear(&s.fx);
    result(&s, a, 1, 0);
    CHECK(count_fx(&s, FX_DISPATCH, -1) == 1); /* its 1G came back: the third starts */
    core_effects_clear(&s.fx);
    /* A worker with a GPU and the label takes the GPU task, and not the others. */
    res_amount gpu_cap[] = {{"cpu", 8000}, {"mem", 1u << 30}, {"gpu", 1000}};
    char *gpu_labels[] = {"pool=gpu", "zone=a"};
    ev.worker = "gpu";
    ev.capacity = gpu_cap;
    ev.ncapacity = 3;
    ev.labels = gpu_labels;
    ev.nlabels = 2;
    core_step(s.c, &ev, &s.fx);
    CHECK(count_fx(&s, FX_DISPATCH, -1) == 1);
    first_dispatch(&s, &task);
    CHECK(task == 4);
    char why[200];
    CHECK(!core_over_capacity(s.c, why, sizeof why));
    core_effects_free(&s.fx);
    core_destroy(&s.c);

    /* An attempt stopped at its deadline keeps what it holds until its result comes, also
     * when its worker registers again reporting it. */
    g = compile(r,
                "workflow: w\n"
                "tasks:\n"
                "  slow: { type: echo, timeout: 1s, resources: { mem: 1G } }\n",
                &errors);
    free(errors);
    s = (sim){.c = core_new(1, 1), .now = 1000};
    core_set_attempt_grace(s.c, 1000000);
    ev = (core_event){.kind = EV_WORKER_JOINED, .now_us = s.now, .worker = "small",
                      .slots = 8, .types = t, .ntypes = 1, .heartbeat_us = 100000000,
                      .capacity = small_cap, .ncapacity = 2};
    core_step(s.c, &ev, &s.fx);
    submit(&s, g, 1);
    a = first_dispatch(&s, NULL);
    core_effects_clear(&s.fx);
    s.now += 3000000; /* past its timeout and the grace: stopped */
    core_event tick = {.kind = EV_TICK, .now_us = s.now};
    core_step(s.c, &tick, &s.fx);
    CHECK(count_fx(&s, FX_STOP_ATTEMPT, -1) == 1);
    core_effects_clear(&s.fx);
    ev.now_us = s.now;
    ev.running = &a;
    ev.nrunning = 1;
    ev.again = 1;
    core_step(s.c, &ev, &s.fx);
    json_t *ws = core_workers_json(s.c);
    CHECK(json_integer_value(json_object_get(json_object_get(json_array_get(ws, 0), "used"),
                                             "mem")) == 1 << 30);
    json_decref(ws);
    core_effects_clear(&s.fx);
    /* Its result, from its worker, frees it. */
    core_event res = {.kind = EV_RESULT, .now_us = s.now, .attempt_id = a, .ok = 1,
                      .worker = "small"};
    core_step(s.c, &res, &s.fx);
    ws = core_workers_json(s.c);
    CHECK(json_integer_value(json_object_get(json_object_get(json_array_get(ws, 0), "used"),
                                             "mem")) == 0);
    json_decref(ws);
    core_effects_free(&s.fx);
    core_destroy(&s.c);
    typereg_destroy(&r);
    return fails;
}

/* A ready queue's order: the higher priority first; a schedule timeout that comes due in
 * the step a worker joins lets the dispatch take the task first. */
int test_queueing(void)
{
    int fails = 0;
    typereg *r = fixture_types();
    char *errors;
    dag *g = compile(r,
                     "workflow: w\n"
                     "tasks:\n"
                     "  low: { type: echo, with: { i: 1 } }\n"
                     "  high: { type: echo, priority: 5, with: { i: 2 } }\n"
                     "  waits: { type: echo, schedule_timeout: 1s, with: { i: 3 } }\n",
                     &errors);
    CHECK(g != NULL);
    CHECK_STR(errors, "");
    free(errors);
    if (!g) {
        typereg_destroy(&r);
        return fails;
    }
    sim s = {.c = core_new(1, 1), .now = 1000};
    submit(&s, g, 1);
    CHECK(count_fx(&s, FX_DISPATCH, -1) == 0);
    /* The worker joins exactly when waits's timeout comes due: it is dispatched, not failed. */
    core_effects_clear(&s.fx);
    s.now += 1000000;
    join(&s, "w", 1);
    int task = -1;
    CHECK(first_dispatch(&s, &task) != 0 && task == 1); /* high, before low and waits */
    CHECK(count_fx(&s, FX_TASK_STATE, TS_FAILED) == 1); /* one slot: waits did fail */
    core_effects_clear(&s.fx);
    core_effects_free(&s.fx);
    core_destroy(&s.c);
    typereg_destroy(&r);

    /* With a slot for it, the task whose timeout is due now is dispatched instead. */
    r = fixture_types();
    g = compile(r,
                "workflow: w\n"
                "tasks:\n"
                "  waits: { type: echo, schedule_timeout: 1s, with: { i: 3 } }\n",
                &errors);
    free(errors);
    sim t = {.c = core_new(1, 1), .now = 1000};
    submit(&t, g, 1);
    core_effects_clear(&t.fx);
    t.now += 1000000;
    join(&t, "w", 1);
    CHECK(first_dispatch(&t, NULL) != 0);
    CHECK(count_fx(&t, FX_TASK_STATE, TS_FAILED) == 0);
    core_effects_free(&t.fx);
    core_destroy(&t.c);
    typereg_destroy(&r);
    return fails;
}
