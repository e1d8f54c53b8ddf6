/* wire: Envelope packing. See wire.h. */
#include "common/wire.h"

#include <string.h>

#include "common/xmem.h"

/* Field numbers: Envelope.batch and Batch.items (weft.proto). */
#define ENVELOPE_BATCH_FIELD 24u
#define BATCH_ITEMS_FIELD 1u

Weft__Param **wire_params(char *const *names, char *const *values, size_t n,
                          Weft__Param **storage)
{
    Weft__Param *params = xcalloc(n + 1, sizeof *params);
    Weft__Param **pp = xcalloc(n + 1, sizeof *pp);
    for (size_t i = 0; i < n; i++) {
        weft__param__init(&params[i]);
        params[i].name = names[i];
        params[i].value = values[i];
        pp[i] = &params[i];
    }
    *storage = params;
    return pp;
}

uint8_t *wire_pack(const Weft__Envelope *env, size_t *len)
{
    *len = weft__envelope__get_packed_size(env);
    uint8_t *buf = xmalloc(*len);
    weft__envelope__pack(env, buf);
    return buf;
}

/* Reads a varint at *p (before end); 0 when it is cut off or too long. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* Walks the fields of the message at p (n bytes), calling fn with each length-delimited
 * field's number and bytes while it returns 1. 0 when the bytes are not a message or fn
 * returned 0. */
static int each_field(const uint8_t *p, size_t n,
                      int (*fn)(uint64_t field, const uint8_t *at, size_t len))
{
    const uint8_t *end = p + n;
    while (p < end) {
        uint64_t key, v;
        if (!get_varint(&p, end, &key))
            return 0;
        switch (key & 7) {
        case 0:
            if (!get_varint(&p, end, &v))
                return 0;
            break;
        case 1:
        case 5:
            if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u))
                return 0;
            p += (key & 7) == 1 ? 8 : 4;
            break;
        case 2:
            if (!get_varint(&p, end, &v) || v > (uint64_t)(end - p) || !fn(key >> 3, p, v))
                return 0;
            p += v;
            break;
        default:
            return 0;
        }
    }
    return 1;
}

static int not_a_batch(uint64_t field, const uint8_t *at, size_t len)
{
    (void)at;
    (void)len;
    return field != ENVELOPE_BATCH_FIELD;
}

static int item_not_a_batch(uint64_t field, const uint8_t *at, size_t len)
{
    return field != BATCH_ITEMS_FIELD || each_field(at, len, not_a_batch);
}

static int batch_of_plain_items(uint64_t field, const uint8_t *at, size_t len)
{
    return field != ENVELOPE_BATCH_FIELD || each_field(at, len, item_not_a_batch);
}

static void *arena_piece(void *a, size_t n)
{
    return arena_alloc(a, n);
}

static void arena_keeps(void *a, void *p)
{
    (void)a;
    (void)p;
}

/* Decodes with allocator (NULL: malloc and free). */
static Weft__Envelope *unpack(ProtobufCAllocator *allocator, const uint8_t *data, size_t len)
{
    if (len > WIRE_MAX)
        return NULL;
    /* An Envelope may hold a Batch of Envelopes, which the decoder would follow as deep as
     * the bytes nest (a few bytes a level, past any stack): a Batch inside a Batch is
     * refused before decoding. */
    if (!each_field(data, len, batch_of_plain_items))
        return NULL;
    Weft__Envelope *env = weft__envelope__unpack(allocator, len, data);
    if (env && env->body_case == WEFT__ENVELOPE__BODY__NOT_SET) {
        weft__envelope__free_unpacked(env, allocator);
        return NULL;
    }
    return env;
}

Weft__Envelope *wire_unpack(const uint8_t *data, size_t len)
{
    return unpack(NULL, data, len);
}

Weft__Envelope *wire_unpack_in(arena *a, const uint8_t *data, size_t len)
{
    ProtobufCAllocator in_arena = {arena_piece, arena_keeps, a};
    return unpack(&in_arena, data, len);
}

Weft__Envelope *wire_inbox_take(wire_inbox *in, const uint8_t *data, size_t len)
{
    in->handling++;
    return wire_unpack_in(&in->mem, data, len);
}

void wire_inbox_done(wire_inbox *in)
{
    WEFT_ASSERT(in->handling > 0);
    if (--in->handling == 0)
        arena_reset(&in->mem);
}

void wire_inbox_free(wire_inbox *in)
{
    arena_destroy(&in->mem);
}

/* Protocol Buffers' field keys: (field number << 3) | wire type 2 (length-delimited). */
#define BATCH_ITEMS_KEY ((BATCH_ITEMS_FIELD << 3) | 2u)
#define ENVELOPE_BATCH_KEY ((ENVELOPE_BATCH_FIELD << 3) | 2u)

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

uint8_t *wire_batch(const uint8_t *const *items, const size_t *lens, size_t n, size_t *len)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++)
        body += varint_size(BATCH_ITEMS_KEY) + varint_size(lens[i]) + lens[i];
    *len = varint_size(ENVELOPE_BATCH_KEY) + varint_size(body) + body;
    uint8_t *buf = xmalloc(*len), *p = buf;
    p = put_varint(p, ENVELOPE_BATCH_KEY);
    p = put_varint(p, body);
    for (size_t i = 0; i < n; i++) {
        p = put_varint(p, BATCH_ITEMS_KEY);
        p = put_varint(p, lens[i]);
        memcpy(p, items[i], lens[i]);
        p += lens[i];
    }
    return buf;
}
