/* xmem: aborting allocators. See xmem.h. */
#include "common/xmem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "weft: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom(count * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    WEFT_ASSERT(n >= 0);
    char *s = xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void xgrow(void *items, size_t *cap, size_t need, size_t elsize)
{
    if (need <= *cap)
        return;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    char **pp = items;
    *pp = xrealloc(*pp, ncap * elsize);
    memset(*pp + *cap * elsize, 0, (ncap - *cap) * elsize);
    *cap = ncap;
}

void xreserve(void *items, size_t *cap, size_t need, size_t elsize)
{
    if (need <= *cap)
        return;
    char **pp = items;
    *pp = xrealloc(*pp, need * elsize);
    memset(*pp + *cap * elsize, 0, (need - *cap) * elsize);
    *cap = need;
}

void xtrim(void *items, size_t *cap, size_t keep)
{
    void **pp = items;
    if (*cap <= keep)
        return;
    free(*pp);
    *pp = NULL;
    *cap = 0;
}

void weft_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "weft: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
