/* zsock: a ZeroMQ socket driven by a libuv loop.
 *
 * The socket's ZMQ_FD is watched with a uv_poll_t. That fd is edge-triggered and signals
 * only that the socket should be read again, so zsock_drain receives until a receive finds
 * nothing, and must also run after every send (sending can consume the edge): callers drain
 * once more before the loop blocks (in a uv_prepare handle). Messages are delivered as the
 * frames of one multipart message. */
#ifndef WEFT_ZSOCK_H
#define WEFT_ZSOCK_H

#include <stddef.h>

#include <uv.h>
#include <zmq.h>

typedef struct zsock zsock;

/* One received multipart message: frames[0..nframes-1], each valid during the callback. */
typedef void (*zsock_recv_cb)(void *arg, zmq_msg_t *frames, size_t nframes);

/* Creates a socket of type (ZMQ_ROUTER, ZMQ_DEALER) in zctx, watched by loop. NULL on
 * failure (logged). */
zsock *zsock_new(uv_loop_t *loop, void *zctx, int type, zsock_recv_cb cb, void *arg);
/* The underlying ZeroMQ socket, for options, bind and connect. */
void *zsock_handle(zsock *s);
/* Starts watching the socket (after bind or connect). 0 or a negative uv error. */
int zsock_start(zsock *s);
/* Receives and delivers the messages waiting, at most the socket's
 * batch (see zsock_set_batch). Returns how many. A drain that found nothing is not repeated
 * (ZMQ_EVENTS is not read again) until the fd signals or the socket is used: a send, or
 * zsock_handle (whatever its caller does may consume the edge). */
size_t zsock_drain(zsock *s);
/* Delivers at most n messages per drain (0, the default: every one waiting), so that the
 * caller can serve its other sockets between batches; it must then drain again until a
 * drain returns 0 (as it does before its loop blocks). */
void zsock_set_batch(zsock *s, size_t n);
/* Sends a multipart message without blocking. Returns 0, or -errno (EAGAIN: the peer's
 * queue is full; EHOSTUNREACH: no such peer on a ROUTER_MANDATORY socket). */
int zsock_send(zsock *s, const void *const *frames, const size_t *lens, size_t nframes);
/* Watches target's events (ZMQ_EVENT_* bits) through a ZeroMQ socket monitor published at
 * endpoint (inproc://, unique in zctx): each event is delivered to cb as two frames (6
 * bytes of event and value, then the address). The monitor is drained like any zsock.
 * NULL on failure. */
zsock *zsock_monitor(zsock *target, void *zctx, const char *endpoint, int events,
                     zsock_recv_cb cb, void *arg);
/* Stops monitoring target and closes its monitor. Accepts NULLs. */
void zsock_monitor_close(zsock *target, zsock *monitor);
/* Stops watching and closes the socket (linger 0). The zsock is freed once libuv has
 * closed the poll handle. Accepts NULL. */
void zsock_close(zsock *s);

#endif
