/* transfer: blobs between a worker's cache and the scheduler's store, over the worker's
 * connection, for a worker that does not have the store on its disk.
 *
 * A fetch brings every blob an attempt needs into the cache (a directory's manifest first,
 * then its files); a push sends every blob an attempt made before its result. Blobs move one
 * after another, each in pieces of XFER_PIECE bytes with at most XFER_CREDIT pieces in
 * flight: a transfer of any size holds a few MiB of memory, and other messages (dispatches,
 * heartbeats, results) pass between its pieces. A fetched blob is hashed as it arrives and
 * joins the cache only when it matches; a fetch that stops (a dropped connection, a
 * restarted worker) resumes from what its partial file holds, and a push from what the
 * scheduler says it holds. A transfer that gets no answer for XFER_STALL_MS asks again,
 * and gives up after XFER_GIVE_UP_MS without progress. */
#ifndef WEFT_TRANSFER_H
#define WEFT_TRANSFER_H

#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "weft.pb-c.h"
#include "worker/blobcache.h"

#define XFER_PIECE (256u << 10)
#define XFER_CREDIT 8
#define XFER_STALL_MS 5000
#define XFER_GIVE_UP_MS 120000

typedef struct xfer_ctx xfer_ctx;
typedef struct xfer xfer;
/* rc 0: every blob is where it should be; else why says what went wrong. */
typedef void (*xfer_done_fn)(void *ud, int rc, const char *why);
typedef void (*xfer_send_fn)(void *ud, const Weft__Envelope *env);

xfer_ctx *xfer_ctx_new(bcache *cache, xfer_send_fn send, void *send_ud);
/* Cancels every transfer still going (without calling back). Accepts NULL. */
void xfer_ctx_free(xfer_ctx **xp);

/* Brings every blob the references inside refs name into the cache, held for attempt
 * (bcache_hold). 0 with *out NULL: all were there already; 0 with *out set: done is called
 * when they are (or one cannot be had); or an error (err set). */
int xfer_fetch(xfer_ctx *x, uint64_t attempt, const char *nonce, const json_t *refs,
               xfer_done_fn done, void *ud, xfer **out, weft_err *err);
/* Sends every blob the references inside refs name from the cache to the scheduler; the
 * same contract as xfer_fetch. */
int xfer_push(xfer_ctx *x, uint64_t attempt, const char *nonce, const json_t *refs,
              xfer_done_fn done, void *ud, xfer **out, weft_err *err);
/* Stops t without calling back (a fetch's partial blob stays, to be resumed). */
void xfer_cancel(xfer *t);

/* A BlobReply from the scheduler. */
void xfer_on_reply(xfer_ctx *x, const Weft__BlobReply *r);
/* Called now and then (every heartbeat): transfers without an answer ask again. */
void xfer_tick(xfer_ctx *x, int64_t now_us);

#endif
