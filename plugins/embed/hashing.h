/* hashing: the `hashing` embedding backend: signed feature hashing of a text's words,
 * word bigrams and character n-grams into `dim` dimensions, L2-normalized. No model file.
 *
 * Words are as words.h reads them: runs of letters and digits (any non-ASCII byte counts as
 * a letter), lowercased (ASCII). Features and their weights: each word 1, each adjacent word
 * pair 1, each character 3-, 4- and 5-gram of a word padded with '<' and '>' 0.5. A
 * feature's 64-bit hash picks its dimension and its sign, so collisions cancel on average
 * instead of piling up. */
#ifndef WEFT_EMBED_HASHING_H
#define WEFT_EMBED_HASHING_H

#include <stddef.h>
#include <stdint.h>

#define HASHING_DIM_MAX 65536

/* Writes the embedding of text[0..len) into v[0..dim) (all zeros when it has no words). */
void hashing_encode(const char *text, size_t len, float *v, size_t dim);

/* The 64-bit hash of bytes, with a seed (FNV-1a folded through a splitmix finalizer). */
uint64_t hashing_hash(const void *data, size_t len, uint64_t seed);

#endif
