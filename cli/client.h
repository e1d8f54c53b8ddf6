/* client: the CLI's request/reply channel to a scheduler (a ZeroMQ DEALER socket).
 *
 * One request at a time; each waits up to a timeout for its reply. A scheduler that does
 * not answer is reported as unreachable (exit code 3). */
#ifndef WEFT_CLIENT_H
#define WEFT_CLIENT_H

#include <jansson.h>

#include "common/err.h"
#include "weft.pb-c.h"

typedef struct client client;

/* Connects to endpoint (connection completes in the background). */
int client_open(const char *endpoint, int timeout_ms, client **out, weft_err *err);
void client_close(client **cp);
/* Sends env and waits for the Reply. On success *out is the reply (free with
 * weft__envelope__free_unpacked). WEFT_EUNREACH when nothing came back in time. */
int client_call(client *c, const Weft__Envelope *env, Weft__Envelope **out, weft_err *err);
/* A query; returns the reply's JSON (caller json_decrefs) or NULL with err set (err->code
 * is the scheduler's code, or WEFT_EUNREACH). */
json_t *client_query(client *c, Weft__QueryKind kind, uint64_t run_id, const char *task,
                     uint64_t after_seq, weft_err *err);

#endif
