/* client: a client's request/reply channel to a scheduler (a ZeroMQ DEALER socket), used
 * by the CLI and the gateway.
 *
 * One request at a time; each waits up to a timeout for its reply. A scheduler that does
 * not answer is reported as unreachable (exit code 3). */
#ifndef WEFT_CLIENT_H
#define WEFT_CLIENT_H

#include <jansson.h>

#include "common/err.h"
#include "weft.pb-c.h"

typedef struct client client;

typedef struct client_config {
    const char *endpoint;
    int timeout_ms;
    const char *key_file;   /* CURVE key pair for tcp:// (NULL: $WEFT_KEY) */
    const char *server_key; /* the scheduler's public key (NULL: $WEFT_SERVER_KEY) */
    int insecure;           /* plain TCP to a loopback address */
} client_config;

/* Connects to the endpoint (connection completes in the background); tcp:// speaks CURVE
 * (see keys.h). A handshake the scheduler refuses (an unknown or revoked key, no CURVE)
 * ends the request that waits for it with WEFT_EDENIED and the reason. */
int client_open(const client_config *cfg, client **out, weft_err *err);
void client_close(client **cp);
/* Sends env and waits for the Reply. On success *out is the reply (free with
 * weft__envelope__free_unpacked). WEFT_EUNREACH when nothing came back in time. */
int client_call(client *c, const Weft__Envelope *env, Weft__Envelope **out, weft_err *err);
/* For requests that carry an idempotency key (submit, retry, cancel): like client_call, but
 * when no answer arrives within a try's wait (3 s, then 5 s), or the scheduler
 * answers that it cannot write its catalogue right now, sends the request again on a fresh
 * connection, until the client's timeout has passed. The scheduler answers a repeated key
 * with its first answer, so a request is never carried out twice. A refusal that lasts
 * past the timeout is returned as the reply. */
int client_call_retry(client *c, const Weft__Envelope *env, Weft__Envelope **out, weft_err *err);
/* A fresh idempotency key: 32 random hex digits and a NUL. */
void client_new_key(char key[33]);
/* A query; returns the reply's JSON (caller json_decrefs) or NULL with err set (err->code
 * is the scheduler's code, or WEFT_EUNREACH). */
json_t *client_query(client *c, const Weft__QueryRequest *q, weft_err *err);

#endif
