/* sched_schedule: schedules and backfills on a running scheduler.
 *
 * A schedule (`weft schedule add`) fires at the slots of its workflow's `schedule:` after
 * its cursor; a backfill (`weft backfill`) queues the slots of a range once. Either way a
 * slot becomes a row of fires (unique per schedule) and, when fewer than max_active of the
 * schedule's runs are running, a run, in the same turn: the turn commits both or neither,
 * so a slot is never lost nor fired twice, whenever the scheduler is killed. Slots that
 * passed while the scheduler was down (or degraded, or the schedule paused) follow the
 * schedule's catchup: none fires none of them, last the latest, all every one in order.
 *
 * The schedules live in the catalogue; this module keeps the live ones in memory (with the
 * instant each came live, which divides missed slots from due ones) and looks at them from
 * a timer armed for the next slot, at least once a minute, and whenever a run ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/cron.h"
#include "common/log.h"
#include "common/xmem.h"
#include "compiler/compile.h"
#include "scheduler/sched_int.h"

#define FIRE_BATCH 1000      /* slots one schedule fires in a turn (the rest: the next) */
#define BACKFILL_MAX 10000   /* slots of one backfill */
#define TICK_MAX_MS 60000
#define NAME_MAX_LEN 64
#define MAX_ACTIVE_MAX 1000
#define TIME_MIN 0                  /* 1970 */
#define TIME_MAX 253402300799LL     /* 9999-12-31T23:59:59Z */

enum catchup { CATCHUP_NONE, CATCHUP_LAST, CATCHUP_ALL };

/* A live schedule or backfill. */
typedef struct live {
    int64_t id;
    json_t *row;          /* catalog_schedule_get's row (with spec, params, artifacts) */
    const char *name, *project;
    const json_t *timing; /* the workflow's normalized schedule */
    int backfill;
    int catchup;
    int paused;
    int64_t max_active;
    int64_t cursor_s;     /* every slot up to here is decided */
    int64_t live_from_s;  /* slots after the cursor up to here were missed */
} live;

struct schedules {
    live *v;
    size_t n, cap;
};

static void live_free(live *l)
{
    json_decref(l->row);
}

static void fill_live(live *l, json_t *row, int64_t live_from_s)
{
    l->row = row;
    l->id = json_integer_value(json_object_get(row, "id"));
    l->name = json_string_value(json_object_get(row, "name"));
    l->project = json_string_value(json_object_get(row, "project"));
    l->timing = json_object_get(row, "timing");
    l->backfill = !strcmp(json_string_value(json_object_get(row, "kind")), "backfill");
    const char *c = json_string_value(json_object_get(l->timing, "catchup"));
    l->catchup = !c || !strcmp(c, "last") ? CATCHUP_LAST
                 : !strcmp(c, "all")      ? CATCHUP_ALL
                                          : CATCHUP_NONE;
    l->paused = (int)json_integer_value(json_object_get(row, "paused"));
    l->max_active = json_integer_value(json_object_get(row, "max_active"));
    l->cursor_s = json_integer_value(json_object_get(row, "cursor_s"));
    l->live_from_s = live_from_s;
}

static live *find_live(sched *s, int64_t id)
{
    for (size_t i = 0; s->schedules && i < s->schedules->n; i++)
        if (s->schedules->v[i].id == id)
            return &s->schedules->v[i];
    return NULL;
}

/* Reads schedule id from the catalogue into memory (replacing what was there). */
static int add_live(sched *s, int64_t id, int64_t live_from_s)
{
    weft_err err = {0};
    json_t *row = catalog_schedule_get(s->cat, id, NULL, &err);
    if (!row) {
        log_error("cannot read schedule %lld: %s", (long long)id, err.msg);
        return -1;
    }
    live *l = find_live(s, id);
    if (l) {
        live_free(l);
    } else {
        struct schedules *ss = s->schedules;
        xgrow(&ss->v, &ss->cap, ss->n + 1, sizeof *ss->v);
        l = &ss->v[ss->n++];
    }
    fill_live(l, row, live_from_s);
    return 0;
}

static void drop_live(sched *s, int64_t id)
{
    live *l = find_live(s, id);
    if (!l)
        return;
    live_free(l);
    struct schedules *ss = s->schedules;
    *l = ss->v[--ss->n];
}

void sched_schedules_free(sched *s)
{
    if (!s->schedules)
        return;
    for (size_t i = 0; i < s->schedules->n; i++)
        live_free(&s->schedules->v[i]);
    free(s->schedules->v);
    free(s->schedules);
    s->schedules = NULL;
}

int sched_schedules_load(sched *s, int64_t live_from_s)
{
    if (!s->schedules) {
        s->schedules = xcalloc(1, sizeof *s->schedules);
        uv_timer_init(&s->loop, &s->schedule_timer);
        s->schedule_timer.data = s;
    }
    for (size_t i = 0; i < s->schedules->n; i++)
        live_free(&s->schedules->v[i]);
    s->schedules->n = 0;
    weft_err err = {0};
    json_t *ids = catalog_live_schedules(s->cat, &err);
    if (!ids) {
        log_error("cannot read the schedules: %s", err.msg);
        return -1;
    }
    size_t i;
    json_t *r;
    int rc = 0;
    json_array_foreach(ids, i, r)
        rc |= add_live(s, json_integer_value(json_object_get(r, "id")), live_from_s);
    json_decref(ids);
    if (s->schedules->n)
        log_info("%zu schedules and backfills", s->schedules->n);
    sched_schedules_kick(s);
    return rc;
}

/* ---- firing ---- */

/* Records that slot fired (queued until it starts). */
/* Queues slot of schedule sid (whose timing gives its data interval's start): 1, 0 when it
 * was queued before, or WEFT_EDB. */
static int queue_slot(sched *s, int64_t sid, const json_t *timing, int64_t slot,
                      int64_t now_us)
{
    int64_t start = cron_schedule_prev(timing, slot);
    return catalog_put_fire(s->cat, sid, slot, start >= 0 ? start : slot, now_us);
}

static void fire(sched *s, live *l, int64_t slot, int64_t now_us)
{
    if (queue_slot(s, l->id, l->timing, slot, now_us) == 1) {
        char t[64];
        log_info("schedule %s: slot %s fired", l->name,
                 cron_format(slot, json_string_value(json_object_get(l->timing, "timezone")),
                             t, sizeof t));
    }
}

/* The last slot in (after, upto] within the schedule's start and end, or -1. */
static int64_t last_slot(const json_t *timing, int64_t after, int64_t upto)
{
    const json_t *start = json_object_get(timing, "start_s");
    const json_t *end = json_object_get(timing, "end_s");
    if (end && json_integer_value(end) < upto)
        upto = json_integer_value(end);
    int64_t t = cron_schedule_prev(timing, upto + 1);
    if (t <= after || (start && t < json_integer_value(start)))
        return -1;
    return t;
}

/* Fires l's slots up to now_s: first those missed before it came live (by its catchup),
 * then those due. Returns 1 when it stopped at FIRE_BATCH with more to fire. */
static int advance(sched *s, live *l, int64_t now_s, int64_t now_us)
{
    int64_t cur = l->cursor_s, t;
    int n = 0;
    if (cur < l->live_from_s) {
        int64_t upto = l->live_from_s;
        if (l->catchup == CATCHUP_LAST && (t = last_slot(l->timing, cur, upto)) >= 0) {
            fire(s, l, t, now_us);
            n++;
        }
        while (l->catchup == CATCHUP_ALL && n < FIRE_BATCH &&
               (t = cron_schedule_next(l->timing, cur)) >= 0 && t <= upto) {
            fire(s, l, t, now_us);
            cur = t;
            n++;
        }
        if (n < FIRE_BATCH) {
            char a[64], b[64];
            const char *zone = json_string_value(json_object_get(l->timing, "timezone"));
            if (n || cron_schedule_next(l->timing, l->cursor_s) <= upto)
                log_info("schedule %s: slots from %s to %s were missed; catchup %s fired %d",
                         l->name, cron_format(l->cursor_s, zone, a, sizeof a),
                         cron_format(upto, zone, b, sizeof b),
                         l->catchup == CATCHUP_ALL ? "all" : l->catchup ? "last" : "none", n);
            cur = upto;
        }
    }
    while (cur >= l->live_from_s && n < FIRE_BATCH &&
           (t = cron_schedule_next(l->timing, cur)) >= 0 && t <= now_s) {
        fire(s, l, t, now_us);
        cur = t;
        n++;
    }
    if (cur != l->cursor_s && catalog_schedule_cursor(s->cat, l->id, cur) == 0)
        l->cursor_s = cur;
    return n >= FIRE_BATCH;
}

/* A queued slot that cannot start: recorded with why, and logged. */
static void slot_failed(sched *s, live *l, int64_t slot, const char *why, int64_t now_us)
{
    char detail[1200];
    snprintf(detail, sizeof detail, "schedule %s, slot %lld: %s", l->name, (long long)slot,
             why);
    log_warn("%s", detail);
    catalog_fire_started(s->cat, l->id, slot, 0, why);
    catalog_event(s->cat, 0, NULL, "schedule_failed", detail, now_us);
}

/* Compiles l's workflow for slot, as it was added (its parameters and pinned paths) with
 * the slot's ${schedule.*}. NULL with *errors (caller frees). */
static dag *compile_slot(sched *s, live *l, int64_t slot, char **errors)
{
    json_t *vars = compile_schedule_vars(l->timing, slot, 1);
    const char *file = json_string_value(json_object_get(l->row, "file"));
    const char *spec = json_string_value(json_object_get(l->row, "spec"));
    ingest_ctx ic = {.pinned = json_object_get(l->row, "artifacts"), .pinned_only = 1,
                     .store = s->store};
    diag *d = diag_new(file);
    compile_input in = {.file = file, .text = spec, .len = strlen(spec), .types = s->types,
                        .param_values = json_object_get(l->row, "params"),
                        .ingest = ingest_path, .ingest_ud = &ic, .schedule_vars = vars,
                        .now_s = slot};
    dag *g = compile_workflow(&in, d);
    if (!g)
        *errors = diag_render(d);
    diag_destroy(&d);
    json_decref(vars);
    return g;
}

/* Starts the run of a queued slot. Returns -1 when no run of l's project may start now
 * (the slot stays queued), else 0. */
static int start_slot(sched *s, live *l, int64_t slot, int64_t now_us)
{
    char *errors = NULL, why[300];
    dag *g = compile_slot(s, l, slot, &errors);
    if (!g) {
        slot_failed(s, l, slot, errors, now_us);
        free(errors);
        return 0;
    }
    if (!sched_limits_why(s, l->project, g->ntasks, 0, why, sizeof why)) {
        slot_failed(s, l, slot, why, now_us);
        dag_free(g);
        return 0;
    }
    if (!sched_limits_why(s, l->project, g->ntasks, 1, why, sizeof why)) {
        dag_free(g); /* waits for a run of its project to end */
        return -1;
    }
    char *labels = json_dumps(json_object_get(l->row, "labels"), JSON_COMPACT);
    char detail[200];
    snprintf(detail, sizeof detail, "schedule %s, slot %s", l->name,
             json_string_value(json_object_get(g->schedule_vars, "time")));
    sched_new_run nr = {.file = json_string_value(json_object_get(l->row, "file")),
                        .yaml = json_string_value(json_object_get(l->row, "spec")),
                        .pinned = json_object_get(l->row, "artifacts"),
                        .project = l->project, .labels = labels, .schedule_id = l->id,
                        .logical_s = slot};
    int64_t run = sched_start_run(s, g, &nr, detail, now_us);
    free(labels);
    if (run > 0)
        catalog_fire_started(s->cat, l->id, slot, run, NULL);
    return 0;
}

/* Starts l's queued slots, oldest first, while fewer than max_active of its runs run.
 * Returns 1 when l is a backfill with nothing left to start or wait for. */
static int launch(sched *s, live *l, int64_t now_us)
{
    int64_t running = catalog_schedule_running(s->cat, l->id);
    if (running < 0 || running >= l->max_active)
        return 0;
    weft_err err = {0};
    json_t *queued = catalog_queued_fires(s->cat, l->id, (int)(l->max_active - running), &err);
    size_t i;
    json_t *q;
    json_array_foreach(queued, i, q)
        if (start_slot(s, l, json_integer_value(json_object_get(q, "slot_s")), now_us) < 0)
            break;
    int done = l->backfill && queued && !json_array_size(queued) && !running;
    json_decref(queued);
    return done;
}

static void on_tick(uv_timer_t *t);

/* Arms the timer for the next slot of any live schedule (at most a minute away). */
static void arm(sched *s, int now_again)
{
    int64_t now_us = clock_wall_us(), wait_ms = TICK_MAX_MS;
    for (size_t i = 0; !now_again && i < s->schedules->n; i++) {
        live *l = &s->schedules->v[i];
        int64_t next = l->backfill || l->paused ? -1 : cron_schedule_next(l->timing, l->cursor_s);
        if (next < 0)
            continue;
        int64_t ms = (next * 1000000 - now_us + 999) / 1000;
        if (ms < wait_ms)
            wait_ms = ms < 0 ? 0 : ms;
    }
    if (s->schedules->n || now_again)
        uv_timer_start(&s->schedule_timer, on_tick, now_again ? 0 : (uint64_t)wait_ms, 0);
    else
        uv_timer_stop(&s->schedule_timer);
}

static void on_tick(uv_timer_t *t)
{
    sched *s = t->data;
    if (s->degraded)
        return; /* sched_schedules_load runs again when it recovers */
    int64_t now_us = clock_wall_us();
    int more = 0;
    for (size_t i = 0; i < s->schedules->n; i++) {
        live *l = &s->schedules->v[i];
        if (l->paused)
            continue;
        if (!l->backfill)
            more |= advance(s, l, now_us / 1000000, now_us);
        if (launch(s, l, now_us)) { /* a finished backfill: nothing more to look at */
            drop_live(s, l->id);
            i--;
        }
    }
    arm(s, more);
}

void sched_schedules_kick(sched *s)
{
    if (s->schedules)
        uv_timer_start(&s->schedule_timer, on_tick, 0, 0);
}

/* ---- requests ---- */

/* 1 to 64 of [A-Za-z0-9_.-], not "backfill-..." (the names of unnamed backfills). */
static int name_ok(const char *name)
{
    size_t n = strlen(name);
    return n && n <= NAME_MAX_LEN && strncmp(name, "backfill-", 9) != 0 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* The summary of schedule id for a reply (new reference), or NULL. */
static json_t *summary(sched *s, int64_t id)
{
    weft_err err = {0};
    json_t *row = catalog_schedule_get(s->cat, id, NULL, &err);
    if (!row)
        return NULL;
    json_object_del(row, "spec");
    json_object_del(row, "params");
    json_object_del(row, "artifacts");
    catalog_schedule_describe(row, clock_wall_us() / 1000000);
    return row;
}

/* Whether a live schedule has name; answers the request when one has. */
static int name_taken(sched *s, const zmq_msg_t *id, const char *name)
{
    weft_err err = {0};
    json_t *row = catalog_schedule_get(s->cat, 0, name, &err);
    if (!row && err.code == WEFT_ENOTFOUND)
        return 0;
    char msg[300];
    snprintf(msg, sizeof msg, "a schedule named '%s' exists (weft schedule rm %s, or give "
             "--name)", name, name);
    sched_reply(s, id, row ? WEFT_EINVAL : WEFT_EDB, row ? msg : err.msg, NULL, 0);
    json_decref(row);
    return 1;
}

/* The row of a new schedule or backfill of g (strings borrowed from g, nr and the texts). */
static catalog_schedule new_row(const dag *g, const sched_new_run *nr, const char *peer_name,
                                char *texts[3])
{
    texts[0] = json_dumps(g->params, JSON_COMPACT | JSON_SORT_KEYS);
    texts[1] = json_dumps(nr->pinned, JSON_COMPACT | JSON_SORT_KEYS);
    texts[2] = json_dumps(g->schedule, JSON_COMPACT | JSON_SORT_KEYS);
    return (catalog_schedule){
        .project = nr->project, .workflow = g->name, .file = nr->file, .spec = nr->yaml,
        .params = texts[0], .artifacts = texts[1], .labels = nr->labels, .timing = texts[2],
        .created_by = peer_name,
        .max_active = json_integer_value(json_object_get(g->schedule, "max_active_runs"))};
}

/* Answers with the summary of the new schedule id (and remembers it for rq's key). */
static void reply_added(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                        const Weft__SubmitRequest *rq, int64_t sid, json_t *extra,
                        int64_t now)
{
    json_t *j = summary(s, sid);
    if (j && extra)
        json_object_update(j, extra);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!text) {
        sched_reply(s, id, WEFT_EDB, "cannot read the new schedule back", NULL, 0);
    } else {
        sched_remember_answer(s, peer, rq->idempotency_key, "submit", text, 0, now);
        sched_reply(s, id, 0, NULL, text, 0);
    }
    free(text);
    json_decref(j);
    json_decref(extra);
}

static void add_schedule(sched *s, const zmq_msg_t *id, const auth_peer *peer, const dag *g,
                         const sched_new_run *nr, const Weft__SubmitRequest *rq, int64_t now)
{
    const char *name = *rq->schedule_name ? rq->schedule_name : g->name;
    char *texts[3];
    catalog_schedule cs = new_row(g, nr, peer->name, texts);
    cs.name = name;
    cs.kind = "cron";
    cs.cursor_s = now / 1000000;
    int64_t sid = catalog_add_schedule(s->cat, &cs, now);
    for (int i = 0; i < 3; i++)
        free(texts[i]);
    if (sid < 0) {
        sched_reply(s, id, WEFT_EDB, "the catalogue refused the schedule (see the scheduler "
                    "log)", NULL, 0);
        return;
    }
    log_info("schedule %s added by %s: workflow %s, project %s", name, peer->name, g->name,
             nr->project);
    add_live(s, sid, now / 1000000);
    sched_schedules_kick(s);
    reply_added(s, id, peer, rq, sid, NULL, now);
}

/* The slots of timing in [from, to] (at most BACKFILL_MAX + 1 of them). */
static size_t range_slots(const json_t *timing, int64_t from, int64_t to, int64_t **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    for (int64_t t = cron_schedule_next(timing, from - 1); t >= 0 && t <= to && n <= BACKFILL_MAX;
         t = cron_schedule_next(timing, t)) {
        xgrow(out, &cap, n + 1, sizeof **out);
        (*out)[n++] = t;
    }
    return n;
}

static void add_backfill(sched *s, const zmq_msg_t *id, const auth_peer *peer, const dag *g,
                         const sched_new_run *nr, const Weft__SubmitRequest *rq, int64_t now)
{
    char msg[300];
    int64_t *slots;
    size_t n = rq->from_s <= rq->to_s ? range_slots(g->schedule, rq->from_s, rq->to_s, &slots)
                                      : 0;
    if (rq->from_s > rq->to_s || n == 0 || n > BACKFILL_MAX) {
        if (rq->from_s > rq->to_s)
            snprintf(msg, sizeof msg, "--from is after --to");
        else if (n == 0)
            snprintf(msg, sizeof msg, "the schedule of %s has no slot in that range", g->name);
        else
            snprintf(msg, sizeof msg, "the range holds more than %d slots; backfill it in parts",
                     BACKFILL_MAX);
        sched_reply(s, id, WEFT_EINVAL, msg, NULL, 0);
        if (rq->from_s <= rq->to_s)
            free(slots);
        return;
    }
    char *texts[3];
    catalog_schedule cs = new_row(g, nr, peer->name, texts);
    cs.name = *rq->schedule_name ? rq->schedule_name : NULL;
    cs.kind = "backfill";
    cs.cursor_s = rq->to_s;
    if (rq->max_active)
        cs.max_active = rq->max_active;
    int64_t sid = catalog_add_schedule(s->cat, &cs, now);
    for (int i = 0; i < 3; i++)
        free(texts[i]);
    size_t queued = 0, skipped = 0;
    for (size_t i = 0; sid > 0 && i < n; i++) {
        int done = rq->rerun ? 0 : catalog_slot_taken(s->cat, nr->project, g->name, slots[i]);
        if (done == 1) {
            skipped++;
            continue;
        }
        if (queue_slot(s, sid, g->schedule, slots[i], now) < 0)
            sid = WEFT_EDB;
        queued++;
    }
    free(slots);
    if (sid < 0) {
        sched_reply(s, id, WEFT_EDB, "the catalogue refused the backfill (see the scheduler "
                    "log)", NULL, 0);
        return;
    }
    log_info("backfill %lld by %s: workflow %s, %zu slots, %zu queued, %zu succeeded or running",
             (long long)sid, peer->name, g->name, n, queued, skipped);
    add_live(s, sid, now / 1000000);
    sched_schedules_kick(s);
    reply_added(s, id, peer, rq, sid,
                json_pack("{s:I, s:I, s:I}", "slots", (json_int_t)n, "queued",
                          (json_int_t)queued, "skipped", (json_int_t)skipped),
                now);
}

void sched_schedule_submit(sched *s, const zmq_msg_t *id, const auth_peer *peer, dag *g,
                           const sched_new_run *nr, const Weft__SubmitRequest *rq,
                           int64_t now)
{
    char why[300];
    int backfill = !strcmp(rq->mode, "backfill");
    if (!backfill && strcmp(rq->mode, "schedule")) {
        snprintf(why, sizeof why, "unknown submit mode '%.64s' (schedule or backfill)",
                 rq->mode);
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
    } else if (!g->schedule) {
        snprintf(why, sizeof why, "%s has no schedule: give the workflow a schedule: (a cron "
                 "string, or every:)", nr->file);
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
    } else if (*rq->schedule_name && !name_ok(rq->schedule_name)) {
        sched_reply(s, id, WEFT_EINVAL, "a schedule's name is 1 to 64 characters of "
                    "[A-Za-z0-9_.-], not starting with backfill- (unnamed backfills' names)",
                    NULL, 0);
    } else if (backfill && (rq->max_active > MAX_ACTIVE_MAX || rq->from_s < TIME_MIN ||
                            rq->to_s > TIME_MAX)) {
        sched_reply(s, id, WEFT_EINVAL, "a backfill takes --max-active 1 to 1000, and times "
                    "between the years 1970 and 9999", NULL, 0);
    } else if (!sched_limits_why(s, nr->project, g->ntasks, 0, why, sizeof why)) {
        sched_reply(s, id, WEFT_ELIMIT, why, NULL, 0);
    } else if (backfill) {
        if (!*rq->schedule_name || !name_taken(s, id, rq->schedule_name))
            add_backfill(s, id, peer, g, nr, rq, now);
    } else if (!name_taken(s, id, *rq->schedule_name ? rq->schedule_name : g->name)) {
        add_schedule(s, id, peer, g, nr, rq, now);
    }
    dag_free(g);
}

static void list_schedules(sched *s, const zmq_msg_t *id, const auth_peer *peer, int all)
{
    weft_err err = {0};
    char *within = auth_projects_json(peer);
    json_t *rows = catalog_list_schedules(s->cat, within, all, &err);
    free(within);
    int64_t now_s = clock_wall_us() / 1000000;
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        catalog_schedule_describe(r, now_s);
    sched_reply_json(s, id, rows, &err);
}

void sched_on_schedule(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                       const Weft__ScheduleRequest *rq)
{
    if (rq->op == WEFT__SCHEDULE_OP__SCHEDULE_LIST) {
        list_schedules(s, id, peer, rq->all);
        return;
    }
    weft_err err = {0};
    json_t *row = catalog_schedule_get(s->cat, 0, rq->name, &err);
    const char *what = rq->op == WEFT__SCHEDULE_OP__SCHEDULE_PAUSE    ? "a schedule pause"
                       : rq->op == WEFT__SCHEDULE_OP__SCHEDULE_RESUME ? "a schedule resume"
                                                                      : "a schedule removal";
    if (!row) {
        sched_reply(s, id, err.code, err.msg, NULL, 0);
        return;
    }
    int64_t sid = json_integer_value(json_object_get(row, "id")), now = clock_wall_us();
    int paused = (int)json_integer_value(json_object_get(row, "paused"));
    if (sched_may_use(s, id, peer, json_string_value(json_object_get(row, "project")), what)) {
        int rc;
        if (rq->op == WEFT__SCHEDULE_OP__SCHEDULE_REMOVE)
            rc = catalog_schedule_set(s->cat, sid, paused, now);
        else
            rc = catalog_schedule_set(s->cat, sid, rq->op == WEFT__SCHEDULE_OP__SCHEDULE_PAUSE,
                                      0);
        live *l = find_live(s, sid);
        if (rc < 0) {
            sched_reply(s, id, WEFT_EDB, "the catalogue refused the change", NULL, 0);
        } else {
            if (rq->op == WEFT__SCHEDULE_OP__SCHEDULE_REMOVE)
                drop_live(s, sid);
            else if (l && rq->op == WEFT__SCHEDULE_OP__SCHEDULE_PAUSE)
                l->paused = 1;
            else if (l && l->paused) /* slots missed while paused follow its catchup */
                l->paused = 0, l->live_from_s = now / 1000000;
            log_info("schedule %s: %s by %s", rq->name, what + 11, peer->name);
            sched_schedules_kick(s);
            json_t *j = summary(s, sid);
            if (!j)
                err_set(&err, WEFT_EDB, "cannot read the schedule back");
            sched_reply_json(s, id, j, &err);
        }
    }
    json_decref(row);
}
