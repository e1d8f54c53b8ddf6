/* hashing: see hashing.h. */
#include "plugins/embed/hashing.h"

#include <string.h>

#include "plugins/embed/words.h"

#define WORD_MAX 64 /* longer words are cut (their n-grams still count) */

enum { SEED_WORD = 1, SEED_BIGRAM = 2, SEED_NGRAM = 3 };

uint64_t hashing_hash(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ (seed * 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

static void add(float *v, size_t dim, uint64_t h, float weight)
{
    v[(h >> 1) % dim] += (h & 1) ? weight : -weight;
}

static void ngrams(const char *w, size_t n, float *v, size_t dim)
{
    char padded[WORD_MAX + 2];
    padded[0] = '<';
    memcpy(padded + 1, w, n);
    padded[n + 1] = '>';
    size_t len = n + 2;
    for (size_t k = 3; k <= 5; k++)
        for (size_t i = 0; i + k <= len; i++)
            add(v, dim, hashing_hash(padded + i, k, SEED_NGRAM), 0.5f);
}

void hashing_encode(const char *text, size_t len, float *v, size_t dim)
{
    memset(v, 0, dim * sizeof *v);
    char prev[WORD_MAX], word[WORD_MAX];
    size_t nprev = 0;
    for (size_t i = 0, whole; (whole = words_next(text, len, &i, word, WORD_MAX));) {
        size_t n = whole < WORD_MAX ? whole : WORD_MAX;
        add(v, dim, hashing_hash(word, n, SEED_WORD), 1.0f);
        ngrams(word, n, v, dim);
        if (nprev) {
            char pair[2 * WORD_MAX + 1];
            memcpy(pair, prev, nprev);
            pair[nprev] = ' ';
            memcpy(pair + nprev + 1, word, n);
            add(v, dim, hashing_hash(pair, nprev + 1 + n, SEED_BIGRAM), 1.0f);
        }
        memcpy(prev, word, n);
        nprev = n;
    }
    vec_normalize(v, dim);
}
