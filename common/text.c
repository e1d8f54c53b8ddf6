/* text: see text.h. */
#include "common/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t text_tail(const char *s, size_t len, unsigned lines, size_t max)
{
    size_t end = len, start;
    while (end && s[end - 1] == '\n')
        end--;
    start = end;
    for (unsigned seen = 0; start && len - start < max; start--)
        if (s[start - 1] == '\n' && ++seen == lines)
            break;
    while (start < len && ((unsigned char)s[start] & 0xC0) == 0x80)
        start++;
    return start;
}

static int cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

size_t text_utf8_char(const char *s, size_t avail)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char c = p[0];
    if (c < 0x80)
        return c ? 1 : 0;
    if (c >= 0xC2 && c <= 0xDF)
        return avail >= 2 && cont(p[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return avail >= 3 && p[1] >= lo && p[1] <= hi && cont(p[2]) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return avail >= 4 && p[1] >= lo && p[1] <= hi && cont(p[2]) && cont(p[3]) ? 4 : 0;
    }
    return 0;
}

char *text_utf8(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = text_utf8_char(s + i, len - i);
        if (n) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        } else {
            out[o++] = '?';
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

char *text_int(int64_t v, char *buf)
{
    char *d = buf + TEXT_INT_MAX;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    *--d = '\0';
    do
        *--d = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        *--d = '-';
    return d;
}

char *text_double(double v, char *buf, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}
