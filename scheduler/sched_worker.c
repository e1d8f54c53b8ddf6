/* sched_worker: messages from workers: registrations, heartbeats, streamed logs and
 * results, each from the connection its worker registered from. See sched_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/errclass.h"
#include "common/jsontext.h"
#include "common/log.h"
#include "common/text.h"
#include "common/wire.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

#define REREGISTER_WAIT_MS 10000
#define LOG_TAIL_LINES 20
#define LOG_TAIL_MAX 4096
#define LOG_CHUNK_MAX (64u << 10)

/* The type names in a plugin description; caller frees the array (not the strings, which
 * are borrowed from desc). */
static const char **type_names(const json_t *desc, size_t *n)
{
    size_t cap = 0, i, j;
    const char **names = NULL;
    json_t *pl, *t;
    *n = 0;
    json_array_foreach(json_object_get(desc, "plugins"), i, pl)
    {
        json_array_foreach(json_object_get(pl, "types"), j, t)
        {
            const char *name = json_string_value(json_object_get(t, "name"));
            if (name) {
                xgrow(&names, &cap, *n + 1, sizeof *names);
                names[(*n)++] = name;
            }
        }
    }
    return names;
}

/* Tells peer id its registration is refused, and why (it exits). */
static void refuse(sched *s, const zmq_msg_t *id, const char *name, const char *why)
{
    log_warn("worker registration from '%.*s' refused: %s", WIRE_NAME_MAX, name, why);
    Weft__Refused rf = WEFT__REFUSED__INIT;
    rf.reason = (char *)why;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REFUSED;
    env.refused = &rf;
    sched_queue_env(s, id, &env, OUT_CONTROL);
}


/* The key under which a Reregister request is remembered: "n:" and the worker's name, or
 * "c:" and the connection's routing id in hex (kept apart: a routing id may look like a
 * name). */
static const char *reregister_key(const zmq_msg_t *id, const char *name, char *buf, size_t n)
{
    if (name) {
        snprintf(buf, n, "n:%s", name);
        return buf;
    }
    const unsigned char *p = zmq_msg_data((zmq_msg_t *)id);
    size_t len = zmq_msg_size((zmq_msg_t *)id), off = (size_t)snprintf(buf, n, "c:");
    for (size_t i = 0; i < len && off + 3 <= n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%02x", p[i]);
    return buf;
}

void sched_on_register(sched *s, const zmq_msg_t *id, const Weft__Register *r,
                       const auth_peer *peer, const char *user)
{
    json_t *desc = json_loads(r->types_json, 0, NULL);
    if (!json_is_object(desc)) {
        refuse(s, id, r->name, "unreadable plugin description");
        json_decref(desc);
        return;
    }
    size_t ntypes;
    const char **names = type_names(desc, &ntypes);
    char why[400] = "";
    if (!sched_registration_bounds(r, ntypes, why, sizeof why) && !auth_may_register(peer, r->name))
        snprintf(why, sizeof why, "'%s' may not register a worker called '%s' (a worker key "
                 "registers its own name, or NAME.SUFFIX)", peer->name, r->name);
    if (why[0]) {
        refuse(s, id, r->name, why);
        free(names);
        json_decref(desc);
        return;
    }
    typereg_add_description(s->types, desc);
    int64_t now = clock_wall_us();
    sched_bind_worker(s, r->name, id, user);
    sched_worker_conn(s, r->name)->batches = r->batches;
    char key[2 * 64 + 4];
    strmap_del(s->reregister_asked, reregister_key(NULL, r->name, key, sizeof key));
    strmap_del(s->reregister_asked, reregister_key(id, NULL, key, sizeof key));
    catalog_put_worker(s->cat, r->name, r->slots, r->types_json, "up", now);
    res_amount *cap = xcalloc(r->n_capacity + 3, sizeof *cap);
    size_t ncap = r->n_capacity;
    for (size_t i = 0; i < r->n_capacity; i++)
        cap[i] = (res_amount){r->capacity[i]->name, r->capacity[i]->amount};
    if (!ncap) { /* a worker older than Register.capacity: its cores, memory and GPUs */
        cap[ncap++] = (res_amount){"cpu", (uint64_t)r->cpu * 1000};
        cap[ncap++] = (res_amount){"mem", r->mem};
        cap[ncap++] = (res_amount){"gpu", (uint64_t)r->gpu * 1000};
    }
    int gpus_ok = r->n_running_gpus == r->n_running && r->n_running_gpu_milli == r->n_running;
    core_event ev = {.kind = EV_WORKER_JOINED,
                     .now_us = now,
                     .capacity = cap,
                     .ncapacity = ncap,
                     .labels = r->labels,
                     .nlabels = r->n_labels,
                     .worker = r->name,
                     .slots = r->slots,
                     .prefetch = r->prefetch,
                     .types = names,
                     .ntypes = ntypes,
                     .running = r->running,
                     .nrunning = r->n_running,
                     /* both or neither: a share without its devices means nothing */
                     .running_gpus = gpus_ok ? r->running_gpus : NULL,
                     .running_gpu_milli = gpus_ok ? r->running_gpu_milli : NULL,
                     .finished = r->finished,
                     .nfinished = r->n_finished,
                     .again = r->again,
                     .heartbeat_us = (int64_t)r->heartbeat_ms * 1000};
    sched_step(s, &ev);
    free(cap);
    free(names);
    json_decref(desc);
}

/* The registered worker that talks on connection id, or NULL after asking the connection
 * to register (again: we restarted, or declared it lost), with what it is running; once,
 * until it does or the wait is over. */
const char *sched_known_worker(sched *s, const zmq_msg_t *id, const char *user)
{
    const char *name = sched_worker_of(s, id, user);
    if (name && core_worker_known(s->core, name))
        return name;
    /* Asked once per worker name, or per connection until it registers. */
    char key[2 * 64 + 4];
    reregister_key(id, name, key, sizeof key);
    uint64_t now_ms = (uint64_t)(clock_wall_us() / 1000);
    uint64_t asked = (uint64_t)(uintptr_t)strmap_get(s->reregister_asked, key);
    if (asked && now_ms - asked < REREGISTER_WAIT_MS)
        return NULL;
    strmap_put(s->reregister_asked, key, (void *)(uintptr_t)now_ms);
    Weft__Reregister rr = WEFT__REREGISTER__INIT;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REREGISTER;
    env.reregister = &rr;
    sched_queue_env(s, id, &env, OUT_CONTROL);
    return NULL;
}

void sched_on_heartbeat(sched *s, const zmq_msg_t *id, const char *user)
{
    const char *name = sched_known_worker(s, id, user);
    if (!name)
        return;
    core_event ev = {.kind = EV_HEARTBEAT, .now_us = clock_wall_us(), .worker = name};
    sched_step(s, &ev);
}

int sched_attempt_authentic(sched *s, const zmq_msg_t *id, const char *sender,
                            uint64_t attempt, const char *given, int body)
{
    char nonce[33], why[300];
    const char *owner = core_attempt_owner(s->core, attempt);
    sched_nonce(s, attempt, nonce);
    if (owner && strcmp(owner, sender) != 0)
        snprintf(why, sizeof why, "attempt %llu was dispatched to '%s', not to '%s'",
                 (unsigned long long)attempt, owner, sender);
    else if (strlen(given) != 32 || sodium_memcmp(given, nonce, 32) != 0)
        snprintf(why, sizeof why, "attempt %llu: the message does not carry its dispatch's "
                 "nonce", (unsigned long long)attempt);
    else
        return 1;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = body;
    char who[200];
    snprintf(who, sizeof who, "worker '%s'", sender);
    sched_deny(s, id, who, &env, why, 0);
    return 0;
}

/* What a running attempt's log gained, written where its log is kept (no turn: a file). */
void sched_on_log_chunk(sched *s, const zmq_msg_t *id, const char *user,
                        const Weft__LogChunk *c)
{
    const char *sender = sched_known_worker(s, id, user);
    uint64_t run;
    int task, elem, no;
    if (!sender || c->data.len > LOG_CHUNK_MAX ||
        !core_attempt_info(s->core, c->attempt_id, &run, &task, &elem, &no) ||
        !sched_attempt_authentic(s, id, sender, c->attempt_id, c->nonce,
                           WEFT__ENVELOPE__BODY_LOG_CHUNK))
        return;
    char name[300];
    dag_unit_name(core_run_dag(s->core, run), task, elem, name, sizeof name);
    catalog_append_log(s->cat, (int64_t)run, name, no, c->offset, c->data.data, c->data.len);
}

/* The units of recently ended attempts, by id (one place per id modulo ENDED_SLOTS; 0:
 * empty): a result that comes after its attempt ended (timed out, its worker lost) finds
 * its task's row for its checkpoint without a scan of every task. */
#define ENDED_SLOTS 4096
typedef struct ended_slot {
    uint64_t attempt_id, run;
    int idx, elem;
} ended_slot;

void sched_attempt_ended(sched *s, uint64_t attempt_id, uint64_t run, int idx, int elem)
{
    if (!s->ended)
        s->ended = xcalloc(ENDED_SLOTS, sizeof *s->ended);
    s->ended[attempt_id % ENDED_SLOTS] = (ended_slot){attempt_id, run, idx, elem};
}

/* Records the checkpoint an attempt saved, once its blobs are in the store. run is its
 * unit's run, idx and elem the unit (run 0: the core no longer knows it: the attempt
 * ended, and is looked for among those that did). */
static void save_checkpoint(sched *s, uint64_t attempt, uint64_t run, int idx, int elem,
                            const char *ref_json)
{
    const ended_slot *e = s->ended ? &s->ended[attempt % ENDED_SLOTS] : NULL;
    if (!run && e && e->attempt_id == attempt && attempt) {
        run = e->run;
        idx = e->idx;
        elem = e->elem;
    }
    json_t *ref = json_loads(ref_json, 0, NULL);
    char why[200];
    if (ref && sched_blobs_present(s, ref, why, sizeof why))
        catalog_save_checkpoint(s->cat, &(catalog_attempt_end){
            .id = attempt, .run = (int64_t)run, .idx = idx, .elem = elem,
            .checkpoint = ref_json});
    else
        log_warn("attempt %llu: checkpoint not kept: %s", (unsigned long long)attempt,
                 ref ? why : "not JSON");
    json_decref(ref);
}

typedef struct named_blobs {
    const Weft__Result *r;
    char *taken; /* r->blobs[i] is referenced by the outputs */
} named_blobs;

static void mark_named(void *ud, const json_t *ref)
{
    named_blobs *nb = ud;
    const char *hex = artref_hash(ref);
    for (size_t i = 0; hex && i < nb->r->n_blobs; i++)
        if (strcmp(nb->r->blobs[i]->hash, hex) == 0)
            nb->taken[i] = 1;
}

/* The blobs a result carries that its outputs reference go into the journal (at most
 * WIRE_INLINE_BLOBS_MAX); one that is not what it claims is left out, and the outputs then
 * name a blob the store lacks. */
static void take_blobs(sched *s, const char *worker, const Weft__Result *r,
                       const json_t *outputs)
{
    if (!r->n_blobs)
        return;
    named_blobs nb = {r, xcalloc(r->n_blobs, 1)};
    artref_each(outputs, mark_named, &nb);
    for (size_t i = 0; i < r->n_blobs && i < WIRE_INLINE_BLOBS_MAX; i++) {
        weft_err err = {0};
        if (nb.taken[i] && sched_journal_take(s, r->blobs[i]->hash, r->blobs[i]->data.data,
                                              r->blobs[i]->data.len, &err) < 0)
            log_warn("worker %s, attempt %llu: %s", worker, (unsigned long long)r->attempt_id,
                     err.msg);
    }
    free(nb.taken);
}

void sched_on_result(sched *s, const zmq_msg_t *id, const char *user, const Weft__Result *r)
{
    /* From a connection not registered (yet, again): the worker resends the result when it
     * registers. */
    const char *sender = sched_known_worker(s, id, user);
    if (!sender || !sched_attempt_authentic(s, id, sender, r->attempt_id, r->nonce,
                                            WEFT__ENVELOPE__BODY_RESULT))
        return;
    uint64_t run = 0;
    int task = 0, elem = -1, no;
    int64_t now = clock_wall_us();
    if (core_attempt_info(s->core, r->attempt_id, &run, &task, &elem, &no)) {
        char name[300];
        dag_unit_name(core_run_dag(s->core, run), task, elem, name, sizeof name);
        /* The last WIRE_LOG_MAX bytes, whatever the worker sent. */
        size_t skip = r->log.len > WIRE_LOG_MAX ? r->log.len - WIRE_LOG_MAX : 0;
        /* It replaces the streamed log, unless it is the end of a longer one. */
        if (r->log.len < WIRE_LOG_MAX ||
            catalog_log_size(s->cat, (int64_t)run, name, no) < (int64_t)(r->log.len - skip))
            catalog_write_log(s->cat, (int64_t)run, name, no, r->log.data + skip,
                              r->log.len - skip);
    }
    /* Kept even from a late result: it is what that attempt got done. */
    if (r->checkpoint_json && r->checkpoint_json[0])
        save_checkpoint(s, r->attempt_id, run, task, elem, r->checkpoint_json);
    json_t *outputs = r->ok ? jsontext_load(r->outputs_json) : NULL;
    if (json_is_object(outputs))
        take_blobs(s, sender, r, outputs);
    /* The end of a failed attempt's log, as text (a catch handler gets it). */
    char *tail_text = NULL;
    if (!r->ok) {
        const char *log = r->log.data ? (const char *)r->log.data : "";
        size_t tail = text_tail(log, r->log.len, LOG_TAIL_LINES, LOG_TAIL_MAX);
        tail_text = text_utf8(log + tail, r->log.len - tail);
    }
    /* Outputs are recorded only once every blob they reference is in the store. */
    char missing[200];
    int whole = !json_is_object(outputs) || sched_blobs_present(s, outputs, missing,
                                                               sizeof missing);
    core_event ev = {.kind = EV_RESULT,
                     .now_us = now,
                     .worker = sender,
                     .attempt_id = r->attempt_id,
                     .ok = r->ok && json_is_object(outputs) && whole,
                     .errclass = (int)r->error_class,
                     .message = r->ok && !json_is_object(outputs)
                                    ? "worker sent outputs that are not a JSON object"
                                : r->ok && !whole ? missing
                                                  : r->message,
                     .outputs = outputs,
                     .started_us = r->started_us,
                     .peak_mem_bytes = r->peak_mem_bytes,
                     .cpu_us = r->cpu_us,
                     .finished_us = r->finished_us,
                     .log_tail = tail_text};
    if (r->ok && !json_is_object(outputs))
        ev.errclass = ERRC_FATAL;
    else if (r->ok && !whole)
        ev.errclass = ERRC_TRANSIENT;
    sched_step(s, &ev);
    json_decref(outputs);
    free(tail_text);
}

