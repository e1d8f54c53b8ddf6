/* weft-testpeer ENDPOINT MODE: sends one malformed or unexpected message to a scheduler,
 * as a hostile or broken peer would, then exits. Used by the bad-frames test.
 *
 * Modes: garbage (random bytes), empty (a zero-length message), truncated (half of a valid
 * SubmitRequest), unknown-body (a Dispatch, which only the scheduler sends), oversized (a
 * message above the scheduler's 64 MiB cap), frames (a message of 12 frames).
 *
 * weft-testpeer ENDPOINT submit-file FILE: submits FILE with no client-side checks and
 * prints the scheduler's error text (the CLI itself refuses files above the limit).
 *
 * weft-testpeer ENDPOINT upload|upload-corrupt FILE BYTES: uploads the first BYTES of FILE
 * (announcing its whole size and hash, or a wrong hash) and prints the reply's code and
 * text.
 *
 * weft-testpeer ENDPOINT shutdown: asks the scheduler to shut down; prints
 * "shutdown: CODE ERROR".
 *
 * weft-testpeer ENDPOINT register NAME SLOTS HEARTBEAT_MS [PREFETCH]: registers as worker
 * NAME with the given values (no bounds checked here) and prints "refused: REASON" when the
 * scheduler refuses, or "accepted" when no refusal comes within 2 s.
 *
 * weft-testpeer ENDPOINT offer NAME RESOURCE=AMOUNT LABEL: registers as worker NAME offering
 * one resource and carrying one label, unchecked; prints as register does.
 *
 * weft-testpeer ENDPOINT forge-result NAME ATTEMPT OUTPUTS_JSON: registers as worker NAME,
 * then sends a successful Result for ATTEMPT (dispatched to someone else, and without its
 * nonce) with OUTPUTS_JSON, and a failed one that carries a checkpoint; prints "sent".
 *
 * weft-testpeer ENDPOINT forge-batch NAME ATTEMPT OUTPUTS_JSON: registers as worker NAME,
 * then sends (refused or not) the two results forge-result sends inside one Batch, a result
 * inside Batches nested 30,000 deep, and a Batch of one heartbeat more than WIRE_BATCH_MAX;
 * prints "sent".
 *
 * weft-testpeer ENDPOINT query-twice FILE: asks for the scheduler's status, prints
 * "first: CODE", waits (at most 20 s) until FILE exists, asks again on the same connection
 * and prints "second: CODE ERROR".
 *
 * weft-testpeer ENDPOINT progress RUN: asks for RUN's progress (what a following client
 * asks for) and prints "progress: CODE ERROR", then the answer's counts as "counts: JSON"
 * (keys sorted) when it has them.
 *
 * weft-testpeer ENDPOINT hold NAME SECONDS: a worker that registers (one noop slot),
 * heartbeats, takes dispatches and never answers them; prints "dispatch ID" and "stop ID"
 * for what it receives, for SECONDS.
 *
 * weft-testpeer ENDPOINT big-log NAME BYTES: a worker that answers its first dispatch with
 * success and a log of BYTES bytes (ending "END-OF-LOG\n"), heartbeats a second more, then
 * exits.
 *
 * weft-testpeer ENDPOINT flood N RUN: sends N status queries for RUN and reads none of the
 * replies, then stays connected for 3 s; prints "sent N".
 *
 * weft-testpeer ENDPOINT blob-peer NAME: a worker providing `shell` that, on its first
 * dispatch, tries the blob messages as a hostile worker would and prints what the scheduler
 * answers: a fetch without the attempt's nonce ("forged nonce: ..."), a fetch of a blob
 * the attempt has no input of ("other blob: ..."), a fetch of its input ("input: ..."), a
 * push whose content does not match its hash ("bad push: ..."), then a successful Result
 * whose output names a blob it never pushed, carrying inside it (when the dispatch allows
 * blobs inside results) content that is not that blob's ("result sent").
 *
 * Over TCP the peer speaks CURVE when $WEFT_KEY and $WEFT_SERVER_KEY are set, or plain
 * TCP with $WEFT_INSECURE=1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "common/keys.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/wire.h"

/* A DEALER socket connected to endpoint, secured as the environment says; NULL (printed)
 * when the environment does not allow the connection. */
static void *open_peer(void *ctx, const char *endpoint, int linger)
{
    keys_conn kc;
    weft_err err = {0};
    if (keys_conn_setup(&kc, endpoint, NULL, NULL, 0, &err) < 0) {
        fprintf(stderr, "weft-testpeer: %s\n", err.msg);
        return NULL;
    }
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    keys_conn_apply(&kc, s);
    if (zmq_connect(s, endpoint) < 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int send_env(void *s, const Weft__Envelope *env)
{
    size_t len;
    uint8_t *buf = wire_pack(env, &len);
    int rc = zmq_send(s, buf, len, 0);
    free(buf);
    return rc < 0 ? -1 : 0;
}

/* Receives one envelope within ms; NULL when none came. */
static Weft__Envelope *recv_env(void *s, int ms)
{
    zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, ms) <= 0)
        return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    zmq_msg_recv(&m, s, 0);
    Weft__Envelope *e = wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&m);
    return e;
}

#define NOOP_TYPES "{\"plugins\": [{\"name\": \"builtin\", \"types\": [{\"name\": \"noop\"}]}]}"

/* A resource and a label for the next registration (offer), or NULL. */
static Weft__Resource *offer_res;
static char *offer_label;

/* Sends a registration as worker name with slots and task types types_json. */
static int send_register_queue(void *s, const char *name, uint32_t slots, uint32_t prefetch,
                               uint32_t heartbeat_ms, const char *types)
{
    Weft__Register r = WEFT__REGISTER__INIT;
    if (offer_res) {
        r.capacity = &offer_res;
        r.n_capacity = 1;
        r.labels = &offer_label;
        r.n_labels = 1;
    }
    r.name = (char *)name;
    r.slots = slots;
    r.prefetch = prefetch;
    r.heartbeat_ms = heartbeat_ms;
    r.types_json = (char *)types;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REGISTER;
    env.register_ = &r;
    return send_env(s, &env);
}

static int send_register(void *s, const char *name, uint32_t slots, uint32_t heartbeat_ms,
                         const char *types)
{
    return send_register_queue(s, name, slots, 0, heartbeat_ms, types);
}

/* Sends FILE as a SubmitRequest and prints the reply's error. Returns 0 when a reply came. */
static int submit_file(void *s, const char *file)
{
    char *text;
    size_t len;
    weft_err err = {0};
    if (fs_read_file(file, 32u << 20, &text, &len, &err) < 0)
        return 1;
    Weft__SubmitRequest sub = WEFT__SUBMIT_REQUEST__INIT;
    sub.file_name = (char *)file;
    sub.yaml = text;
    sub.cwd = "/etc"; /* relative paths: what a remote client may never make it read */
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    Weft__Envelope *reply = send_env(s, &env) == 0 ? recv_env(s, 5000) : NULL;
    free(text);
    if (!reply || reply->body_case != WEFT__ENVELOPE__BODY_REPLY) {
        if (reply)
            weft__envelope__free_unpacked(reply, NULL);
        return 1;
    }
    printf("%s", reply->reply->error);
    weft__envelope__free_unpacked(reply, NULL);
    return 0;
}

/* Uploads the first `bytes` bytes of file (announced whole: its hash and size) and prints
 * the reply's code and JSON; with a corrupt hash announces a wrong one. */
static int upload_part(void *s, const char *file, size_t bytes, int corrupt)
{
    char *data = NULL;
    size_t len = 0;
    weft_err err = {0};
    if (fs_read_file(file, 64u << 20, &data, &len, &err) < 0)
        return 1;
    char hex[HASH_HEX_LEN + 1];
    hash_hex(data, len, hex);
    if (corrupt)
        hex[0] = hex[0] == '0' ? '1' : '0';
    Weft__UploadRequest up = WEFT__UPLOAD_REQUEST__INIT;
    up.hash = hex;
    up.size = len;
    up.data.data = (uint8_t *)data;
    up.data.len = bytes < len ? bytes : len;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_UPLOAD;
    env.upload = &up;
    Weft__Envelope *reply = send_env(s, &env) == 0 ? recv_env(s, 5000) : NULL;
    free(data);
    if (!reply || reply->body_case != WEFT__ENVELOPE__BODY_REPLY) {
        if (reply)
            weft__envelope__free_unpacked(reply, NULL);
        return 1;
    }
    printf("%d %s%s\n", reply->reply->code, reply->reply->json, reply->reply->error);
    weft__envelope__free_unpacked(reply, NULL);
    return 0;
}

/* Registers as a worker with raw values; prints what the scheduler said. */
static int register_raw(const char *endpoint, const char *name, const char *slots,
                        const char *heartbeat, const char *prefetch)
{
    void *ctx = zmq_ctx_new(), *s = open_peer(ctx, endpoint, 0);
    if (!s)
        return 1;
    int rc = send_register_queue(s, name, (uint32_t)strtoul(slots, NULL, 10),
                                 (uint32_t)strtoul(prefetch, NULL, 10),
                                 (uint32_t)strtoul(heartbeat, NULL, 10), NOOP_TYPES) < 0;
    Weft__Envelope *e;
    while (!rc && (e = recv_env(s, 2000)) != NULL) {
        int refused = e->body_case == WEFT__ENVELOPE__BODY_REFUSED;
        if (refused)
            printf("refused: %s\n", e->refused->reason);
        weft__envelope__free_unpacked(e, NULL);
        if (refused)
            goto done;
    }
    printf("accepted\n");
done:
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}

/* Registers on s as worker name with no task types: 0, or -1 when it is refused (said). */
static int register_forger(void *s, const char *name)
{
    int rc = send_register(s, name, 1, 1000, "{\"plugins\": []}");
    Weft__Envelope *e = recv_env(s, 1000);
    if (e && e->body_case == WEFT__ENVELOPE__BODY_REFUSED) {
        printf("refused: %s\n", e->refused->reason);
        rc = -1;
    }
    if (e)
        weft__envelope__free_unpacked(e, NULL);
    return rc;
}

/* The two forged results for attempt: a success with outputs, and a transient failure that
 * carries a checkpoint; both with a log saying "forged". */
static void forged_results(uint64_t attempt, const char *outputs, Weft__Result *ok,
                           Weft__Result *failed)
{
    weft__result__init(ok);
    weft__result__init(failed);
    ok->attempt_id = failed->attempt_id = attempt;
    ok->ok = 1;
    ok->outputs_json = (char *)outputs;
    ok->log.data = failed->log.data = (uint8_t *)"forged\n";
    ok->log.len = failed->log.len = 7;
    failed->error_class = WEFT__ERROR_CLASS__ERROR_TRANSIENT;
    failed->message = "forged failure";
    failed->checkpoint_json = "{\"$artifact\": \"0000\"}";
}

static void close_peer(void *ctx, void *s)
{
    usleep(300000);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

/* Registers as worker name, then sends forged results for attempt. */
static int forge_result(const char *endpoint, const char *name, uint64_t attempt,
                        const char *outputs)
{
    void *ctx = zmq_ctx_new(), *s = open_peer(ctx, endpoint, 1000);
    if (!s)
        return 1;
    int rc = register_forger(s, name);
    Weft__Result ok, failed;
    forged_results(attempt, outputs, &ok, &failed);
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_RESULT;
    env.result = &ok;
    if (rc == 0)
        rc = send_env(s, &env);
    env.result = &failed;
    if (rc == 0 && (rc = send_env(s, &env)) == 0)
        printf("sent\n");
    close_peer(ctx, s);
    return rc < 0 ? 1 : 0;
}

/* Sends the n envelopes envs[i] inside one Batch on s. */
static int send_batch(void *s, Weft__Envelope **envs, size_t n)
{
    uint8_t **items = calloc(n, sizeof *items);
    size_t *lens = calloc(n, sizeof *lens), len;
    for (size_t i = 0; i < n; i++)
        items[i] = wire_pack(envs[i], &lens[i]);
    uint8_t *b = wire_batch((const uint8_t *const *)items, lens, n, &len);
    int rc = zmq_send(s, b, len, 0) < 0 ? -1 : 0;
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
    free(lens);
    free(b);
    return rc;
}

#define NESTED_BATCHES 30000

/* Prepends varint v before *p (moving it back). */
static void put_back_varint(uint8_t **p, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v);
    *p -= n;
    memcpy(*p, tmp, n);
}

/* env inside NESTED_BATCHES Batches, each the one item of the next (built from the inside
 * out, so the bytes are written once). Caller frees. */
static uint8_t *nested_batches(const Weft__Envelope *env, size_t *len)
{
    size_t inner;
    uint8_t *one = wire_pack(env, &inner), *buf = malloc(inner + NESTED_BATCHES * 24);
    uint8_t *end = buf + inner + NESTED_BATCHES * 24, *p = end - inner;
    memcpy(p, one, inner);
    free(one);
    for (int i = 0; i < NESTED_BATCHES; i++) {
        put_back_varint(&p, (uint64_t)(end - p)); /* Batch.items = 1 */
        put_back_varint(&p, (1u << 3) | 2u);
        put_back_varint(&p, (uint64_t)(end - p)); /* Envelope.batch = 24 */
        put_back_varint(&p, (24u << 3) | 2u);
    }
    *len = (size_t)(end - p);
    memmove(buf, p, *len);
    return buf;
}

/* Registers as worker name, then sends forged results for attempt inside a Batch, Batches
 * nested NESTED_BATCHES deep, and a Batch too large. */
static int forge_batch(const char *endpoint, const char *name, uint64_t attempt,
                       const char *outputs)
{
    void *ctx = zmq_ctx_new(), *s = open_peer(ctx, endpoint, 1000);
    if (!s)
        return 1;
    register_forger(s, name); /* refused or not, the batches go */
    Weft__Result ok, failed;
    forged_results(attempt, outputs, &ok, &failed);
    Weft__Envelope r1 = WEFT__ENVELOPE__INIT, r2 = WEFT__ENVELOPE__INIT;
    r1.body_case = r2.body_case = WEFT__ENVELOPE__BODY_RESULT;
    r1.result = &ok;
    r2.result = &failed;
    Weft__Envelope *results[] = {&r1, &r2};
    int rc = send_batch(s, results, 2);
    /* Batches inside Batches, NESTED_BATCHES deep, around one forged result. */
    size_t len;
    uint8_t *nested = nested_batches(&r1, &len);
    if (rc == 0 && zmq_send(s, nested, len, 0) < 0)
        rc = -1;
    free(nested);
    /* One message more than a Batch may hold. */
    Weft__Heartbeat hb = WEFT__HEARTBEAT__INIT;
    Weft__Envelope beat = WEFT__ENVELOPE__INIT;
    beat.body_case = WEFT__ENVELOPE__BODY_HEARTBEAT;
    beat.heartbeat = &hb;
    Weft__Envelope *beats[WIRE_BATCH_MAX + 1];
    for (size_t i = 0; i <= WIRE_BATCH_MAX; i++)
        beats[i] = &beat;
    if (rc == 0 && (rc = send_batch(s, beats, WIRE_BATCH_MAX + 1)) == 0)
        printf("sent\n");
    close_peer(ctx, s);
    return rc < 0 ? 1 : 0;
}

/* One query of kind (about run) on s; prints its code (and error) after label. */
static int query_once(void *s, const char *label, Weft__QueryKind kind, uint64_t run)
{
    Weft__QueryRequest q = WEFT__QUERY_REQUEST__INIT;
    q.kind = kind;
    q.run_id = run;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_QUERY;
    env.query = &q;
    if (send_env(s, &env) < 0)
        return -1;
    Weft__Envelope *e = recv_env(s, 5000);
    if (!e || e->body_case != WEFT__ENVELOPE__BODY_REPLY) {
        printf("%s: no reply\n", label);
    } else {
        printf("%s: %d %s\n", label, e->reply->code, e->reply->error);
        json_t *j = kind == WEFT__QUERY_KIND__QUERY_PROGRESS && e->reply->code == 0
                    ? json_loads(e->reply->json, 0, NULL) : NULL;
        char *counts = j ? json_dumps(json_object_get(j, "counts"), JSON_SORT_KEYS) : NULL;
        if (counts)
            printf("counts: %s\n", counts);
        free(counts);
        json_decref(j);
    }
    if (e)
        weft__envelope__free_unpacked(e, NULL);
    fflush(stdout);
    return 0;
}

static int query_twice(const char *endpoint, const char *file)
{
    void *ctx = zmq_ctx_new(), *s = open_peer(ctx, endpoint, 0);
    if (!s)
        return 1;
    int rc = query_once(s, "first", WEFT__QUERY_KIND__QUERY_STATUS, 0);
    for (int i = 0; i < 200 && access(file, F_OK) != 0; i++)
        usleep(100000);
    if (rc == 0)
        rc = query_once(s, "second", WEFT__QUERY_KIND__QUERY_STATUS, 0);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc < 0 ? 1 : 0;
}

/* A worker of one noop slot: hold (never answer) or answer the first dispatch with a log
 * of log_bytes. */
static int fake_worker(const char *endpoint, const char *name, int seconds, size_t log_bytes)
{
    void *ctx = zmq_ctx_new(), *s = open_peer(ctx, endpoint, 1000);
    if (!s)
        return 1;
    int rc = send_register(s, name, 1, 200, NOOP_TYPES);
    Weft__Heartbeat hb = WEFT__HEARTBEAT__INIT;
    Weft__Envelope beat = WEFT__ENVELOPE__INIT;
    beat.body_case = WEFT__ENVELOPE__BODY_HEARTBEAT;
    beat.heartbeat = &hb;
    for (int tick = 0; rc == 0 && tick < seconds * 5; tick++) {
        Weft__Envelope *e = recv_env(s, 200);
        send_env(s, &beat);
        if (!e)
            continue;
        if (e->body_case == WEFT__ENVELOPE__BODY_STOP)
            printf("stop %llu\n", (unsigned long long)e->stop->attempt_id);
        if (e->body_case == WEFT__ENVELOPE__BODY_REFUSED)
            printf("refused: %s\n", e->refused->reason);
        if (e->body_case == WEFT__ENVELOPE__BODY_DISPATCH) {
            printf("dispatch %llu\n", (unsigned long long)e->dispatch->attempt_id);
            if (log_bytes) {
                Weft__Result res = WEFT__RESULT__INIT;
                res.attempt_id = e->dispatch->attempt_id;
                res.nonce = e->dispatch->nonce;
                res.ok = 1;
                res.outputs_json = "{}";
                uint8_t *log = malloc(log_bytes);
                memset(log, 'x', log_bytes);
                memcpy(log + log_bytes - 11, "END-OF-LOG\n", 11);
                res.log.data = log;
                res.log.len = log_bytes;
                Weft__Envelope out = WEFT__ENVELOPE__INIT;
                out.body_case = WEFT__ENVELOPE__BODY_RESULT;
                out.result = &res;
                rc = send_env(s, &out);
                free(log);
                /* done: heartbeat a second more, as a worker that stays does, so that
                 * a slow scheduler takes the result before it could miss us */
                tick = seconds * 5 - 5;
            }
        }
        fflush(stdout);
        weft__envelope__free_unpacked(e, NULL);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc < 0 ? 1 : 0;
}

static void heartbeat(void *s)
{
    Weft__Heartbeat hb = WEFT__HEARTBEAT__INIT;
    Weft__Envelope beat = WEFT__ENVELOPE__INIT;
    beat.body_case = WEFT__ENVELOPE__BODY_HEARTBEAT;
    beat.heartbeat = &hb;
    send_env(s, &beat);
}

/* Sends a BlobFetch and prints the answer (or that none came within a second). */
static void try_fetch(void *s, const char *label, uint64_t attempt, const char *nonce,
                      const char *hash)
{
    heartbeat(s);
    Weft__BlobFetch f = WEFT__BLOB_FETCH__INIT;
    f.attempt_id = attempt;
    f.nonce = (char *)nonce;
    f.hash = (char *)hash;
    f.length = 1u << 20;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_BLOB_FETCH;
    env.blob_fetch = &f;
    send_env(s, &env);
    Weft__Envelope *e;
    while ((e = recv_env(s, 1000)) && e->body_case != WEFT__ENVELOPE__BODY_BLOB_REPLY)
        weft__envelope__free_unpacked(e, NULL);
    if (!e) {
        printf("%s: no answer\n", label);
        return;
    }
    Weft__BlobReply *r = e->blob_reply;
    if (r->code) {
        printf("%s: %d %s\n", label, r->code, r->error);
    } else {
        char hex[HASH_HEX_LEN + 1];
        hash_hex(r->data.data, r->data.len, hex);
        printf("%s: %zu bytes of %llu, %s\n", label, r->data.len, (unsigned long long)r->size,
               !strcmp(hex, hash) ? "matching its hash" : "NOT matching its hash");
    }
    weft__envelope__free_unpacked(e, NULL);
}

static void try_bad_push(void *s, uint64_t attempt, const char *nonce)
{
    heartbeat(s);
    static const char zeros[HASH_HEX_LEN + 1] =
        "0000000000000000000000000000000000000000000000000000000000000000";
    Weft__BlobPush p = WEFT__BLOB_PUSH__INIT;
    p.attempt_id = attempt;
    p.nonce = (char *)nonce;
    p.hash = (char *)zeros;
    p.size = 5;
    p.data.data = (uint8_t *)"hello";
    p.data.len = 5;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_BLOB_PUSH;
    env.blob_push = &p;
    send_env(s, &env);
    Weft__Envelope *e;
    while ((e = recv_env(s, 1000)) && e->body_case != WEFT__ENVELOPE__BODY_BLOB_REPLY)
        weft__envelope__free_unpacked(e, NULL);
    if (e)
        printf("bad push: %d %s (stored %d)\n", e->blob_reply->code, e->blob_reply->error,
               e->blob_reply->stored);
    else
        printf("bad push: no answer\n");
    if (e)
        weft__envelope__free_unpacked(e, NULL);
}

/* The blob of the first artifact reference in inputs (a JSON object), or NULL. */
static char *first_artifact(const char *inputs)
{
    const char *k = strstr(inputs, "\"artifact\":");
    const char *q = k ? strchr(k + 11, '"') : NULL;
    if (!q || strlen(q + 1) < HASH_HEX_LEN)
        return NULL;
    return strndup(q + 1, HASH_HEX_LEN);
}

static int blob_peer(const char *endpoint, const char *name)
{
    void *ctx = zmq_ctx_new(), *s = open_peer(ctx, endpoint, 1000);
    if (!s)
        return 1;
    int rc = send_register(s, name, 1, 1000,
                           "{\"plugins\": [{\"name\": \"builtin\", \"types\": "
                           "[{\"name\": \"shell\"}]}]}");
    Weft__Envelope *e = NULL;
    for (int i = 0; rc == 0 && i < 300; i++) {
        heartbeat(s);
        e = recv_env(s, 100);
        if (e && e->body_case == WEFT__ENVELOPE__BODY_DISPATCH)
            break;
        if (e)
            weft__envelope__free_unpacked(e, NULL);
        e = NULL;
    }
    char *input = e ? first_artifact(e->dispatch->inputs_json) : NULL;
    if (!input) {
        printf("no dispatch with an artifact came\n");
        if (e)
            weft__envelope__free_unpacked(e, NULL);
        zmq_close(s);
        zmq_ctx_term(ctx);
        return 1;
    }
    const Weft__Dispatch *d = e->dispatch;
    try_fetch(s, "forged nonce", d->attempt_id, "0123456789abcdef0123456789abcdef", input);
    try_fetch(s, "other blob", d->attempt_id, d->nonce,
              "1111111111111111111111111111111111111111111111111111111111111111");
    try_fetch(s, "input", d->attempt_id, d->nonce, input);
    try_bad_push(s, d->attempt_id, d->nonce);
    Weft__Result res = WEFT__RESULT__INIT;
    res.attempt_id = d->attempt_id;
    res.nonce = d->nonce;
    res.ok = 1;
    res.outputs_json = "{\"out\": {\"artifact\": \"2222222222222222222222222222222222222222"
                       "222222222222222222222222\", \"kind\": \"file\", \"name\": \"x\", "
                       "\"size\": 3}}";
    /* ... and carries it inside, under that hash, though its content is not the hash's. */
    Weft__Blob forged = WEFT__BLOB__INIT, *forged_v[1] = {&forged};
    forged.hash = "2222222222222222222222222222222222222222222222222222222222222222";
    forged.data.data = (uint8_t *)"abc";
    forged.data.len = 3;
    res.blobs = forged_v;
    res.n_blobs = d->inline_max ? 1 : 0;
    Weft__Envelope out = WEFT__ENVELOPE__INIT;
    out.body_case = WEFT__ENVELOPE__BODY_RESULT;
    out.result = &res;
    rc = send_env(s, &out);
    printf("result sent\n");
    free(input);
    weft__envelope__free_unpacked(e, NULL);
    usleep(300000);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc < 0 ? 1 : 0;
}

/* One progress query for run. */
static int progress(const char *endpoint, uint64_t run)
{
    void *ctx = zmq_ctx_new(), *s = open_peer(ctx, endpoint, 0);
    if (!s)
        return 1;
    int rc = query_once(s, "progress", WEFT__QUERY_KIND__QUERY_PROGRESS, run);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc < 0 ? 1 : 0;
}

/* N status queries whose replies are never read. */
static int flood(const char *endpoint, int n, uint64_t run)
{
    void *ctx = zmq_ctx_new(), *s = open_peer(ctx, endpoint, 0);
    if (!s)
        return 1;
    Weft__QueryRequest q = WEFT__QUERY_REQUEST__INIT;
    q.run_id = run;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_QUERY;
    env.query = &q;
    int sent = 0;
    for (; sent < n && send_env(s, &env) == 0; sent++) {
    }
    printf("sent %d\n", sent);
    fflush(stdout);
    sleep(3);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[2], "hold"))
        return fake_worker(argv[1], argv[3], (int)strtol(argv[4], NULL, 10), 0);
    if (argc == 4 && !strcmp(argv[2], "blob-peer"))
        return blob_peer(argv[1], argv[3]);
    if (argc == 5 && !strcmp(argv[2], "big-log"))
        return fake_worker(argv[1], argv[3], 30, strtoull(argv[4], NULL, 10));
    if (argc == 5 && !strcmp(argv[2], "flood"))
        return flood(argv[1], (int)strtol(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
    if (argc == 6 && !strcmp(argv[2], "offer")) {
        static Weft__Resource res = WEFT__RESOURCE__INIT;
        char *eq = strchr(argv[4], '=');
        if (!eq)
            return 2;
        *eq = '\0';
        res.name = argv[4];
        res.amount = strtoull(eq + 1, NULL, 10);
        offer_res = &res;
        offer_label = argv[5];
        return register_raw(argv[1], argv[3], "1", "1000", "0");
    }
    if ((argc == 6 || argc == 7) && !strcmp(argv[2], "register"))
        return register_raw(argv[1], argv[3], argv[4], argv[5], argc == 7 ? argv[6] : "0");
    if (argc == 6 && !strcmp(argv[2], "forge-result"))
        return forge_result(argv[1], argv[3], strtoull(argv[4], NULL, 10), argv[5]);
    if (argc == 6 && !strcmp(argv[2], "forge-batch"))
        return forge_batch(argv[1], argv[3], strtoull(argv[4], NULL, 10), argv[5]);
    if (argc == 4 && !strcmp(argv[2], "progress"))
        return progress(argv[1], strtoull(argv[3], NULL, 10));
    if (argc == 4 && !strcmp(argv[2], "query-twice"))
        return query_twice(argv[1], argv[3]);
    if (argc == 4 && !strcmp(argv[2], "submit-file")) {
        void *ctx = zmq_ctx_new(), *s = open_peer(ctx, argv[1], 0);
        int rc = !s ? 1 : submit_file(s, argv[3]);
        if (s)
            zmq_close(s);
        zmq_ctx_term(ctx);
        return rc;
    }
    if (argc == 5 && (!strcmp(argv[2], "upload") || !strcmp(argv[2], "upload-corrupt"))) {
        void *ctx = zmq_ctx_new(), *s = open_peer(ctx, argv[1], 0);
        int rc = !s ? 1 : upload_part(s, argv[3], strtoul(argv[4], NULL, 10),
                                      !strcmp(argv[2], "upload-corrupt"));
        if (s)
            zmq_close(s);
        zmq_ctx_term(ctx);
        return rc;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: weft-testpeer ENDPOINT MODE\n");
        return 2;
    }
    void *ctx = zmq_ctx_new(), *s = open_peer(ctx, argv[1], 2000);
    if (!s)
        return 1;
    const char *mode = argv[2];
    int rc = 0;
    if (!strcmp(mode, "garbage")) {
        unsigned char buf[4096];
        srand(7);
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (unsigned char)rand();
        rc = zmq_send(s, buf, sizeof buf, 0);
    } else if (!strcmp(mode, "empty")) {
        rc = zmq_send(s, "", 0, 0);
    } else if (!strcmp(mode, "truncated") || !strcmp(mode, "unknown-body")) {
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        Weft__SubmitRequest sub = WEFT__SUBMIT_REQUEST__INIT;
        Weft__Dispatch d = WEFT__DISPATCH__INIT;
        sub.file_name = "x.yaml";
        sub.yaml = "workflow: x\ntasks:\n  a: { type: noop }\n";
        if (!strcmp(mode, "truncated")) {
            env.body_case = WEFT__ENVELOPE__BODY_SUBMIT;
            env.submit = &sub;
        } else {
            d.attempt_id = 1;
            d.task = "a";
            d.type = "noop";
            d.inputs_json = "{}";
            env.body_case = WEFT__ENVELOPE__BODY_DISPATCH;
            env.dispatch = &d;
        }
        size_t len;
        uint8_t *buf = wire_pack(&env, &len);
        rc = zmq_send(s, buf, !strcmp(mode, "truncated") ? len / 2 : len, 0);
        free(buf);
    } else if (!strcmp(mode, "oversized")) {
        size_t len = (size_t)WIRE_MAX + 1024;
        char *buf = calloc(1, len);
        rc = buf ? zmq_send(s, buf, len, 0) : -1;
        free(buf);
    } else if (!strcmp(mode, "shutdown")) {
        rc = query_once(s, "shutdown", WEFT__QUERY_KIND__QUERY_SHUTDOWN, 0);
    } else if (!strcmp(mode, "frames")) {
        for (int i = 0; i < 12 && rc >= 0; i++)
            rc = zmq_send(s, "x", 1, i < 11 ? ZMQ_SNDMORE : 0);
    } else {
        fprintf(stderr, "weft-testpeer: unknown mode %s\n", mode);
        rc = -1;
    }
    usleep(100000);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc < 0 ? 1 : 0;
}
