/* textsplit: splitting UTF-8 text into overlapping chunks for embedding.
 *
 * Chunks hold about `size` characters (code points) and neighbours share about `overlap`.
 * A chunk ends, in order of preference, after a paragraph break (a blank line), after a
 * sentence (. ! ? followed by a space or line break), after whitespace, or at a character
 * boundary, searching back from `size` characters over the last quarter of the chunk. No
 * chunk splits a UTF-8 sequence; chunks that are only whitespace are dropped; a chunk
 * starts at a word where one begins within the overlap. */
#ifndef WEFT_EMBED_TEXTSPLIT_H
#define WEFT_EMBED_TEXTSPLIT_H

#include <stddef.h>

/* Whether text[0..len) is valid UTF-8 (no overlong forms, surrogates or NULs); the byte
 * offset of the first bad byte goes to *bad. */
int utf8_valid(const char *text, size_t len, size_t *bad);

/* Calls emit(arg, start, end) with the byte range of each chunk, in order; stops early
 * when emit returns nonzero and returns that value, else 0. size >= 1, overlap < size. */
int textsplit(const char *text, size_t len, size_t size, size_t overlap,
              int (*emit)(void *arg, size_t start, size_t end), void *arg);

#endif
