/* sched_auth: the scheduler's key pair, the ZAP handler that admits connections, the
 * authorization of every message, and key management. See sched_int.h and auth.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/wire.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

/* The nonces of recent dispatches, by attempt id (one place per id modulo NONCE_SLOTS; 0:
 * empty, no attempt has id 0): the check of a result finds its dispatch's there instead of
 * hashing again (a keyed BLAKE2b and its hex, 2,300 instructions). */
#define NONCE_SLOTS 4096
typedef struct nonce_slot {
    uint64_t attempt_id;
    char hex[33];
} nonce_slot;

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

/* ---- ZAP (RFC 27) ---- */

/* The uid of a local (ipc) peer from the ZAP address libzmq gives it, which ends in
 * ":UID:GID:PID" (three decimal fields); -1 when it does not. */
static long ipc_uid(const char *addr)
{
    const char *field[3], *p = addr + strlen(addr);
    for (int k = 2; k >= 0; k--) {
        const char *end = p;
        while (p > addr && p[-1] >= '0' && p[-1] <= '9')
            p--;
        if (p == end || p == addr || p[-1] != ':')
            return -1;
        field[k] = p--;
    }
    return strtol(field[0], NULL, 10);
}

/* Decides one ZAP request: returns the User-Id to admit it with, or NULL with why. */
static const char *zap_decide(sched *s, const char *listener_id, const char *mech,
                              const char *addr, zmq_msg_t *cred, char *user, size_t n,
                              const char **why)
{
    if (!strcmp(listener_id, "local") && !strcmp(mech, "NULL")) {
        long uid = ipc_uid(addr);
        if (uid < 0 || uid != (long)geteuid()) {
            *why = "a local peer of another user";
            return NULL;
        }
        return AUTH_USER_LOCAL;
    }
    if (!strcmp(listener_id, "tcp") && !strcmp(mech, "NULL"))
        return AUTH_USER_INSECURE; /* only an --insecure loopback listener speaks NULL */
    if (!strcmp(listener_id, "tcp") && !strcmp(mech, "CURVE") && cred &&
        zmq_msg_size(cred) == 32) {
        char z85[KEY_Z85_LEN + 1];
        zmq_z85_encode(z85, zmq_msg_data(cred), 32);
        snprintf(user, n, "key:%s", z85);
        if ((*why = auth_admit(s->auth, z85)) != NULL) {
            snprintf(user, n, "%s %s", *why, z85);
            *why = user;
            return NULL;
        }
        return user;
    }
    *why = "an unexpected security mechanism";
    return NULL;
}

static char *frame_str(zmq_msg_t *m)
{
    return xstrndup(zmq_msg_data(m), zmq_msg_size(m));
}

static void on_zap(void *arg, zmq_msg_t *frames, size_t n)
{
    sched *s = arg;
    if (n < 6) {
        /* Not a ZAP request (only libzmq writes here); a REP socket must still answer. */
        const void *reply[] = {"1.0", n > 1 ? zmq_msg_data(&frames[1]) : "", "500",
                               "malformed request", "", ""};
        size_t lens[] = {3, n > 1 ? zmq_msg_size(&frames[1]) : 0, 3, 17, 0, 0};
        zsock_send(s->zap, reply, lens, 6);
        return;
    }
    char *version = frame_str(&frames[0]), *domain = frame_str(&frames[2]);
    char *addr = frame_str(&frames[3]), *lid = frame_str(&frames[4]);
    char *mech = frame_str(&frames[5]);
    char user[160];
    const char *why = "bad ZAP request";
    const char *uid = strcmp(version, "1.0") == 0
                          ? zap_decide(s, lid, mech, addr, n > 6 ? &frames[6] : NULL, user,
                                       sizeof user, &why)
                          : NULL;
    if (!uid)
        log_warn("refused a connection from %s (%s): %s", addr[0] ? addr : "a local peer",
                 mech, why);
    const void *reply[] = {"1.0", zmq_msg_data(&frames[1]), uid ? "200" : "400",
                           uid ? "OK" : why, uid ? uid : "", ""};
    size_t lens[] = {3, zmq_msg_size(&frames[1]), 3, strlen(uid ? "OK" : why),
                     uid ? strlen(uid) : 0, 0};
    if (zsock_send(s->zap, reply, lens, 6) < 0)
        log_error("cannot answer a ZAP request: %s", strerror(errno));
    free(version);
    free(domain);
    free(addr);
    free(lid);
    free(mech);
}

/* ---- the scheduler's key pair ---- */

static int load_key(sched *s, weft_err *err)
{
    char *path = xasprintf("%s/scheduler.key", s->state_dir);
    int rc = 0;
    if (access(path, F_OK) != 0) {
        rc = keys_generate(&s->key, err);
        if (rc == 0)
            rc = keys_write(path, &s->key, err);
        if (rc == 0)
            log_info("made the scheduler's key pair %s", path);
    } else {
        rc = keys_read(path, &s->key, err);
    }
    if (rc == 0)
        log_info("public key %s (in %s.pub; workers and clients take it as --server-key)",
                 s->key.pub, path);
    free(path);
    uint8_t sec[32];
    if (rc == 0 && zmq_z85_decode(sec, s->key.sec))
        crypto_generichash(s->nonce_key, sizeof s->nonce_key, sec, sizeof sec,
                           (const uint8_t *)"weft attempt nonce", 18);
    sodium_memzero(sec, sizeof sec);
    return rc;
}

int sched_auth_open(sched *s, weft_err *err)
{
    int rc = load_key(s, err);
    if (rc < 0)
        return rc;
    s->auth = auth_new();
    json_t *rows = catalog_list_keys(s->cat, err);
    if (!rows)
        return WEFT_EDB;
    auth_load(s->auth, rows);
    json_decref(rows);
    s->zap = zsock_new(&s->loop, s->zctx, ZMQ_REP, on_zap, s);
    if (!s->zap || zmq_bind(zsock_handle(s->zap), ZAP_ENDPOINT) < 0 || zsock_start(s->zap) < 0)
        return err_set(err, WEFT_EIO, "cannot start the ZAP handler: %s", zmq_strerror(errno));
    return 0;
}

void sched_auth_close(sched *s)
{
    zsock_close(s->zap);
    s->zap = NULL;
    auth_destroy(&s->auth);
    sodium_memzero(&s->key, sizeof s->key);
    if (s->nonces)
        sodium_memzero(s->nonces, NONCE_SLOTS * sizeof *s->nonces);
    free(s->nonces);
    s->nonces = NULL;
}

void sched_nonce(sched *s, uint64_t attempt_id, char out[33])
{
    if (!s->nonces)
        s->nonces = xcalloc(NONCE_SLOTS, sizeof *s->nonces);
    nonce_slot *slot = &s->nonces[attempt_id % NONCE_SLOTS];
    if (slot->attempt_id != attempt_id || !attempt_id) {
        uint8_t le[8], h[16];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(attempt_id >> (8 * i));
        crypto_generichash(h, sizeof h, le, sizeof le, s->nonce_key, sizeof s->nonce_key);
        sodium_bin2hex(slot->hex, sizeof slot->hex, h, sizeof h);
        slot->attempt_id = attempt_id;
    }
    memcpy(out, slot->hex, sizeof slot->hex);
}

/* ---- authorization ---- */

static const char *body_name(int body)
{
    switch (body) {
    case WEFT__ENVELOPE__BODY_REGISTER: return "a registration";
    case WEFT__ENVELOPE__BODY_HEARTBEAT: return "a heartbeat";
    case WEFT__ENVELOPE__BODY_RESULT: return "a result";
    case WEFT__ENVELOPE__BODY_LOG_CHUNK: return "a log chunk";
    case WEFT__ENVELOPE__BODY_SUBMIT: return "a submit";
    case WEFT__ENVELOPE__BODY_QUERY: return "a query";
    case WEFT__ENVELOPE__BODY_CANCEL: return "a cancel";
    case WEFT__ENVELOPE__BODY_SIGNAL: return "a signal";
    case WEFT__ENVELOPE__BODY_RETRY: return "a retry";
    case WEFT__ENVELOPE__BODY_KEYS: return "a key request";
    case WEFT__ENVELOPE__BODY_PROJECT: return "a project request";
    case WEFT__ENVELOPE__BODY_UPLOAD: return "an upload";
    case WEFT__ENVELOPE__BODY_SCHEDULE: return "a schedule request";
    case WEFT__ENVELOPE__BODY_DOWNLOAD: return "a download";
    case WEFT__ENVELOPE__BODY_BLOB_FETCH: return "a blob fetch";
    case WEFT__ENVELOPE__BODY_BLOB_PUSH: return "a blob push";
    case WEFT__ENVELOPE__BODY_BATCH: return "a batch";
    default: return "a message";
    }
}

/* The role a message needs (0: none; unexpected bodies are dropped later). */
static int role_needed(const Weft__Envelope *env, const char **what)
{
    *what = NULL;
    switch (env->body_case) {
    case WEFT__ENVELOPE__BODY_REGISTER:
    case WEFT__ENVELOPE__BODY_HEARTBEAT:
    case WEFT__ENVELOPE__BODY_RESULT:
    case WEFT__ENVELOPE__BODY_LOG_CHUNK:
    case WEFT__ENVELOPE__BODY_BLOB_FETCH:
    case WEFT__ENVELOPE__BODY_BLOB_PUSH:
    case WEFT__ENVELOPE__BODY_BATCH: /* only workers send them; each item is checked too */
        *what = "the worker role";
        return ROLE_WORKER;
    case WEFT__ENVELOPE__BODY_SUBMIT:
    case WEFT__ENVELOPE__BODY_CANCEL:
    case WEFT__ENVELOPE__BODY_SIGNAL:
    case WEFT__ENVELOPE__BODY_RETRY:
    case WEFT__ENVELOPE__BODY_UPLOAD:
    case WEFT__ENVELOPE__BODY_SCHEDULE:
    case WEFT__ENVELOPE__BODY_DOWNLOAD:
        *what = "the client role";
        return ROLE_CLIENT;
    case WEFT__ENVELOPE__BODY_QUERY:
        if (env->query->kind == WEFT__QUERY_KIND__QUERY_SHUTDOWN) {
            *what = "the admin role";
            return ROLE_ADMIN;
        }
        if ((env->query->kind == WEFT__QUERY_KIND__QUERY_STATUS && !env->query->run_id) ||
            env->query->kind == WEFT__QUERY_KIND__QUERY_METRICS ||
            env->query->kind == WEFT__QUERY_KIND__QUERY_WORKERS) {
            *what = "the client or gateway role"; /* the scheduler's own status */
            return ROLE_CLIENT | ROLE_GATEWAY;
        }
        *what = "the client role";
        return ROLE_CLIENT;
    case WEFT__ENVELOPE__BODY_KEYS:
        *what = "the admin role";
        return ROLE_ADMIN;
    case WEFT__ENVELOPE__BODY_PROJECT:
        if (env->project->op == WEFT__PROJECT_OP__PROJECT_LIST) {
            *what = "the client role";
            return ROLE_CLIENT;
        }
        *what = "the admin role";
        return ROLE_ADMIN;
    default:
        return 0;
    }
}

static int is_worker_body(int body)
{
    return body == WEFT__ENVELOPE__BODY_REGISTER || body == WEFT__ENVELOPE__BODY_HEARTBEAT ||
           body == WEFT__ENVELOPE__BODY_RESULT || body == WEFT__ENVELOPE__BODY_LOG_CHUNK ||
           body == WEFT__ENVELOPE__BODY_BLOB_FETCH || body == WEFT__ENVELOPE__BODY_BLOB_PUSH ||
           body == WEFT__ENVELOPE__BODY_BATCH;
}

/* Tells a worker connection it is refused (it exits with the reason). kind: OUT_CONTROL
 * goes out even if the turn cannot commit, OUT_WORKER only with it. */
static void refuse_worker(sched *s, const zmq_msg_t *id, const char *why, int kind)
{
    Weft__Refused rf = WEFT__REFUSED__INIT;
    rf.reason = (char *)why;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_REFUSED;
    env.refused = &rf;
    size_t len;
    uint8_t *data = wire_pack(&env, &len);
    sched_queue_packed(s, id, data, len, kind, NULL);
}

void sched_deny(sched *s, const zmq_msg_t *id, const char *who, const Weft__Envelope *env,
                const char *why, int tell)
{
    log_warn("refused %s from %s: %s", body_name((int)env->body_case), who, why);
    if (is_worker_body((int)env->body_case)) {
        /* A worker is told (and exits) when its registration is refused or its key was
         * revoked; its other refused heartbeats and results are dropped. */
        if (tell || env->body_case == WEFT__ENVELOPE__BODY_REGISTER)
            refuse_worker(s, id, why, OUT_CONTROL);
        return;
    }
    char *msg = xasprintf("refused: %s", why);
    sched_reply(s, id, WEFT_EDENIED, msg, NULL, 0);
    free(msg);
}

/* A gateway's request made for the holder of a bearer token: *peer becomes the token's
 * principal. 0 (refused and answered) when the sender may not relay tokens or the token is
 * unknown or revoked. */
static int act_for_token(sched *s, const zmq_msg_t *id, const Weft__Envelope *env,
                         auth_peer *peer)
{
    char who[200], tid[AUTH_TOKEN_ID_LEN + 1];
    const char *why = NULL;
    snprintf(who, sizeof who, "'%s'", peer->name);
    if (!(peer->roles & ROLE_GATEWAY))
        why = "only a gateway relays requests made with a token";
    else if (is_worker_body((int)env->body_case))
        why = "a token does not act as a worker";
    else {
        auth_token_id(env->token, tid);
        if (auth_identify(s->auth, tid[0] ? tid : "token:", peer, &why) == 0)
            return 1;
    }
    sched_deny(s, id, who, env, why, 0);
    return 0;
}

int sched_authorize(sched *s, const zmq_msg_t *id, const char *user_id,
                    const Weft__Envelope *env, auth_peer *peer)
{
    const char *why = NULL, *what;
    char who[200];
    if (auth_identify(s->auth, user_id, peer, &why) < 0) {
        snprintf(who, sizeof who, "%s", user_id ? user_id : "an unauthenticated peer");
        sched_deny(s, id, who, env, why, 1);
        return 0;
    }
    if (env->token && *env->token && !act_for_token(s, id, env, peer))
        return 0;
    int need = role_needed(env, &what);
    if (need && !(peer->roles & need)) {
        char buf[160];
        snprintf(buf, sizeof buf, "'%s' does not hold %s", peer->name, what);
        snprintf(who, sizeof who, "'%s'", peer->name);
        sched_deny(s, id, who, env, buf, 0);
        return 0;
    }
    return 1;
}

/* ---- key management ---- */

/* After keys were revoked: every worker talking with one of them is lost now (its attempts
 * go to other workers) and told to stop. */
static void drop_revoked_workers(sched *s)
{
    size_t pos = 0;
    const char *name;
    void *v;
    char **gone = NULL;
    size_t ngone = 0, cap = 0;
    while (strmap_next(s->wconns, &pos, &name, &v)) {
        wconn *c = v;
        auth_peer p;
        const char *why;
        if (auth_identify(s->auth, c->user, &p, &why) == 0)
            continue;
        xgrow(&gone, &cap, ngone + 1, sizeof *gone);
        gone[ngone++] = xstrdup(name);
    }
    for (size_t i = 0; i < ngone; i++) {
        wconn *c = sched_worker_conn(s, gone[i]);
        zmq_msg_t id;
        zmq_msg_init_data(&id, c->rid, c->ridlen, NULL, NULL);
        listener *cur = s->cur;
        s->cur = c->via;
        /* Not tied to the worker's name: it is lost below, and the message still goes. */
        refuse_worker(s, &id, "this worker's key was revoked", OUT_WORKER);
        s->cur = cur;
        zmq_msg_close(&id);
        log_warn("worker '%s': its key was revoked; its attempts are lost", gone[i]);
        if (core_worker_known(s->core, gone[i])) {
            core_event ev = {.kind = EV_WORKER_LOST, .now_us = clock_wall_us(), .worker = gone[i]};
            sched_step(s, &ev);
        }
        free(gone[i]);
    }
    free(gone);
}

static void keys_add(sched *s, const zmq_msg_t *id, const Weft__KeysRequest *rq)
{
    char buf[200];
    json_t *projects = json_array();
    for (size_t i = 0; i < rq->n_projects && i < 256; i++)
        json_array_append_new(projects, json_string(rq->projects[i]));
    const char *why = !keys_valid(rq->public_key)
                          ? "the public key must be 40 Z85 characters (see weft keys gen)"
                      : rq->n_projects > 256 ? "a key may name at most 256 projects"
                          : auth_check_add(s->auth, rq->public_key, rq->name, rq->role,
                                           projects, buf, sizeof buf);
    if (!why && rq->n_projects && auth_role_parse(rq->role) != ROLE_CLIENT)
        why = "only a client key takes projects (workers serve, and admins use, every one)";
    if (!why && !rq->n_projects && auth_role_parse(rq->role) == ROLE_CLIENT)
        json_array_append_new(projects, json_string(CATALOG_DEFAULT_PROJECT));
    char *text = json_dumps(projects, JSON_COMPACT);
    catalog_key k = {.public_key = rq->public_key, .name = rq->name, .role = rq->role,
                     .projects = text};
    int rc = why ? WEFT_EINVAL : catalog_add_key(s->cat, &k, clock_wall_us());
    if (rc < 0) {
        sched_reply(s, id, rc, why ? why : "cannot store the key", NULL, 0);
        free(text);
        json_decref(projects);
        return;
    }
    auth_add(s->auth, rq->public_key, rq->name, rq->role, projects);
    log_info("key %s added for '%s' (%s, projects %s)", rq->public_key, rq->name, rq->role,
             text);
    json_t *j = json_pack("{s:s, s:s, s:s, s:o}", "name", rq->name, "role", rq->role,
                          "public_key", rq->public_key, "projects", projects);
    free(text);
    sched_reply_json(s, id, j, NULL);
}

static void keys_revoke(sched *s, const zmq_msg_t *id, const Weft__KeysRequest *rq)
{
    const char *target = rq->public_key[0] ? rq->public_key : rq->name;
    int n = auth_revoke(s->auth, target);
    if (n == 0) {
        char *msg = xasprintf("no unrevoked key of or named '%.128s'", target);
        sched_reply(s, id, WEFT_ENOTFOUND, msg, NULL, 0);
        free(msg);
        return;
    }
    if (catalog_revoke_keys(s->cat, target, clock_wall_us()) < 0) {
        sched_reply(s, id, WEFT_EDB, "cannot revoke the key", NULL, 0);
        return;
    }
    log_info("revoked %d key(s) of '%s'", n, target);
    drop_revoked_workers(s);
    sched_reply_json(s, id, json_pack("{s:s, s:i}", "revoked", target, "keys", n), NULL);
}

/* A bearer token for the principal rq->name: its role and projects are the principal's
 * (an existing one) or rq's (a new one, made by this token). Only the token's hash is
 * kept; the token is in the answer, once. */
static void keys_token(sched *s, const zmq_msg_t *id, const Weft__KeysRequest *rq)
{
    char buf[200], token[AUTH_TOKEN_LEN + 1], tid[AUTH_TOKEN_ID_LEN + 1];
    int roles = 0;
    const json_t *held = NULL;
    int exists = auth_principal(s->auth, rq->name, &roles, &held);
    const char *role = exists ? auth_role_name(roles) : rq->role;
    const char *why = NULL;
    if (exists && rq->role[0] && auth_role_parse(rq->role) != roles)
        why = "the principal holds another role (a token acts with the principal's role)";
    else if (exists && rq->n_projects)
        why = "the principal's projects are its keys' (give --project only for a new name)";
    else if (!exists && !rq->role[0])
        why = "no principal of this name: give its role (--role client or admin)";
    else if (role && (auth_role_parse(role) & (ROLE_WORKER | ROLE_GATEWAY)))
        why = "a token acts for a client or an admin, not a worker or a gateway";
    json_t *projects = json_array();
    for (size_t i = 0; i < rq->n_projects && i < 256; i++)
        json_array_append_new(projects, json_string(rq->projects[i]));
    if (exists)
        json_array_extend(projects, (json_t *)held);
    else if (!json_array_size(projects) && auth_role_parse(role) == ROLE_CLIENT)
        json_array_append_new(projects, json_string(CATALOG_DEFAULT_PROJECT));
    auth_token_new(token);
    auth_token_id(token, tid);
    if (!why)
        why = auth_check_add(s->auth, tid, rq->name, role, projects, buf, sizeof buf);
    char *text = json_dumps(projects, JSON_COMPACT);
    catalog_key k = {.public_key = tid, .name = rq->name, .role = role, .projects = text};
    int rc = why ? WEFT_EINVAL : catalog_add_key(s->cat, &k, clock_wall_us());
    free(text);
    if (rc < 0) {
        sched_reply(s, id, rc, why ? why : "cannot store the token", NULL, 0);
        json_decref(projects);
        return;
    }
    auth_add(s->auth, tid, rq->name, role, projects);
    log_info("token %.22s... issued for '%s' (%s)", tid, rq->name, role);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o}", "name", rq->name, "role", role,
                          "token", token, "id", tid, "projects", projects);
    sodium_memzero(token, sizeof token);
    sched_reply_json(s, id, j, NULL);
}

void sched_on_keys(sched *s, const zmq_msg_t *id, const Weft__KeysRequest *rq)
{
    weft_err err = {0};
    switch (rq->op) {
    case WEFT__KEYS_OP__KEYS_TOKEN:
        keys_token(s, id, rq);
        break;
    case WEFT__KEYS_OP__KEYS_ADD:
        keys_add(s, id, rq);
        break;
    case WEFT__KEYS_OP__KEYS_REVOKE:
        keys_revoke(s, id, rq);
        break;
    default:
        sched_reply_json(s, id, catalog_list_keys(s->cat, &err), &err);
    }
}

int sched_auth_reload(sched *s)
{
    weft_err err = {0};
    json_t *rows = catalog_list_keys(s->cat, &err);
    auth_destroy(&s->auth);
    s->auth = auth_new();
    if (!rows) {
        /* What the list holds is unknown: no key is admitted until a reload succeeds (the
         * probe's recovery reloads). Local peers are still admitted. */
        log_error("cannot reload the keys, refusing every key until it can: %s", err.msg);
        return WEFT_EDB;
    }
    auth_load(s->auth, rows);
    json_decref(rows);
    return 0;
}
