/* client: CLI to scheduler requests. See client.h. */
#include "cli/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "common/wire.h"
#include "common/xmem.h"

struct client {
    void *ctx, *sock;
    int timeout_ms;
    char *endpoint;
};

int client_open(const char *endpoint, int timeout_ms, client **out, weft_err *err)
{
    client *c = xcalloc(1, sizeof *c);
    c->ctx = zmq_ctx_new();
    c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
    c->timeout_ms = timeout_ms;
    c->endpoint = xstrdup(endpoint);
    int zero = 0;
    int64_t maxsize = WIRE_MAX;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
    if (zmq_connect(c->sock, endpoint) < 0) {
        err_set(err, WEFT_EUNREACH, "cannot connect to %s: %s", endpoint, zmq_strerror(errno));
        client_close(&c);
        return WEFT_EUNREACH;
    }
    *out = c;
    return 0;
}

void client_close(client **cp)
{
    if (!cp || !*cp)
        return;
    zmq_close((*cp)->sock);
    zmq_ctx_term((*cp)->ctx);
    free((*cp)->endpoint);
    free(*cp);
    *cp = NULL;
}

int client_call(client *c, const Weft__Envelope *env, Weft__Envelope **out, weft_err *err)
{
    size_t len;
    uint8_t *data = wire_pack(env, &len);
    int rc = zmq_send(c->sock, data, len, 0);
    free(data);
    if (rc < 0)
        return err_set(err, WEFT_EUNREACH, "cannot send to %s: %s", c->endpoint,
                       zmq_strerror(errno));
    zmq_pollitem_t item = {.socket = c->sock, .events = ZMQ_POLLIN};
    rc = zmq_poll(&item, 1, c->timeout_ms);
    if (rc <= 0)
        return err_set(err, WEFT_EUNREACH,
                       "no answer from the scheduler at %s within %d ms (is it running?)",
                       c->endpoint, c->timeout_ms);
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

json_t *client_query(client *c, Weft__QueryKind kind, uint64_t run_id, const char *task,
                     uint64_t after_seq, weft_err *err)
{
    Weft__QueryRequest q = WEFT__QUERY_REQUEST__INIT;
    q.kind = kind;
    q.run_id = run_id;
    q.task = (char *)(task ? task : "");
    q.after_seq = after_seq;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_QUERY;
    env.query = &q;
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
