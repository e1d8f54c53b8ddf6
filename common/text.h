/* text: small operations on text that several parts of weft show people. */
#ifndef WEFT_TEXT_H
#define WEFT_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Where the last `lines` lines of s (len bytes; trailing line breaks do not count as lines)
 * begin, taking at most max bytes and starting on a UTF-8 character. */
size_t text_tail(const char *s, size_t len, unsigned lines, size_t max);
/* s (len bytes) as valid UTF-8 without NUL: every byte that is not part of a well-formed
 * character becomes '?'. A new string (caller frees). */
char *text_utf8(const char *s, size_t len);
/* The length of the well-formed UTF-8 character at s (avail bytes there, at least 1), or 0
 * when none begins there: NUL, a continuation byte, a sequence cut short, an overlong form,
 * a surrogate, or past U+10FFFF. */
size_t text_utf8_char(const char *s, size_t avail);
/* v in its shortest form that reads back as the same double ("0.9788732394", "1e+100",
 * "3"), into buf (at least 32 bytes). Returns buf. */
char *text_double(double v, char *buf, size_t n);
/* v in decimal, without snprintf (a hot path's numbers), written at the end of buf (at
 * least TEXT_INT_MAX bytes) and NUL-terminated. Returns where it begins in buf. */
#define TEXT_INT_MAX 24
char *text_int(int64_t v, char *buf);

#endif
