/* strmap: string-keyed open-addressing hash map. See strmap.h. */
#include "common/strmap.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"

static char tombstone;

struct slot {
    char *key; /* NULL = empty, &tombstone = deleted */
    void *value;
};

struct strmap {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t count;
    size_t used; /* live + tombstones */
};

unsigned long long strmap_hash(const char *s)
{
    unsigned long long h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

strmap *strmap_new(void)
{
    strmap *m = xcalloc(1, sizeof *m);
    m->cap = 16;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
    return m;
}

void strmap_destroy(strmap **mp)
{
    if (!mp || !*mp)
        return;
    strmap *m = *mp;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != &tombstone)
            free(m->slots[i].key);
    free(m->slots);
    free(m);
    *mp = NULL;
}

void strmap_destroy_free(strmap **mp)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (mp && *mp && strmap_next(*mp, &pos, &k, &v))
        free(v);
    strmap_destroy(mp);
}

static struct slot *find(const strmap *m, const char *key)
{
    size_t mask = m->cap - 1;
    for (size_t i = strmap_hash(key) & mask;; i = (i + 1) & mask) {
        struct slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != &tombstone && strcmp(s->key, key) == 0)
            return s;
    }
}

static void rehash(strmap *m, size_t ncap)
{
    struct slot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = xcalloc(ncap, sizeof *m->slots);
    m->cap = ncap;
    m->used = m->count;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].key || old[i].key == &tombstone)
            continue;
        size_t j = strmap_hash(old[i].key) & (ncap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (ncap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *strmap_put(strmap *m, const char *key, void *value)
{
    struct slot *s = find(m, key);
    if (s) {
        void *prev = s->value;
        s->value = value;
        return prev;
    }
    if ((m->used + 1) * 10 >= m->cap * 7)
        rehash(m, m->count * 2 >= m->cap ? m->cap * 2 : m->cap);
    size_t mask = m->cap - 1;
    size_t i = strmap_hash(key) & mask;
    while (m->slots[i].key && m->slots[i].key != &tombstone)
        i = (i + 1) & mask;
    if (!m->slots[i].key)
        m->used++;
    m->slots[i].key = xstrdup(key);
    m->slots[i].value = value;
    m->count++;
    return NULL;
}

void *strmap_get(const strmap *m, const char *key)
{
    struct slot *s = find(m, key);
    return s ? s->value : NULL;
}

void *strmap_del(strmap *m, const char *key)
{
    struct slot *s = find(m, key);
    if (!s)
        return NULL;
    void *v = s->value;
    free(s->key);
    s->key = &tombstone;
    s->value = NULL;
    m->count--;
    return v;
}

size_t strmap_count(const strmap *m)
{
    return m->count;
}

int strmap_next(const strmap *m, size_t *pos, const char **key, void **value)
{
    for (; *pos < m->cap; (*pos)++) {
        struct slot *s = &m->slots[*pos];
        if (s->key && s->key != &tombstone) {
            *key = s->key;
            *value = s->value;
            (*pos)++;
            return 1;
        }
    }
    return 0;
}
