/* wire: packing and unpacking weft.proto Envelopes, with a size cap on what is accepted. */
#ifndef WEFT_WIRE_H
#define WEFT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "weft.pb-c.h"

#define WIRE_MAX (64u << 20) /* the largest message any weft process accepts */

/* What a worker may claim when it registers; the scheduler refuses anything outside. */
#define WIRE_SLOTS_MAX 1024          /* executors per worker */
#define WIRE_PREFETCH_MAX 1024       /* attempts a worker queues beyond its slots */
#define WIRE_HEARTBEAT_MIN_MS 10     /* heartbeat interval */
#define WIRE_HEARTBEAT_MAX_MS 60000
#define WIRE_TYPES_MAX 4096          /* task types per worker */
#define WIRE_NAME_MAX 128            /* worker name: [A-Za-z0-9._-], 1 to this many bytes */
#define WIRE_LOG_MAX (1u << 20)      /* a Result's log: the scheduler keeps the last 1 MiB */
#define WIRE_INLINE_BLOBS_MAX 16     /* file outputs inside one Result (Dispatch.inline_max) */
#define WIRE_BATCH_MAX 256           /* messages inside one Batch */
#define WIRE_BATCH_BYTES (1u << 20)  /* a Batch is made up to this size; a larger message
                                        goes alone */

/* names[i] = values[i] pairs as repeated Param fields, borrowing the strings: returns the
 * array of n pointers, *storage the Params (caller frees both). */
Weft__Param **wire_params(char *const *names, char *const *values, size_t n,
                          Weft__Param **storage);
/* Packs env into a fresh buffer (caller frees with free()). */
uint8_t *wire_pack(const Weft__Envelope *env, size_t *len);
/* Whether a message of len bytes may join a Batch that holds n messages of bytes in all
 * (at most WIRE_BATCH_MAX, about WIRE_BATCH_BYTES; a message that size or larger goes
 * alone). */
static inline int wire_batch_fits(size_t n, size_t bytes, size_t len)
{
    return n < WIRE_BATCH_MAX && len < WIRE_BATCH_BYTES && bytes + len <= WIRE_BATCH_BYTES;
}
/* A packed Envelope whose body is a Batch of the n packed Envelopes items[i] (lens[i]
 * bytes each), made without unpacking them (caller frees with free()). */
uint8_t *wire_batch(const uint8_t *const *items, const size_t *lens, size_t n, size_t *len);
/* Unpacks; NULL when len exceeds WIRE_MAX, a Batch holds a Batch (the decoder would follow
 * any depth of them), or the bytes are not an Envelope with a body. Free with
 * weft__envelope__free_unpacked(env, NULL). */
Weft__Envelope *wire_unpack(const uint8_t *data, size_t len);
/* Unpacks as wire_unpack does, into a: the envelope lives until a is reset or destroyed
 * (never pass it to free_unpacked), and its pieces cost no malloc and free each. */
Weft__Envelope *wire_unpack_in(arena *a, const uint8_t *data, size_t len);

/* Where a process decodes the messages it receives: one arena, let go once no message is
 * being handled (a message whose handling leads to another's stays until both are done).
 * Zeroed: empty. */
typedef struct wire_inbox {
    arena mem;
    int handling; /* messages taken and not yet done */
} wire_inbox;

/* Decodes a received message as wire_unpack_in does, into in; every call, whatever it
 * returns, is followed by wire_inbox_done once the message is handled. */
Weft__Envelope *wire_inbox_take(wire_inbox *in, const uint8_t *data, size_t len);
void wire_inbox_done(wire_inbox *in);
void wire_inbox_free(wire_inbox *in);

#endif
