/* s3: a small client of S3-compatible object storage, through libcurl and its AWS SigV4
 * signing (CURLOPT_AWS_SIGV4).
 *
 * A location is s3://BUCKET[/PREFIX]. The rest comes from the environment, as the AWS tools
 * read it: the endpoint (WEFT_S3_ENDPOINT, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL; else
 * https://s3.REGION.amazonaws.com), the region (AWS_REGION, AWS_DEFAULT_REGION; us-east-1),
 * the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, else the
 * profile AWS_PROFILE or "default" of AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials),
 * and the addressing (WEFT_S3_ADDRESSING=path or virtual; path-style with an endpoint of
 * one's own, virtual-host on AWS).
 *
 * Every request sends the SHA-256 of its body (x-amz-content-sha256, signed), so the server
 * checks what arrived. Transport errors, 500, 502, 503 (SlowDown), 504 and 429 are retried
 * S3_TRIES times with exponential backoff (100 ms doubling to 5 s, jittered). Requests
 * block: the backend is for processes that may wait (executors, the CLI). */
#ifndef WEFT_S3_H
#define WEFT_S3_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define S3_TRIES 8

typedef struct s3_client s3_client;

/* One request. key: an object key under the location's prefix ("" for the bucket itself);
 * query: the query string, or NULL. The body comes from fd (body_len bytes from
 * body_off) or from memory; the answer's body goes to out_fd (downloads, from its current
 * length on) or to memory (resp->body). */
typedef struct s3_request {
    const char *method;
    const char *key;
    const char *query;
    int body_fd;          /* -1: none */
    off_t body_off;
    uint64_t body_len;
    const char *body_mem; /* or NULL */
    size_t body_mem_len;
    int out_fd;           /* -1: the answer's body to resp->body */
} s3_request;

typedef struct s3_response {
    long status;
    char *body; /* NUL-terminated, malloc'd (when not sent to out_fd) */
    size_t len;
    char etag[160];
    int64_t modified_us; /* Last-Modified, or 0 */
} s3_response;

/* Opens a client for location (s3://BUCKET[/PREFIX]). */
int s3_open(const char *location, s3_client **out, weft_err *err);
void s3_close(s3_client **cp);
/* The prefix objects are named under ("" or "PREFIX/"). */
const char *s3_prefix(const s3_client *c);
/* Does rq (retried as above). 0 with the final answer in *resp (any status: the caller
 * judges it), or WEFT_EUNREACH / WEFT_EIO when no answer came (err set). */
int s3_do(s3_client *c, const s3_request *rq, s3_response *resp, weft_err *err);
void s3_response_free(s3_response *r);
/* The first <tag>...</tag> of xml at or after *pos, unescaped, into out (n bytes); *pos
 * moves past it. 0 when found, -1 when not. */
int s3_xml_next(const char *xml, const char *tag, size_t *pos, char *out, size_t n);
/* An error answer as text: "HTTP STATUS CODE: MESSAGE". */
void s3_describe(const s3_response *r, char *out, size_t n);

#endif
