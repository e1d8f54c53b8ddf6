/* jsonbuf: see jsonbuf.h. */
#include "common/jsonbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/xmem.h"

static void put(jsonbuf *b, const char *s, size_t n)
{
    xgrow(&b->s, &b->cap, b->n + n + 1, 1);
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

void jsonbuf_raw(jsonbuf *b, const char *text)
{
    put(b, text, strlen(text));
}

void jsonbuf_int(jsonbuf *b, int64_t v)
{
    char num[24];
    put(b, num, (size_t)snprintf(num, sizeof num, "%" PRId64, v));
}

static int cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* The length of the well-formed UTF-8 character at p (at least one byte before the NUL),
 * or 0: no overlong forms, surrogates or code points past U+10FFFF. */
static size_t char_len(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return cont(p[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && cont(p[2]) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && cont(p[2]) && cont(p[3]) ? 4 : 0;
    }
    return 0;
}

void jsonbuf_str(jsonbuf *b, const char *s)
{
    if (!s) {
        put(b, "null", 4);
        return;
    }
    put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *run = p; /* bytes that go as they are */
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        put(b, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        size_t n = *p >= 0x80 ? char_len(p) : 0;
        char esc[8];
        if (n) {
            put(b, (const char *)p, n);
            p += n;
            continue;
        }
        if (*p == '"' || *p == '\\')
            snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p < 0x20)
            snprintf(esc, sizeof esc, "\\u%04x", *p);
        else
            snprintf(esc, sizeof esc, "?"); /* not part of a well-formed character */
        put(b, esc, strlen(esc));
        p++;
    }
    put(b, "\"", 1);
}

char *jsonbuf_take(jsonbuf *b)
{
    char *s = b->s ? b->s : xstrdup("");
    *b = (jsonbuf){0};
    return s;
}
