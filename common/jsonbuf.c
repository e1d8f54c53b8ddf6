/* jsonbuf: see jsonbuf.h. */
#include "common/jsonbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/text.h"
#include "common/xmem.h"

static void put(jsonbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap)
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
    char num[TEXT_INT_MAX];
    const char *d = text_int(v, num);
    put(b, d, (size_t)(num + TEXT_INT_MAX - 1 - d));
}

void jsonbuf_str(jsonbuf *b, const char *s)
{
    if (!s) {
        put(b, "null", 4);
        return;
    }
    put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    while (*p) {
        const unsigned char *run = p; /* bytes that go as they are */
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        put(b, (const char *)run, (size_t)(p - run));
        if (!*p)
            break;
        size_t n = *p >= 0x80 ? text_utf8_char((const char *)p, (size_t)(end - p)) : 0;
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

void jsonbuf_clear(jsonbuf *b)
{
    b->n = 0;
    if (b->s)
        b->s[0] = '\0';
}

void jsonbuf_free(jsonbuf *b)
{
    free(b->s);
    *b = (jsonbuf){0};
}

char *jsonbuf_take(jsonbuf *b)
{
    char *s = b->s ? b->s : xstrdup("");
    *b = (jsonbuf){0};
    return s;
}
