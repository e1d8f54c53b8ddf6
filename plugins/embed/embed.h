/* embed: the embed plugin's task types and what they share.
 *
 *   embed.chunk   files or a directory of text -> shards of chunks (JSONL)
 *   embed.encode  a shard -> a float32 matrix (.npy) and the chunk ids
 *   embed.index   encoded shards -> a vector index (exact, HNSW or IVF, through FAISS)
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

/* An encoder: the backend, its dimension and its model, as recorded in every ids file and
 * index so queries are encoded the way the corpus was; once opened, what it runs on.
 *
 *   hashing  feature hashing, dim from the input (hashing.h)
 *   glove    pretrained word vectors pooled with SIF weights (glove.h); model: glove-<id>
 *   http     an OpenAI-compatible endpoint (httpembed.h); model: the endpoint's model */
typedef struct glove glove;
typedef struct httpembed httpembed;
typedef struct encoder {
    char backend[32];
    size_t dim;
    char model[128];
    glove *glove;     /* open: the mapped vectors */
    httpembed *http;  /* open: the endpoint's client */
    size_t checkpoint_batches; /* http: batches between checkpoints, 0 = none */
} encoder;

#define ENCODER_DIM_MAX 65536

/* Checks a recorded encoder; 0, or -1 with why. */
int encoder_check(const encoder *e, char *why, size_t n);
/* Reads a recorded encoder from obj's backend, dim and model; 0, or -1 with why. */
int encoder_from_json(json_t *obj, encoder *e, char *why, size_t n);
/* Sets obj's backend, dim and model. */
void encoder_to_json(const encoder *e, json_t *obj);
/* Nonzero when two recorded encoders make the same vectors. */
int encoder_same(const encoder *a, const encoder *b);
/* Opens the encoder that ctx's inputs describe (backend, dim, glove, endpoint, model,
 * api_key_env, batch, timeout). With recorded (searching an index), the backend, dim and
 * model are the recorded ones and the inputs must agree. task names the task type in
 * messages. WEFT_OK, or the failure already recorded. */
int encoder_open(weft_ctx *ctx, const char *task, const encoder *recorded, encoder *e);
/* Encodes texts[0..n) into *out (n x e->dim, malloc'd, rows L2-normalized or zero).
 * WEFT_OK, or WEFT_RETRY / WEFT_FAIL already recorded. */
int encoder_run(weft_ctx *ctx, const char *task, encoder *e, const char *const *texts,
                const size_t *lens, size_t n, float **out);
void encoder_close(encoder *e);

#endif
