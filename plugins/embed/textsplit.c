/* textsplit: see textsplit.h. */
#include "plugins/embed/textsplit.h"

#include <stdint.h>

int utf8_valid(const char *text, size_t len, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4 : 0;
        uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
        int ok = n > 0 && c != 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++) {
            ok = (s[i + k] & 0xC0) == 0x80;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (!ok || cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            *bad = i;
            return 0;
        }
        i += n;
    }
    return 1;
}

static int is_cont(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

/* The byte offset `chars` code points after at (or len). */
static size_t forward(const char *t, size_t len, size_t at, size_t chars)
{
    while (at < len && chars-- > 0)
        for (at++; at < len && is_cont(t[at]); at++) {
        }
    return at;
}

/* The byte offset `chars` code points before at (or from). */
static size_t backward(const char *t, size_t from, size_t at, size_t chars)
{
    while (at > from && chars-- > 0)
        for (at--; at > from && is_cont(t[at]); at--) {
        }
    return at;
}

static int space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The best end in (lo, hi]: just after a blank line, a sentence, whitespace; else hi. The
 * chunk starts at pos, so the two characters before an end are looked at from pos on. */
static size_t best_end(const char *t, size_t pos, size_t lo, size_t hi)
{
    for (size_t i = hi; i > lo && i >= pos + 2; i--)
        if (t[i - 1] == '\n' && t[i - 2] == '\n')
            return i;
    for (size_t i = hi; i > lo && i >= pos + 2; i--)
        if (space(t[i - 1]) && (t[i - 2] == '.' || t[i - 2] == '!' || t[i - 2] == '?'))
            return i;
    for (size_t i = hi; i > lo; i--)
        if (space(t[i - 1]))
            return i;
    return hi;
}

/* Whether t[a..b) holds anything but whitespace. */
static int has_text(const char *t, size_t a, size_t b)
{
    for (; a < b; a++)
        if (!space(t[a]))
            return 1;
    return 0;
}

int textsplit(const char *text, size_t len, size_t size, size_t overlap,
              int (*emit)(void *arg, size_t start, size_t end), void *arg)
{
    size_t pos = 0;
    while (pos < len) {
        while (pos < len && space(text[pos]))
            pos++;
        if (pos >= len)
            break;
        size_t hi = forward(text, len, pos, size), end = hi;
        if (hi < len)
            end = best_end(text, pos, backward(text, pos, hi, size / 4), hi);
        if (end <= pos)
            end = hi;
        if (has_text(text, pos, end)) {
            int rc = emit(arg, pos, end);
            if (rc)
                return rc;
        }
        if (end >= len)
            break;
        /* the next chunk starts `overlap` characters back, at a word if one starts there */
        size_t next = backward(text, pos, end, overlap);
        size_t word = next;
        while (word > 0 && word < end && !space(text[word - 1]) && !space(text[word]))
            word++;
        if (word < end)
            next = word;
        pos = next > pos ? next : end;
    }
    return 0;
}
