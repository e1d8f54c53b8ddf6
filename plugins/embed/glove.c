/* glove: see glove.h. */
#include "plugins/embed/glove.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugins/embed/hashing.h"
#include "plugins/embed/words.h"

struct glove {
    void *map;
    size_t map_len;
    const glove_header *h;
    const float *vectors, *weight, *common;
    const uint32_t *slots, *offset;
    const char *pool;
    char name[32];
};

uint64_t glove_word_hash(const char *word, size_t len)
{
    return hashing_hash(word, len, 0x676c6f7665ULL);
}

uint64_t glove_file_size(const glove_header *h)
{
    uint64_t words = h->count, dim = h->dim;
    if (dim == 0 || dim > 4096 || words == 0 || words > (1u << 26) || h->nslots < 2 * words ||
        (h->nslots & (h->nslots - 1)) || h->pool_bytes > (1ULL << 34))
        return 0;
    return sizeof *h + 4 * (words * dim + words + dim + h->nslots + words) + h->pool_bytes;
}

static int check(glove *g, char *why, size_t n)
{
    const glove_header *h = g->h;
    if (g->map_len < sizeof *h || memcmp(h->magic, GLOVE_MAGIC, 8) != 0) {
        snprintf(why, n, "not a weft glove vectors file (made by weft-glove-convert)");
        return -1;
    }
    if (h->order != GLOVE_ORDER) {
        snprintf(why, n, "written on a machine of the other byte order");
        return -1;
    }
    if (glove_file_size(h) != g->map_len) {
        snprintf(why, n, "truncated or damaged: %zu bytes where its header says %llu",
                 g->map_len, (unsigned long long)glove_file_size(h));
        return -1;
    }
    const char *p = (const char *)g->map + sizeof *h;
    g->vectors = (const float *)p;
    g->weight = g->vectors + (size_t)h->count * h->dim;
    g->common = g->weight + h->count;
    g->slots = (const uint32_t *)(g->common + h->dim);
    g->offset = g->slots + h->nslots;
    g->pool = (const char *)(g->offset + h->count);
    if (h->pool_bytes == 0 || g->pool[h->pool_bytes - 1] != '\0') {
        snprintf(why, n, "damaged: its word list is not terminated");
        return -1;
    }
    for (uint32_t i = 0; i < h->count; i++)
        if (g->offset[i] >= h->pool_bytes) {
            snprintf(why, n, "damaged: word %u lies outside the word list", i);
            return -1;
        }
    snprintf(g->name, sizeof g->name, "glove-%016llx", (unsigned long long)h->id);
    return 0;
}

glove *glove_open(const char *path, char *why, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, n, "cannot open: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    glove *g = calloc(1, sizeof *g);
    g->map_len = (size_t)st.st_size;
    g->map = g->map_len ? mmap(NULL, g->map_len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    close(fd);
    if (g->map == MAP_FAILED) {
        snprintf(why, n, "cannot map: %s", g->map_len ? strerror(errno) : "empty file");
        free(g);
        return NULL;
    }
    g->h = g->map;
    if (check(g, why, n) < 0) {
        glove_close(g);
        return NULL;
    }
    return g;
}

void glove_close(glove *g)
{
    if (!g)
        return;
    munmap(g->map, g->map_len);
    free(g);
}

size_t glove_dim(const glove *g)
{
    return g->h->dim;
}

const char *glove_name(const glove *g)
{
    return g->name;
}

long glove_lookup(const glove *g, const char *word, size_t len)
{
    uint32_t mask = g->h->nslots - 1;
    uint64_t s = glove_word_hash(word, len) & mask;
    /* At most nslots probes: a damaged file's table may have no empty slot. */
    for (uint32_t probes = 0; probes < g->h->nslots; probes++, s = (s + 1) & mask) {
        uint32_t e = g->slots[s];
        if (e == 0 || e > g->h->count)
            return -1;
        const char *w = g->pool + g->offset[e - 1];
        if (strncmp(w, word, len) == 0 && w[len] == '\0')
            return (long)e - 1;
    }
    return -1;
}

size_t glove_encode(const glove *g, const char *text, size_t len, float *v)
{
    size_t dim = g->h->dim, known = 0;
    char w[GLOVE_WORD_MAX];
    memset(v, 0, dim * sizeof *v);
    for (size_t i = 0, n; (n = words_next(text, len, &i, w, sizeof w));) {
        long k = n < sizeof w ? glove_lookup(g, w, n) : -1;
        if (k < 0)
            continue;
        const float *x = g->vectors + (size_t)k * dim;
        for (size_t j = 0; j < dim; j++)
            v[j] += g->weight[k] * x[j];
        known++;
    }
    double dot = 0;
    for (size_t j = 0; j < dim; j++)
        dot += (double)v[j] * g->common[j];
    for (size_t j = 0; j < dim; j++)
        v[j] -= (float)dot * g->common[j];
    vec_normalize(v, dim);
    return known;
}
