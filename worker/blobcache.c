/* blobcache: a worker's local blob cache. See blobcache.h.
 *
 * Recency is a counter bumped on every use (the order of uses, not their times); eviction
 * scans the index for the least recently used blob nobody holds, which is cheap next to
 * the transfer that makes room. */
#include "worker/blobcache.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strmap.h"
#include "common/u64map.h"
#include "common/xmem.h"

typedef struct centry {
    uint64_t size;
    uint64_t used; /* the use counter when it was last used */
    int holds;     /* attempts holding it */
} centry;

/* The blobs one attempt holds. */
typedef struct holding {
    char **hex;
    size_t n, cap;
} holding;

struct bcache {
    store *st;
    char *dir;
    uint64_t limit, bytes, clock;
    strmap *entries; /* hash -> centry */
    u64map *held;    /* attempt id -> holding */
};

typedef struct opening {
    bcache *c;
    weft_err *err;
} opening;

static int index_entry(void *ud, const store_entry *e)
{
    opening *o = ud;
    int kept;
    if (e->kind == STORE_BLOB) {
        centry *ce = xcalloc(1, sizeof *ce);
        ce->size = e->size;
        ce->used = (uint64_t)(e->mtime_us > 0 ? e->mtime_us : 0); /* oldest first */
        free(strmap_put(o->c->entries, e->name, ce));
        o->c->bytes += e->size;
    } else if (strncmp(e->name, "tmp/fetch-", 10) != 0) {
        o->c->st->ops->remove(o->c->st, e, &kept, o->err);
    }
    return 0;
}

int bcache_open(const char *dir, uint64_t limit, bcache **out, weft_err *err)
{
    bcache *c = xcalloc(1, sizeof *c);
    c->dir = xstrdup(dir);
    c->limit = limit;
    c->entries = strmap_new();
    c->held = u64map_new();
    opening o = {c, err};
    int rc = store_open(dir, &c->st, err);
    if (rc == 0)
        rc = c->st->ops->list(c->st, index_entry, &o, err);
    if (rc < 0) {
        bcache_close(&c);
        return rc;
    }
    /* Uses from now on count after every blob found (their mtimes order them). */
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next(c->entries, &pos, &k, &v))
        if (((centry *)v)->used > c->clock)
            c->clock = ((centry *)v)->used;
    log_info("blob cache %s: %zu blobs, %llu bytes (limit %llu)", dir,
             strmap_count(c->entries), (unsigned long long)c->bytes,
             (unsigned long long)limit);
    *out = c;
    return 0;
}

void bcache_close(bcache **cp)
{
    bcache *c = cp ? *cp : NULL;
    if (!c)
        return;
    strmap_destroy_free(&c->entries);
    uint64_t a;
    size_t pos = 0;
    void *v;
    while (u64map_next(c->held, &pos, &a, &v)) {
        holding *h = v;
        for (size_t i = 0; i < h->n; i++)
            free(h->hex[i]);
        free(h->hex);
        free(h);
    }
    u64map_destroy(&c->held);
    store_close(&c->st);
    free(c->dir);
    free(c);
    *cp = NULL;
}

store *bcache_store(bcache *c)
{
    return c->st;
}

const char *bcache_dir(const bcache *c)
{
    return c->dir;
}

int bcache_has(bcache *c, const char *hex)
{
    centry *e = strmap_get(c->entries, hex);
    if (e && !store_has(c->st, hex)) { /* removed behind our back */
        c->bytes -= e->size;
        free(strmap_del(c->entries, hex));
        e = NULL;
    }
    if (e)
        e->used = ++c->clock;
    return e != NULL;
}

void bcache_add(bcache *c, const char *hex, uint64_t size)
{
    centry *e = strmap_get(c->entries, hex);
    if (!e) {
        e = xcalloc(1, sizeof *e);
        strmap_put(c->entries, hex, e);
        e->size = size;
        c->bytes += size;
    }
    e->used = ++c->clock;
}

void bcache_hold(bcache *c, uint64_t attempt, const char *hex)
{
    centry *e = strmap_get(c->entries, hex);
    if (!e)
        return;
    holding *h = u64map_get(c->held, attempt);
    if (!h) {
        h = xcalloc(1, sizeof *h);
        u64map_put(c->held, attempt, h);
    }
    xgrow(&h->hex, &h->cap, h->n + 1, sizeof *h->hex);
    h->hex[h->n++] = xstrdup(hex);
    e->holds++;
}

void bcache_release(bcache *c, uint64_t attempt)
{
    holding *h = u64map_del(c->held, attempt);
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++) {
        centry *e = strmap_get(c->entries, h->hex[i]);
        if (e && e->holds > 0)
            e->holds--;
        free(h->hex[i]);
    }
    free(h->hex);
    free(h);
}

/* The least recently used blob nobody holds, or NULL. */
static const char *coldest(bcache *c)
{
    size_t pos = 0;
    const char *k, *best = NULL;
    void *v;
    uint64_t best_used = UINT64_MAX;
    while (strmap_next(c->entries, &pos, &k, &v)) {
        centry *e = v;
        if (!e->holds && e->used < best_used) {
            best_used = e->used;
            best = k;
        }
    }
    return best;
}

void bcache_trim(bcache *c, uint64_t need)
{
    const char *hex;
    while (c->bytes + need > c->limit && (hex = coldest(c))) {
        char *victim = xstrdup(hex);
        centry *e = strmap_del(c->entries, victim);
        store_entry se = {STORE_BLOB, victim, e->size, INT64_MAX};
        weft_err err = {0};
        int kept;
        if (c->st->ops->remove(c->st, &se, &kept, &err) < 0)
            log_warn("blob cache: %s", err.msg);
        else
            log_debug("blob cache: evicted %.16s... (%llu bytes)", victim,
                      (unsigned long long)e->size);
        c->bytes -= e->size;
        free(e);
        free(victim);
    }
}

uint64_t bcache_bytes(const bcache *c)
{
    return c->bytes;
}

size_t bcache_count(const bcache *c)
{
    return strmap_count(c->entries);
}
