/* wire: packing and unpacking weft.proto Envelopes, with a size cap on what is accepted. */
#ifndef WEFT_WIRE_H
#define WEFT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "weft.pb-c.h"

#define WIRE_MAX (64u << 20) /* the largest message any weft process accepts */

/* Packs env into a fresh buffer (caller frees with free()). */
uint8_t *wire_pack(const Weft__Envelope *env, size_t *len);
/* Unpacks; NULL when len exceeds WIRE_MAX or the bytes are not an Envelope with a body.
 * Free with weft__envelope__free_unpacked(env, NULL). */
Weft__Envelope *wire_unpack(const uint8_t *data, size_t len);

#endif
