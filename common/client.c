/* client: CLI to scheduler requests. See client.h. */
#include "common/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "common/keys.h"
#include "common/wire.h"
#include "common/xmem.h"

struct client {
    void *ctx, *sock;
    void *monitor; /* the socket's refused handshakes */
    int timeout_ms;
    char *endpoint;
    keys_conn keys;
    int nsock;     /* sockets made, for the monitor's endpoint */
};

#define RETRY_FIRST_MS 3000
#define RETRY_MAX_MS 5000

/* A new DEALER socket connected to c's endpoint (replacing any old one: a late answer to
 * an earlier try then has nowhere to arrive). */
static int connect_socket(client *c, weft_err *err)
{
    if (c->monitor)
        zmq_close(c->monitor);
    if (c->sock)
        zmq_close(c->sock);
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    int zero = 0;
    int64_t maxsize = WIRE_MAX;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
    keys_conn_apply(&c->keys, c->sock);
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://weft-client-monitor-%d", c->nsock++);
    c->monitor = zmq_socket(c->ctx, ZMQ_PAIR);
    zmq_setsockopt(c->monitor, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_socket_monitor(c->sock, ep, KEYS_HANDSHAKE_EVENTS) < 0 ||
        zmq_connect(c->monitor, ep) < 0)
        return err_set(err, WEFT_EUNREACH, "cannot watch the connection to %s: %s",
                       c->endpoint, zmq_strerror(errno));
    if (zmq_connect(c->sock, c->endpoint) < 0)
        return err_set(err, WEFT_EUNREACH, "cannot connect to %s: %s", c->endpoint,
                       zmq_strerror(errno));
    return 0;
}

int client_open(const client_config *cfg, client **out, weft_err *err)
{
    client *c = xcalloc(1, sizeof *c);
    c->ctx = zmq_ctx_new();
    c->timeout_ms = cfg->timeout_ms;
    c->endpoint = xstrdup(cfg->endpoint);
    int rc = keys_conn_setup(&c->keys, cfg->endpoint, cfg->key_file, cfg->server_key,
                             cfg->insecure, err);
    if (rc < 0 || connect_socket(c, err) < 0) {
        client_close(&c);
        return rc < 0 ? rc : WEFT_EUNREACH;
    }
    *out = c;
    return 0;
}

void client_close(client **cp)
{
    if (!cp || !*cp)
        return;
    zmq_close((*cp)->monitor);
    zmq_close((*cp)->sock);
    zmq_ctx_term((*cp)->ctx);
    free((*cp)->endpoint);
    free(*cp);
    *cp = NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads one monitor event: why the handshake failed, or NULL for another event. */
static const char *handshake_refused(client *c)
{
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    zmq_msg_init(&addr);
    const char *why = NULL;
    if (zmq_msg_recv(&ev, c->monitor, ZMQ_DONTWAIT) >= 0 &&
        zmq_msg_recv(&addr, c->monitor, ZMQ_DONTWAIT) >= 0)
        why = keys_handshake_why(zmq_msg_data(&ev), zmq_msg_size(&ev), 0);
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
    return why;
}

/* One try: sends env and waits up to wait_ms for the reply. */
static int call_once(client *c, const Weft__Envelope *env, int wait_ms, Weft__Envelope **out,
                     weft_err *err)
{
    size_t len;
    uint8_t *data = wire_pack(env, &len);
    int rc = zmq_send(c->sock, data, len, 0);
    free(data);
    if (rc < 0)
        return err_set(err, WEFT_EUNREACH, "cannot send to %s: %s", c->endpoint,
                       zmq_strerror(errno));
    zmq_pollitem_t items[] = {{.socket = c->sock, .events = ZMQ_POLLIN},
                              {.socket = c->monitor, .events = ZMQ_POLLIN}};
    int64_t until = now_ms() + wait_ms;
    for (;;) {
        int64_t left = until - now_ms();
        rc = zmq_poll(items, 2, left > 0 ? (long)left : 0);
        if (rc <= 0)
            return err_set(err, WEFT_EUNREACH,
                           "no answer from the scheduler at %s within %d ms (is it running?)",
                           c->endpoint, c->timeout_ms);
        if (items[0].revents & ZMQ_POLLIN)
            break;
        const char *why = handshake_refused(c);
        if (why)
            return err_set(err, WEFT_EDENIED, "%s: %s", c->endpoint, why);
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, c->sock, 0) < 0) {
        zmq_msg_close(&m);
        return err_set(err, WEFT_EUNREACH, "receive from %s: %s", c->endpoint,
                       zmq_strerror(errno));
    }
    Weft__Envelope *reply = wire_unpack(zmq_msg_data(&m), zmq_msg_size(&m));
    zmq_msg_close(&m);
    if (!reply || reply->body_case != WEFT__ENVELOPE__BODY_REPLY) {
        if (reply)
            weft__envelope__free_unpacked(reply, NULL);
        return err_set(err, WEFT_EPROTO, "the scheduler at %s sent an unreadable reply",
                       c->endpoint);
    }
    *out = reply;
    return 0;
}

int client_call(client *c, const Weft__Envelope *env, Weft__Envelope **out, weft_err *err)
{
    return call_once(c, env, c->timeout_ms, out, err);
}

int client_call_retry(client *c, const Weft__Envelope *env, Weft__Envelope **out, weft_err *err)
{
    int64_t deadline = now_ms() + c->timeout_ms;
    int wait = RETRY_FIRST_MS;
    for (;;) {
        int64_t left = deadline - now_ms();
        int rc = call_once(c, env, left < wait ? (int)(left > 0 ? left : 1) : wait, out, err);
        if (rc == WEFT_EPROTO || rc == WEFT_EDENIED ||
            (rc == 0 && (*out)->reply->code != WEFT_EUNAVAIL))
            return rc;
        /* No answer, or "cannot write now": nothing was done. Ask again, unless the time is
         * up (then the last refusal, or unreachable, is the answer). */
        if (now_ms() + (rc == 0 ? wait : 0) >= deadline)
            return rc;
        if (rc == 0) {
            weft__envelope__free_unpacked(*out, NULL);
            *out = NULL;
            struct timespec ts = {wait / 1000, (long)(wait % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
        if (connect_socket(c, err) < 0)
            return WEFT_EUNREACH;
        wait = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
    }
}

void client_new_key(char key[33])
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            break;
    }
    for (size_t i = got; i < sizeof raw; i++) /* no entropy source: time and pid */
        raw[i] = (unsigned char)((uint64_t)now_ms() * 2654435761u >> (i % 8 * 8)) ^
                 (unsigned char)getpid();
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(key + 2 * i, 3, "%02x", raw[i]);
}

json_t *client_query(client *c, const Weft__QueryRequest *q, weft_err *err)
{
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_QUERY;
    env.query = (Weft__QueryRequest *)q;
    Weft__Envelope *reply = NULL;
    if (client_call(c, &env, &reply, err) < 0)
        return NULL;
    json_t *j = NULL;
    if (reply->reply->code != 0)
        err_set(err, reply->reply->code, "%s", reply->reply->error);
    else if (!(j = json_loads(reply->reply->json, JSON_DECODE_ANY, NULL)))
        err_set(err, WEFT_EPROTO, "the scheduler sent invalid JSON");
    weft__envelope__free_unpacked(reply, NULL);
    return j;
}
