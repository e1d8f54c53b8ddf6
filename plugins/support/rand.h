/* rand: a small seeded generator (splitmix64) for the plugins' reproducible shuffles: the
 * same seed gives the same split on every machine. */
#ifndef WEFT_PLUGIN_RAND_H
#define WEFT_PLUGIN_RAND_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t rand_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Fisher-Yates over idx[0..n). */
static inline void rand_shuffle(size_t *idx, size_t n, uint64_t *s)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rand_next(s) % i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

#endif
