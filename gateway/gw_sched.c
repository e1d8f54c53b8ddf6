/* gw_sched: the gateway's connections to the scheduler, a small pool shared by the request
 * threads (a ZeroMQ socket is used by one thread at a time). Every request carries the
 * caller's token: the scheduler authorizes it as the token's principal. */
#include <stdio.h>
#include <string.h>

#include "catalog/upload.h"
#include "common/log.h"
#include "common/xmem.h"
#include "gateway/gw.h"

int gw_sched_open(gw *g, char **why)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->freed, NULL);
    g->nconns = g->cfg.sched_conns;
    client_config cc = {.endpoint = g->scheduler, .timeout_ms = g->cfg.timeout_ms,
                        .key_file = g->cfg.key_file, .server_key = g->cfg.server_key,
                        .insecure = g->cfg.insecure};
    for (unsigned i = 0; i < g->nconns; i++) {
        weft_err err = {0};
        if (client_open(&cc, &g->conns[i], &err) < 0) {
            *why = xasprintf("%s: %s", g->scheduler, err.msg);
            g->nconns = i;
            return -1;
        }
    }
    return 0;
}

void gw_sched_close(gw *g)
{
    for (unsigned i = 0; i < g->nconns; i++)
        client_close(&g->conns[i]);
    pthread_cond_destroy(&g->freed);
    pthread_mutex_destroy(&g->lock);
}

static unsigned take(gw *g)
{
    pthread_mutex_lock(&g->lock);
    for (;;) {
        for (unsigned i = 0; i < g->nconns; i++) {
            if (!g->busy[i]) {
                g->busy[i] = 1;
                pthread_mutex_unlock(&g->lock);
                return i;
            }
        }
        pthread_cond_wait(&g->freed, &g->lock);
    }
}

static void give_back(gw *g, unsigned i)
{
    pthread_mutex_lock(&g->lock);
    g->busy[i] = 0;
    pthread_cond_signal(&g->freed);
    pthread_mutex_unlock(&g->lock);
}

/* Whether env carries an idempotency key (then it is sent again on a lost answer). */
static int retriable(const Weft__Envelope *env)
{
    switch (env->body_case) {
    case WEFT__ENVELOPE__BODY_SUBMIT:
        return *env->submit->idempotency_key != '\0';
    case WEFT__ENVELOPE__BODY_RETRY:
        return *env->retry->idempotency_key != '\0';
    case WEFT__ENVELOPE__BODY_CANCEL:
        return *env->cancel->idempotency_key != '\0';
    case WEFT__ENVELOPE__BODY_SIGNAL:
        return *env->signal->idempotency_key != '\0';
    default:
        return 0;
    }
}

static int uploads(const Weft__Envelope *env)
{
    return env->body_case == WEFT__ENVELOPE__BODY_SUBMIT ||
           env->body_case == WEFT__ENVELOPE__BODY_RETRY;
}

json_t *gw_sched_call(gw_req *r, Weft__Envelope *env, const char *about,
                      uint64_t *run_id)
{
    gw *g = r->g;
    env->token = r->token;
    unsigned i = take(g);
    Weft__Envelope *reply = NULL;
    weft_err err = {0};
    /* A submit or retry may name files: only those its caller sent are uploaded. */
    int rc = uploads(env) ? upload_call(g->conns[i], env, r->updir ? r->updir : "", &reply,
                                        &err)
             : retriable(env) ? client_call_retry(g->conns[i], env, &reply, &err)
                              : client_call(g->conns[i], env, &reply, &err);
    give_back(g, i);
    env->token = (char *)"";
    if (rc < 0) {
        /* A refused handshake is the gateway's problem, not the caller's. */
        gw_weft_error_at(r, err.code == WEFT_EDENIED ? WEFT_EUNREACH : err.code, err.msg,
                         about);
        return NULL;
    }
    const Weft__Reply *rp = reply->reply;
    json_t *j = NULL;
    if (rp->code) {
        gw_weft_error_at(r, rp->code, rp->error, about);
    } else {
        j = *rp->json ? json_loads(rp->json, JSON_DECODE_ANY, NULL) : json_object();
        if (!j)
            gw_error(r, 502, "bad_gateway", NULL, "the scheduler's answer is not JSON");
        if (run_id)
            *run_id = rp->run_id;
    }
    weft__envelope__free_unpacked(reply, NULL);
    return j;
}

json_t *gw_sched_ask(gw *g, Weft__Envelope *env, const char *token)
{
    env->token = (char *)token;
    unsigned i = take(g);
    Weft__Envelope *reply = NULL;
    weft_err err = {0};
    int rc = client_call(g->conns[i], env, &reply, &err);
    give_back(g, i);
    env->token = (char *)"";
    json_t *j = rc == 0 && !reply->reply->code ? json_loads(reply->reply->json, 0, NULL)
                                               : NULL;
    if (reply)
        weft__envelope__free_unpacked(reply, NULL);
    return j;
}

int gw_sched_ready(gw *g, char *why, size_t n)
{
    unsigned i = take(g);
    Weft__QueryRequest q = WEFT__QUERY_REQUEST__INIT;
    q.kind = WEFT__QUERY_KIND__QUERY_STATUS;
    weft_err err = {0};
    json_t *j = client_query(g->conns[i], &q, &err);
    give_back(g, i);
    if (!j)
        snprintf(why, n, "the scheduler: %s", err.msg);
    json_decref(j);
    return j != NULL;
}
