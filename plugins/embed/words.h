/* words: the words the embedding backends read, and the unit vectors they write.
 *
 * A word is a run of ASCII letters and digits, any non-ASCII byte counting as a letter (so
 * UTF-8 words stay whole), lowercased (ASCII only). */
#ifndef WEFT_EMBED_WORDS_H
#define WEFT_EMBED_WORDS_H

#include <math.h>
#include <stddef.h>

static inline int words_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

/* The next word of text[*at..len): its first cap bytes, lowercased, go to out, and its whole
 * length is returned (0: no word left); *at moves past it. */
static inline size_t words_next(const char *text, size_t len, size_t *at, char *out, size_t cap)
{
    size_t i = *at, n = 0;
    while (i < len && !words_byte((unsigned char)text[i]))
        i++;
    for (; i < len && words_byte((unsigned char)text[i]); i++, n++)
        if (n < cap)
            out[n] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] - 'A' + 'a' : text[i]);
    *at = i;
    return n;
}

/* Scales v[0..dim) to unit length; the zero vector stays zero. */
static inline void vec_normalize(float *v, size_t dim)
{
    double norm = 0;
    for (size_t j = 0; j < dim; j++)
        norm += (double)v[j] * v[j];
    for (size_t j = 0; norm > 0 && j < dim; j++)
        v[j] /= (float)sqrt(norm);
}

#endif
