/* curluv: libcurl's multi socket interface on libuv. See curluv.h. */
#include "common/curluv.h"

#include <stdlib.h>

#include "common/xmem.h"

typedef struct xfer {
    CURL *easy;
    curluv_done done;
    void *ud;
    struct xfer *next, *prev;
} xfer;

struct curluv {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    xfer *xfers;   /* under way */
    size_t n;
};

typedef struct watch {
    uv_poll_t poll;
    curl_socket_t fd;
    curluv *m;
} watch;

static void unlink_xfer(curluv *m, xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        m->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    m->n--;
}

/* Hands every finished transfer to its callback. */
static void reap(curluv *m)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode rc = msg->data.result;
        xfer *x = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(m->multi, easy);
        unlink_xfer(m, x);
        x->done(x->ud, easy, rc);
        free(x);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    watch *w = p->data;
    curluv *m = w->m;
    int flags = status < 0 ? CURL_CSELECT_ERR : 0, running;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(m->multi, w->fd, flags, &running);
    reap(m);
}

static void free_watch(uv_handle_t *h)
{
    free(h->data);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    curluv *m = userp;
    watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            uv_poll_stop(&w->poll);
            uv_close((uv_handle_t *)&w->poll, free_watch);
            curl_multi_assign(m->multi, fd, NULL);
        }
        return 0;
    }
    if (!w) {
        w = xcalloc(1, sizeof *w);
        w->fd = fd;
        w->m = m;
        w->poll.data = w;
        if (uv_poll_init_socket(m->loop, &w->poll, fd) < 0) {
            free(w);
            return -1;
        }
        curl_multi_assign(m->multi, fd, w);
    }
    int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    uv_poll_start(&w->poll, events, on_poll);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    curluv *m = t->data;
    int running;
    curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    reap(m);
}

static int on_timer(CURLM *multi, long ms, void *userp)
{
    (void)multi;
    curluv *m = userp;
    if (ms < 0)
        uv_timer_stop(&m->timer);
    else
        uv_timer_start(&m->timer, on_timeout, (uint64_t)ms, 0);
    return 0;
}

curluv *curluv_new(uv_loop_t *loop)
{
    curluv *m = xcalloc(1, sizeof *m);
    m->loop = loop;
    m->multi = curl_multi_init();
    if (!m->multi) {
        free(m);
        return NULL;
    }
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
    return m;
}

int curluv_add(curluv *m, CURL *easy, curluv_done done, void *ud)
{
    xfer *x = xcalloc(1, sizeof *x);
    *x = (xfer){.easy = easy, .done = done, .ud = ud, .next = m->xfers};
    curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(m->multi, easy) != CURLM_OK) {
        free(x);
        return -1;
    }
    if (m->xfers)
        m->xfers->prev = x;
    m->xfers = x;
    m->n++;
    return 0;
}

size_t curluv_running(const curluv *m)
{
    return m ? m->n : 0;
}

static void free_curluv(uv_handle_t *h)
{
    free(h->data);
}

void curluv_destroy(curluv **mp)
{
    if (!mp || !*mp)
        return;
    curluv *m = *mp;
    while (m->xfers) {
        xfer *x = m->xfers;
        curl_multi_remove_handle(m->multi, x->easy);
        unlink_xfer(m, x);
        x->done(x->ud, x->easy, CURLE_ABORTED_BY_CALLBACK);
        free(x);
    }
    curl_multi_cleanup(m->multi);
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, free_curluv);
    *mp = NULL;
}
