/* jsonbuf: JSON text written straight into a buffer, for answers too large to build as
 * jansson values first (a page of a run's events: 1,000 objects). The caller writes the
 * punctuation; strings are escaped, and a byte that is not part of a well-formed UTF-8
 * character becomes '?', as text_utf8 does. */
#ifndef WEFT_JSONBUF_H
#define WEFT_JSONBUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct jsonbuf {
    char *s; /* NUL-terminated once anything was written */
    size_t n, cap;
} jsonbuf;

/* Appends text as it is (punctuation, keys known to need no escaping). */
void jsonbuf_raw(jsonbuf *b, const char *text);
/* Appends s as a JSON string, or null for NULL. */
void jsonbuf_str(jsonbuf *b, const char *s);
void jsonbuf_int(jsonbuf *b, int64_t v);
/* The text (caller frees; "" when nothing was written); b is empty again. */
char *jsonbuf_take(jsonbuf *b);
/* Empties b, keeping its memory for what is written next. */
void jsonbuf_clear(jsonbuf *b);
/* Frees b's memory; b is empty again. */
void jsonbuf_free(jsonbuf *b);

#endif
