/* arena: pieces freed together. See arena.h. */
#include "common/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"

#define PIECE_ALIGN alignof(uint64_t) /* and of pointers: nothing else is stored */

typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    alignas(PIECE_ALIGN) unsigned char data[];
} arena_block;

void *arena_alloc(arena *a, size_t n)
{
    WEFT_ASSERT(n <= SIZE_MAX / 2);
    n = (n + PIECE_ALIGN - 1) & ~(size_t)(PIECE_ALIGN - 1);
    arena_block *k = a->blocks;
    if (!k || k->cap - k->used < n) {
        size_t cap = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
        arena_block *nk = xmalloc(sizeof *nk + cap);
        nk->used = 0;
        nk->cap = cap;
        if (k && cap != ARENA_BLOCK) { /* a large piece: its own block, behind the current */
            nk->next = k->next;
            k->next = nk;
        } else {
            nk->next = k;
            a->blocks = nk;
        }
        k = nk;
    }
    void *p = k->data + k->used;
    k->used += n;
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

void arena_reset(arena *a)
{
    arena_block *keep = NULL;
    for (arena_block *k = a->blocks, *next; k; k = next) {
        next = k->next;
        if (!keep && k->cap == ARENA_BLOCK) {
            keep = k;
            continue;
        }
        free(k);
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->blocks = keep;
}

void arena_destroy(arena *a)
{
    for (arena_block *k = a->blocks, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    a->blocks = NULL;
}
