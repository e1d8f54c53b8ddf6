/* zsock: ZeroMQ socket on a libuv loop. See zsock.h. */
#include "common/zsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmem.h"

#define MAX_FRAMES 8

struct zsock {
    uv_poll_t poll;
    uv_loop_t *loop;
    void *sock;
    zsock_recv_cb cb;
    void *arg;
    int started;
    size_t batch;
    /* Messages may be waiting: the fd signalled, or a call on the socket may have consumed
     * its edge. Cleared when a receive finds nothing; a drain then costs nothing. (A receive
     * that finds nothing, like a reading of ZMQ_EVENTS, is a poll(2) and a getpid(2) inside
     * libzmq; one that finds a message is neither.) */
    int maybe_ready;
};

/* The process id, from memory. libzmq asks for it on every signal between a socket and its
 * I/O thread (its check that it is not in a forked child), some 4 times a task and 14 times
 * a chain's link, and glibc makes each a system call (1.3 µs on a VM). This definition
 * takes the place of glibc's for every library of the process; a child of fork(2) reads
 * its own id again before anything else runs in it, and a call before this file's
 * constructor ran asks the kernel. Children made without fork's handlers (vfork,
 * posix_spawn) only exec. */
static pid_t pid_cached;

static void pid_reread(void)
{
    __atomic_store_n(&pid_cached, (pid_t)syscall(SYS_getpid), __ATOMIC_RELAXED);
}

__attribute__((constructor)) static void pid_init(void)
{
    pid_reread();
    pthread_atfork(NULL, NULL, pid_reread);
}

pid_t getpid(void)
{
    pid_t pid = __atomic_load_n(&pid_cached, __ATOMIC_RELAXED);
    return pid ? pid : (pid_t)syscall(SYS_getpid);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    zsock *s = h->data;
    s->maybe_ready = 1;
    zsock_drain(s);
}

zsock *zsock_new(uv_loop_t *loop, void *zctx, int type, zsock_recv_cb cb, void *arg)
{
    zsock *s = xcalloc(1, sizeof *s);
    s->sock = zmq_socket(zctx, type);
    if (!s->sock) {
        log_error("zmq_socket: %s", zmq_strerror(errno));
        free(s);
        return NULL;
    }
    int zero = 0;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    s->cb = cb;
    s->arg = arg;
    s->poll.data = s;
    s->loop = loop;
    return s;
}

void *zsock_handle(zsock *s)
{
    s->maybe_ready = 1; /* what the caller does with it may consume the edge */
    return s->sock;
}

int zsock_start(zsock *s)
{
    int fd;
    size_t fdlen = sizeof fd;
    if (zmq_getsockopt(s->sock, ZMQ_FD, &fd, &fdlen) < 0)
        return UV_EINVAL;
    int rc = uv_poll_init(s->loop, &s->poll, fd);
    if (rc < 0)
        return rc;
    s->started = 1;
    s->maybe_ready = 1;
    return uv_poll_start(&s->poll, UV_READABLE, on_poll);
}

void zsock_set_batch(zsock *s, size_t n)
{
    s->batch = n;
}

size_t zsock_drain(zsock *s)
{
    size_t delivered = 0;
    for (;;) {
        if ((s->batch && delivered == s->batch) || !s->maybe_ready)
            return delivered;
        zmq_msg_t frames[MAX_FRAMES];
        size_t n = 0;
        int more = 1, overflow = 0;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            if (n < MAX_FRAMES)
                frames[n++] = m;
            else {
                overflow = 1;
                zmq_msg_close(&m);
            }
        }
        if (!n) { /* EAGAIN: what the edge announced is all read */
            s->maybe_ready = 0;
            return delivered;
        }
        if (overflow)
            log_warn("dropped a message with more than %d frames", MAX_FRAMES);
        else if (n)
            s->cb(s->arg, frames, n);
        for (size_t i = 0; i < n; i++)
            zmq_msg_close(&frames[i]);
        delivered++;
    }
}

int zsock_send(zsock *s, const void *const *frames, const size_t *lens, size_t nframes)
{
    s->maybe_ready = 1;
    for (size_t i = 0; i < nframes; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < nframes ? ZMQ_SNDMORE : 0);
        if (zmq_send(s->sock, frames[i], lens[i], flags) < 0)
            return -errno;
    }
    return 0;
}

zsock *zsock_monitor(zsock *target, void *zctx, const char *endpoint, int events,
                     zsock_recv_cb cb, void *arg)
{
    zsock *m = zsock_new(target->loop, zctx, ZMQ_PAIR, cb, arg);
    if (m && zmq_socket_monitor(target->sock, endpoint, events) == 0 &&
        zmq_connect(m->sock, endpoint) == 0 && zsock_start(m) == 0)
        return m;
    zsock_close(m);
    return NULL;
}

void zsock_monitor_close(zsock *target, zsock *monitor)
{
    if (target && monitor)
        zmq_socket_monitor(target->sock, NULL, 0);
    zsock_close(monitor);
}

static void on_closed(uv_handle_t *h)
{
    zsock *s = h->data;
    zmq_close(s->sock);
    free(s);
}

void zsock_close(zsock *s)
{
    if (!s)
        return;
    if (s->started) {
        /* Stop watching the fd before ZeroMQ closes it. */
        uv_poll_stop(&s->poll);
        uv_close((uv_handle_t *)&s->poll, on_closed);
    } else {
        zmq_close(s->sock);
        free(s);
    }
}
