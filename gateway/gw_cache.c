/* gw_cache: a run's answer (GET /api/v1/runs/{run}), made at most once per GW_CACHE_MS and
 * shared by every caller that may see the run. A run of ten thousand tasks is megabytes of
 * JSON and a fraction of a second to read and encode; fifty browsers watching it would
 * otherwise take both cores from the scheduler. One caller makes the answer while the
 * others wait for it (no stampede); the answer is at most GW_CACHE_MS old, which is what a
 * page polling every two seconds shows anyway. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/xmem.h"
#include "gateway/gw.h"

#define GW_CACHE_RUNS 16
#define GW_CACHE_MS 1000

typedef struct cached {
    int64_t run;
    char *text;         /* the answer, or NULL while it is being made */
    size_t len;
    int64_t made_us;
    int making;
} cached;

struct gw_cache {
    pthread_mutex_t lock;
    pthread_cond_t made;
    cached v[GW_CACHE_RUNS];
};

gw_cache *gw_cache_new(void)
{
    gw_cache *c = xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->made, NULL);
    return c;
}

void gw_cache_free(gw_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < GW_CACHE_RUNS; i++)
        free(c->v[i].text);
    pthread_cond_destroy(&c->made);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* run's place: its own, else the oldest one not being made (emptied). Under lock. */
static cached *place_of(gw_cache *c, int64_t run)
{
    cached *old = NULL;
    for (size_t i = 0; i < GW_CACHE_RUNS; i++) {
        if (c->v[i].run == run)
            return &c->v[i];
        if (!c->v[i].making && (!old || c->v[i].made_us < old->made_us))
            old = &c->v[i];
    }
    if (old) {
        free(old->text);
        *old = (cached){.run = run};
    }
    return old;
}

char *gw_cache_run(gw_cache *c, int64_t run, char *(*make)(void *ud, size_t *len), void *ud,
                   size_t *len)
{
    pthread_mutex_lock(&c->lock);
    cached *p = place_of(c, run);
    while (p && p->making && p->run == run)
        pthread_cond_wait(&c->made, &c->lock);
    if (p && p->run != run)
        p = place_of(c, run); /* taken over while waiting */
    int64_t now = clock_mono_us();
    if (p && p->text && now - p->made_us < GW_CACHE_MS * 1000) {
        char *copy = xmalloc(p->len + 1);
        memcpy(copy, p->text, p->len + 1);
        *len = p->len;
        pthread_mutex_unlock(&c->lock);
        return copy;
    }
    if (p)
        p->making = 1;
    pthread_mutex_unlock(&c->lock);
    char *text = make(ud, len); /* outside the lock: other runs are answered meanwhile */
    pthread_mutex_lock(&c->lock);
    if (p) {
        free(p->text);
        p->text = NULL;
        if (text) {
            p->text = xmalloc(*len + 1);
            memcpy(p->text, text, *len + 1);
            p->len = *len;
            p->made_us = clock_mono_us();
        }
        p->making = 0;
        pthread_cond_broadcast(&c->made);
    }
    pthread_mutex_unlock(&c->lock);
    return text;
}
