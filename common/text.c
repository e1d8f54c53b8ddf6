/* text: see text.h. */
#include "common/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

char *text_utf8(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        json_t *one = n && i + n <= len && c ? json_stringn(s + i, n) : NULL;
        if (one) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
            json_decref(one);
        } else {
            out[o++] = '?';
            i++;
        }
    }
    out[o] = '\0';
    return out;
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
