/* logstream: a running attempt's log, streamed to the scheduler as it is written.
 *
 * On every heartbeat the worker sends what the attempt's log file gained since the last
 * time, in chunks of at most LOGSTREAM_CHUNK bytes, each with its offset in the log as the
 * scheduler keeps it (a resent chunk lands where it did before). Secrets are masked as in
 * everything else the worker sends: with secrets, a chunk ends at a line break, so a
 * secret (which holds none) is never cut in two; an attempt whose secrets hold a line break
 * is not streamed, nor the rest of one that writes a line longer than a chunk (its log
 * arrives, masked, with its result). A chunk the scheduler could not take (it was
 * restarting) leaves a gap that the log sent with the result fills. */
#ifndef WEFT_LOGSTREAM_H
#define WEFT_LOGSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/secrets.h"
#include "weft.pb-c.h"

#define LOGSTREAM_CHUNK (64u << 10)
#define LOGSTREAM_MAX_CHUNKS 16 /* per heartbeat and attempt */

typedef struct logstream {
    uint64_t in;  /* bytes of the file taken */
    uint64_t out; /* bytes sent (masked) */
    int stopped;  /* a line too long to mask in one chunk: no more streaming */
} logstream;

typedef void (*logstream_send_fn)(void *ud, const Weft__Envelope *env);

/* Sends what path gained (see above) as LogChunk messages of attempt attempt_id; final
 * (the attempt has ended): all of it, up to its last byte. */
void logstream_pump(logstream *ls, const char *path, const secret_set *secrets,
                    uint64_t attempt_id, const char *nonce, int final, logstream_send_fn send,
                    void *ud);

#endif
