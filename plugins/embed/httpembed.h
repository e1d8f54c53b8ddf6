/* httpembed: the `http` embedding backend: any OpenAI-compatible embeddings endpoint.
 *
 * Texts go in batches as POST {endpoint}/embeddings with {"model": M, "input": [texts]};
 * the answer's data[i].embedding (placed by data[i].index when given) is text i's vector.
 * The API key is read from an environment variable and sent only as the Authorization
 * header; it never appears in a message or a log line.
 *
 * Failures are classed for weft's retry policy: a timeout, a refused or dropped connection,
 * HTTP 408, 429 and 5xx are transient (WEFT_RETRY); any other answer, and a malformed one,
 * is fatal (WEFT_FAIL). */
#ifndef WEFT_EMBED_HTTPEMBED_H
#define WEFT_EMBED_HTTPEMBED_H

#include <stddef.h>

typedef struct httpembed httpembed;

typedef struct httpembed_config {
    const char *endpoint; /* "http://127.0.0.1:8080/v1" */
    const char *model;    /* sent as "model" */
    const char *key_env;  /* environment variable holding the API key; unset: no header */
    size_t batch;         /* texts per request */
    long timeout_ms;      /* per request */
} httpembed_config;

/* NULL with why when the configuration is unusable. */
httpembed *httpembed_open(const httpembed_config *c, char *why, size_t n);
void httpembed_close(httpembed *h);

/* Embeds texts[0..count) in one request. *rows points to their vectors (count x *dim,
 * owned by h, valid until the next call). *dim is learned from the first answer when 0,
 * and every answer must agree with it. Returns WEFT_OK, or WEFT_RETRY / WEFT_FAIL with
 * why. */
int httpembed_batch(httpembed *h, const char *const *texts, const size_t *lens, size_t count,
                    const float **rows, size_t *dim, char *why, size_t n);
size_t httpembed_batch_size(const httpembed *h);

#endif
