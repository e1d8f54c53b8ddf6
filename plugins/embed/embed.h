/* embed: the embed plugin's task types and what they share.
 *
 *   embed.chunk   files or a directory of text -> shards of chunks (JSONL)
 *   embed.encode  a shard -> a float32 matrix (.npy) and the chunk ids
 *   embed.index   encoded shards -> a vector index (exact or HNSW, through FAISS)
 *   embed.search  an index and queries -> the top-k chunk ids */
#ifndef WEFT_EMBED_H
#define WEFT_EMBED_H

#include <stddef.h>

#include <jansson.h>
#include <weft/plugin.h>

int embed_chunk_run(weft_ctx *ctx);
int embed_encode_run(weft_ctx *ctx);
int embed_index_run(weft_ctx *ctx);
int embed_search_run(weft_ctx *ctx);

/* An encoder: the backend and its dimension, as recorded in every ids file and index so
 * queries are encoded the way the corpus was. */
typedef struct encoder {
    char backend[32];
    size_t dim;
} encoder;

/* Checks a backend name and dimension; 0, or -1 with why. */
int encoder_check(const encoder *e, char *why, size_t n);
/* Encodes texts[0..n) into rows of out (n x e->dim). */
void encoder_run(const encoder *e, const char *const *texts, const size_t *lens, size_t n,
                 float *out);

#endif
