/* u64map: integer-keyed hash map. See u64map.h. */
#include "common/u64map.h"

#include <stdlib.h>

#include "common/xmem.h"

struct u64slot {
    uint64_t key; /* 0 = empty */
    void *value;
};

struct u64map {
    struct u64slot *slots;
    size_t cap, count;
};

static size_t slot_of(uint64_t k, size_t mask)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & mask;
}

u64map *u64map_new(void)
{
    u64map *m = xcalloc(1, sizeof *m);
    m->cap = 16;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
    return m;
}

void u64map_destroy(u64map **mp)
{
    if (!mp || !*mp)
        return;
    free((*mp)->slots);
    free(*mp);
    *mp = NULL;
}

static void grow(u64map *m)
{
    struct u64slot *old = m->slots;
    size_t ocap = m->cap;
    m->cap *= 2;
    m->slots = xcalloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].key)
            continue;
        size_t j = slot_of(old[i].key, m->cap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (m->cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *u64map_put(u64map *m, uint64_t key, void *value)
{
    WEFT_ASSERT(key != 0);
    if ((m->count + 1) * 10 >= m->cap * 7)
        grow(m);
    size_t mask = m->cap - 1;
    size_t i = slot_of(key, mask);
    for (; m->slots[i].key; i = (i + 1) & mask) {
        if (m->slots[i].key == key) {
            void *prev = m->slots[i].value;
            m->slots[i].value = value;
            return prev;
        }
    }
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->count++;
    return NULL;
}

void *u64map_get(const u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    for (size_t i = slot_of(key, mask); m->slots[i].key; i = (i + 1) & mask)
        if (m->slots[i].key == key)
            return m->slots[i].value;
    return NULL;
}

void *u64map_del(u64map *m, uint64_t key)
{
    size_t mask = m->cap - 1;
    size_t i = slot_of(key, mask);
    while (m->slots[i].key && m->slots[i].key != key)
        i = (i + 1) & mask;
    if (!m->slots[i].key)
        return NULL;
    void *v = m->slots[i].value;
    /* Backward-shift deletion keeps probe chains intact without tombstones. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j].key)
            break;
        size_t home = slot_of(m->slots[j].key, mask);
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = 0;
    m->slots[i].value = NULL;
    m->count--;
    return v;
}

size_t u64map_count(const u64map *m)
{
    return m->count;
}

int u64map_next(const u64map *m, size_t *pos, uint64_t *key, void **value)
{
    for (; *pos < m->cap; (*pos)++) {
        if (m->slots[*pos].key) {
            *key = m->slots[*pos].key;
            *value = m->slots[*pos].value;
            (*pos)++;
            return 1;
        }
    }
    return 0;
}
