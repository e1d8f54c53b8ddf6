/* sched_signal: `weft signal RUN TASK --approve [-i name=value]... | --reject REASON`.
 *
 * Only a task of type approve that is waiting can be decided, by a client that may use the
 * run's project. Approving needs a value for every output the task's outputs: declares and
 * no other; each arrives as text and is typed here (a string as it is, anything else read
 * as JSON), so the task's outputs are checked before the core sees them. The decision is
 * recorded as an event naming who made it; the reply is sent after the turn commits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wtype.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

#define SIGNAL_REASON_MAX 1000
#define SIGNAL_VALUE_MAX (64u << 10)

/* The outputs task t declares ({name: "type"}), or NULL. */
static const json_t *declared(const dag_task *t)
{
    for (size_t i = 0; i < t->ninputs; i++)
        if (!strcmp(t->input_names[i], "outputs") && t->inputs[i]->kind == DV_LIT)
            return t->inputs[i]->lit;
    return NULL;
}

/* One value as its declared type: new reference, or NULL with why. */
static json_t *typed(const char *name, const char *type_text, const char *text, char *why,
                     size_t n)
{
    wtype t;
    char check[256];
    if (wtype_parse(type_text, &t) < 0) {
        snprintf(why, n, "output '%s' has an unknown type '%s'", name, type_text);
        return NULL;
    }
    int as_text = t.depth == 0 && (t.base == WT_STRING || t.base == WT_DURATION ||
                                   t.base == WT_SIZE);
    json_t *v = as_text ? json_string(text) : json_loads(text, JSON_DECODE_ANY, NULL);
    if (!v || !wtype_check_json(t, v, check, sizeof check)) {
        snprintf(why, n, "value '%s' must be of type %s; '%.200s' is not%s%s", name,
                 type_text, text, v ? ": " : "", v ? check : "");
        json_decref(v);
        return NULL;
    }
    return v;
}

/* The approval's outputs from rq's values: new reference, or NULL with why. */
static json_t *approval_outputs(const dag_task *t, const Weft__SignalRequest *rq,
                                const char *by, char *why, size_t n)
{
    const json_t *decl = declared(t);
    json_t *out = json_object();
    for (size_t i = 0; i < rq->n_values; i++) {
        const char *name = rq->values[i]->name, *text = rq->values[i]->value;
        const char *type = json_string_value(json_object_get(decl, name));
        json_t *v = NULL;
        if (!type)
            snprintf(why, n, "task '%s' takes no value '%s'; %s", t->name, name,
                     json_object_size(decl) ? "it declares (outputs:) the values it takes"
                                            : "it declares no outputs: to carry values");
        else if (json_object_get(out, name))
            snprintf(why, n, "value '%s' is given twice", name);
        else if (strlen(text) > SIGNAL_VALUE_MAX)
            snprintf(why, n, "value '%s' is longer than %u bytes", name, SIGNAL_VALUE_MAX);
        else
            v = typed(name, type, text, why, n);
        if (!v) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, name, v);
    }
    const char *name;
    const json_t *type;
    json_object_foreach((json_t *)decl, name, type) {
        if (!json_object_get(out, name)) {
            snprintf(why, n, "approving task '%s' needs -i %s=VALUE (%s), which its outputs: "
                     "declares", t->name, name, json_string_value(type));
            json_decref(out);
            return NULL;
        }
    }
    json_object_set_new(out, "approved_by", json_string(by));
    return out;
}

/* The task rq names in run, checked to be an approval waiting: its index, or -1 after
 * answering why not. */
static int waiting_approval(sched *s, const zmq_msg_t *id, const Weft__SignalRequest *rq)
{
    if (sched_refuse_ended_run(s, id, rq->run_id))
        return -1;
    const dag *g = core_run_dag(s->core, rq->run_id);
    char msg[400];
    int task = -1;
    for (size_t i = 0; i < g->ntasks && task < 0; i++)
        if (!strcmp(g->tasks[i].name, rq->task))
            task = (int)i;
    int state = core_task_state(s->core, rq->run_id, task);
    if (task < 0)
        snprintf(msg, sizeof msg, "run %llu has no task '%.100s'",
                 (unsigned long long)rq->run_id, rq->task);
    else if (g->tasks[task].kind != DK_APPROVE)
        snprintf(msg, sizeof msg, "task '%s' is of type %s, not approve: only an approval "
                 "takes a signal", rq->task, g->tasks[task].type);
    else if (state != TS_WAITING)
        snprintf(msg, sizeof msg, "task '%s' of run %llu is not waiting for approval (it is "
                 "%s)", rq->task, (unsigned long long)rq->run_id, core_task_state_name(state));
    else
        return task;
    sched_reply(s, id, task < 0 ? WEFT_ENOTFOUND : WEFT_EINVAL, msg, NULL, 0);
    return -1;
}

void sched_on_signal(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                     const Weft__SignalRequest *rq)
{
    if (!sched_may_see_run(s, id, peer, rq->run_id, "a signal") ||
        sched_answered_before(s, id, peer, "signal", rq->idempotency_key))
        return;
    int task = waiting_approval(s, id, rq);
    if (task < 0)
        return;
    const dag_task *t = &core_run_dag(s->core, rq->run_id)->tasks[task];
    char why[600] = "";
    json_t *outputs = NULL;
    if (!rq->approve && (!*rq->reason || strlen(rq->reason) > SIGNAL_REASON_MAX))
        snprintf(why, sizeof why, "a rejection needs a reason of 1 to %d bytes",
                 SIGNAL_REASON_MAX);
    else if (!rq->approve && rq->n_values)
        snprintf(why, sizeof why, "a rejection carries no values (-i)");
    else if (rq->approve && *rq->reason)
        snprintf(why, sizeof why, "an approval carries no reason; use -i with a value its "
                 "outputs: declares");
    else if (rq->approve)
        outputs = approval_outputs(t, rq, peer->name, why, sizeof why);
    if (why[0]) {
        sched_reply(s, id, WEFT_EINVAL, why, NULL, 0);
        return;
    }
    int64_t now = clock_wall_us();
    char detail[SIGNAL_REASON_MAX + 200];
    snprintf(detail, sizeof detail, "by %s%s%s", peer->name, rq->approve ? "" : ": ",
             rq->approve ? "" : rq->reason);
    catalog_event(s->cat, (int64_t)rq->run_id, t->name, rq->approve ? "approved" : "rejected",
                  detail, now);
    log_info("run %llu: task %s %s %s", (unsigned long long)rq->run_id, t->name,
             rq->approve ? "approved" : "rejected", detail);
    sched_remember_answer(s, peer, rq->idempotency_key, "signal", "{}", rq->run_id, now);
    core_event ev = {.kind = EV_SIGNAL, .now_us = now, .run_id = rq->run_id, .task = task,
                     .ok = rq->approve, .outputs = outputs, .message = rq->reason,
                     .worker = peer->name};
    sched_step(s, &ev);
    json_decref(outputs);
    sched_reply(s, id, 0, NULL, "{}", rq->run_id);
}
