/* sched_conn: the scheduler's listeners (CURVE TCP, local ipc), their monitors, and which
 * connection each registered worker talks on. See sched_int.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>
#include <zmq.h>

#include "common/log.h"
#include "common/wire.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

#define ZAP_DOMAIN "weft"
/* Messages queued per connection: a client that does not read loses its replies past this
 * many, a worker's wait in the backlog; a peer that sends faster than the scheduler reads
 * is slowed down (TCP backpressure), not buffered without end. */
#define SCHED_SNDHWM 8
#define SCHED_RCVHWM 1000
/* Messages handled per listener before the ZAP handler and the other listener get a turn. */
#define LISTEN_BATCH 4

enum { LISTEN_TCP, LISTEN_LOCAL };

static void on_monitor(void *arg, zmq_msg_t *frames, size_t n)
{
    listener *l = arg;
    const char *why = n == 2 ? keys_handshake_why(zmq_msg_data(&frames[0]),
                                                  zmq_msg_size(&frames[0]), 1)
                             : NULL;
    if (!why)
        return;
    (void)l;
    log_warn("refused a connection on %.*s: %s", (int)zmq_msg_size(&frames[1]),
             (const char *)zmq_msg_data(&frames[1]), why);
}

static int watch_handshakes(sched *s, listener *l, weft_err *err)
{
    char *ep = xasprintf("inproc://weft-monitor-%d", l->index);
    l->monitor = zsock_monitor(l->z, s->zctx, ep, KEYS_HANDSHAKE_EVENTS, on_monitor, l);
    free(ep);
    return l->monitor ? 0 : err_set(err, WEFT_EIO, "cannot watch the socket's handshakes");
}

/* Makes listener i's socket with the options every listener has. */
static int open_socket(sched *s, int i, int curve, int ipv6, weft_err *err)
{
    listener *l = &s->listeners[i];
    l->s = s;
    l->index = i;
    l->z = zsock_new(&s->loop, s->zctx, ZMQ_ROUTER, sched_on_message, l);
    if (!l->z)
        return err_set(err, WEFT_EIO, "cannot create the scheduler socket");
    zsock_set_batch(l->z, LISTEN_BATCH);
    void *z = zsock_handle(l->z);
    int one = 1, sndhwm = SCHED_SNDHWM, rcvhwm = SCHED_RCVHWM;
    int64_t maxsize = WIRE_MAX;
    zmq_setsockopt(z, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(z, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(z, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    zmq_setsockopt(z, ZMQ_MAXMSGSIZE, &maxsize, sizeof maxsize);
    if (ipv6)
        zmq_setsockopt(z, ZMQ_IPV6, &one, sizeof one);
    /* Every connection goes through our ZAP handler (a NULL-mechanism one only when the
     * socket has a domain). */
    zmq_setsockopt(z, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN));
    /* The ZAP handler tells the listeners apart by this (ZAP's identity frame). */
    const char *zap_id = i == LISTEN_TCP ? "tcp" : "local";
    zmq_setsockopt(z, ZMQ_ROUTING_ID, zap_id, strlen(zap_id));
    if (curve) {
        zmq_setsockopt(z, ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(z, ZMQ_CURVE_SECRETKEY, s->key.sec, KEY_Z85_LEN);
    }
    return watch_handshakes(s, l, err);
}

/* An ipc:// socket file may be used by its owner only. */
static void restrict_ipc(const char *endpoint)
{
    if (chmod(endpoint + 6, 0600) < 0)
        log_warn("cannot make %s private: %s", endpoint + 6, strerror(errno));
}

int sched_listen(sched *s, const sched_config *cfg, weft_err *err)
{
    int want[SCHED_LISTENERS] = {0}, ipv6 = 0;
    for (size_t i = 0; i < cfg->nlisten; i++) {
        int tcp = strncmp(cfg->listen[i], "tcp://", 6) == 0;
        if (!tcp && strncmp(cfg->listen[i], "ipc://", 6) != 0)
            return err_set(err, WEFT_EINVAL, "%s: the scheduler listens on tcp:// and ipc:// "
                           "endpoints only", cfg->listen[i]);
        if (tcp && cfg->insecure && !keys_is_loopback(cfg->listen[i]))
            return err_set(err, WEFT_EINVAL,
                           "%s: --insecure allows plain TCP on loopback addresses only",
                           cfg->listen[i]);
        want[tcp ? LISTEN_TCP : LISTEN_LOCAL] = 1;
        ipv6 |= tcp && strchr(cfg->listen[i], '[') != NULL;
    }
    for (int i = 0; i < SCHED_LISTENERS; i++)
        if (want[i] && open_socket(s, i, i == LISTEN_TCP && !cfg->insecure, ipv6, err) < 0)
            return WEFT_EIO;
    for (size_t i = 0; i < cfg->nlisten; i++) {
        int tcp = strncmp(cfg->listen[i], "tcp://", 6) == 0;
        listener *l = &s->listeners[tcp ? LISTEN_TCP : LISTEN_LOCAL];
        if (zmq_bind(zsock_handle(l->z), cfg->listen[i]) < 0)
            return err_set(err, WEFT_EIO, "cannot listen on %s: %s", cfg->listen[i],
                           zmq_strerror(errno));
        if (!tcp)
            restrict_ipc(cfg->listen[i]);
        log_info("listening on %s%s", cfg->listen[i],
                 !tcp ? " (local peers of uid of this scheduler)"
                 : cfg->insecure ? " (plain TCP: --insecure)" : " (CURVE)");
    }
    for (int i = 0; i < SCHED_LISTENERS; i++)
        if (s->listeners[i].z && zsock_start(s->listeners[i].z) < 0)
            return err_set(err, WEFT_EIO, "cannot watch the socket");
    return 0;
}

void sched_listeners_close(sched *s)
{
    for (int i = 0; i < SCHED_LISTENERS; i++) {
        listener *l = &s->listeners[i];
        zsock_monitor_close(l->z, l->monitor);
        zsock_close(l->z);
        l->monitor = l->z = NULL;
    }
}

size_t sched_drain(sched *s)
{
    /* New connections first: the ZAP handler answers them between batches of messages, so
     * a flood on one connection never keeps another from being admitted. */
    size_t got = zsock_drain(s->zap);
    for (int i = 0; i < SCHED_LISTENERS; i++)
        if (s->listeners[i].z) {
            got += zsock_drain(s->listeners[i].z);
            zsock_drain(s->listeners[i].monitor);
        }
    return got;
}

/* ---- workers' connections ---- */

/* Why a registration's resources or labels are not well formed, or NULL. */
static const char *placement_bounds(const Weft__Register *r, char *buf, size_t n)
{
    for (size_t i = 0; i < r->n_capacity; i++)
        if (!res_name_ok(r->capacity[i]->name)) {
            snprintf(buf, n, "resource name '%.64s' is not lowercase [a-z0-9_.-]",
                     r->capacity[i]->name);
            return buf;
        }
    for (size_t i = 0; i < r->n_labels; i++)
        if (strlen(r->labels[i]) >= RES_LABEL_MAX || res_label_ok(r->labels[i]) < 0) {
            snprintf(buf, n, "label '%.128s' is not KEY=VALUE", r->labels[i]);
            return buf;
        }
    return NULL;
}

const char *sched_registration_bounds(const Weft__Register *r, size_t ntypes, char *buf,
                                      size_t n)
{
    size_t len = strlen(r->name), ok = strspn(r->name, "abcdefghijklmnopqrstuvwxyz"
                                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    if (len == 0 || len > WIRE_NAME_MAX || ok != len)
        snprintf(buf, n, "worker name must be 1 to %d characters of [A-Za-z0-9._-]",
                 WIRE_NAME_MAX);
    else if (r->slots < 1 || r->slots > WIRE_SLOTS_MAX)
        snprintf(buf, n, "slots %u outside 1..%d", r->slots, WIRE_SLOTS_MAX);
    else if (r->heartbeat_ms &&
             (r->heartbeat_ms < WIRE_HEARTBEAT_MIN_MS || r->heartbeat_ms > WIRE_HEARTBEAT_MAX_MS))
        snprintf(buf, n, "heartbeat interval %u ms outside %d..%d ms", r->heartbeat_ms,
                 WIRE_HEARTBEAT_MIN_MS, WIRE_HEARTBEAT_MAX_MS);
    else if (r->prefetch > WIRE_PREFETCH_MAX)
        snprintf(buf, n, "prefetch %u above %d", r->prefetch, WIRE_PREFETCH_MAX);
    else if (ntypes > WIRE_TYPES_MAX)
        snprintf(buf, n, "%zu task types; at most %d", ntypes, WIRE_TYPES_MAX);
    else if (r->n_running > (size_t)r->slots + r->prefetch)
        snprintf(buf, n, "reports %zu attempts held on %u slots and %u queued", r->n_running,
                 r->slots, r->prefetch);
    else if (r->n_finished > 2 * (size_t)(WIRE_SLOTS_MAX + WIRE_PREFETCH_MAX))
        snprintf(buf, n, "reports %zu finished attempts; at most %d", r->n_finished,
                 2 * (WIRE_SLOTS_MAX + WIRE_PREFETCH_MAX));
    else if (r->n_capacity > RES_MAX || r->n_labels > RES_LABELS_MAX)
        snprintf(buf, n, "offers %zu resources and %zu labels; at most %d and %d",
                 r->n_capacity, r->n_labels, RES_MAX, RES_LABELS_MAX);
    else
        return placement_bounds(r, buf, n);
    return buf;
}


/* The key of a connection in wnames: its listener's index, then its routing id, in hex. */
static char *conn_key(const listener *via, const uint8_t *rid, size_t len)
{
    char *k = xmalloc(2 * len + 2);
    k[0] = (char)('0' + via->index);
    sodium_bin2hex(k + 1, 2 * len + 1, rid, len);
    return k;
}

void sched_unbind_worker(sched *s, const char *worker)
{
    wconn *c = strmap_del(s->wconns, worker);
    if (!c)
        return;
    char *k = conn_key(c->via, c->rid, c->ridlen);
    free(strmap_del(s->wnames, k));
    free(k);
    free(c->rid);
    free(c->user);
    free(c);
}

void sched_bind_worker(sched *s, const char *worker, const zmq_msg_t *id, const char *user)
{
    sched_unbind_worker(s, worker);
    /* The connection may have carried another worker name before: it is this one now. */
    const char *before = sched_worker_of(s, id, user);
    if (before) {
        char *old = xstrdup(before);
        sched_unbind_worker(s, old);
        free(old);
    }
    wconn *c = xcalloc(1, sizeof *c);
    c->via = s->cur;
    c->ridlen = zmq_msg_size((zmq_msg_t *)id);
    c->rid = xmalloc(c->ridlen);
    memcpy(c->rid, zmq_msg_data((zmq_msg_t *)id), c->ridlen);
    c->user = xstrdup(user ? user : "");
    strmap_put(s->wconns, worker, c);
    char *k = conn_key(c->via, c->rid, c->ridlen);
    strmap_put(s->wnames, k, xstrdup(worker));
    free(k);
}

const char *sched_worker_of(sched *s, const zmq_msg_t *id, const char *user)
{
    char *k = conn_key(s->cur, zmq_msg_data((zmq_msg_t *)id), zmq_msg_size((zmq_msg_t *)id));
    const char *w = strmap_get(s->wnames, k);
    free(k);
    /* A peer can choose its routing id: the connection is the worker's only if it was
     * admitted with the same identity as the one the worker registered from. */
    wconn *c = w ? strmap_get(s->wconns, w) : NULL;
    return c && !strcmp(c->user, user ? user : "") ? w : NULL;
}

wconn *sched_worker_conn(sched *s, const char *worker)
{
    return strmap_get(s->wconns, worker);
}

void sched_conns_free(sched *s)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (s->wconns && strmap_next(s->wconns, &pos, &k, &v)) {
        wconn *c = v;
        free(c->rid);
        free(c->user);
        free(c);
    }
    strmap_destroy(&s->wconns);
    strmap_destroy_free(&s->wnames);
}
