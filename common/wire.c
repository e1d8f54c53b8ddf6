/* wire: Envelope packing. See wire.h. */
#include "common/wire.h"

#include <string.h>

#include "common/xmem.h"

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

Weft__Envelope *wire_unpack(const uint8_t *data, size_t len)
{
    if (len > WIRE_MAX)
        return NULL;
    Weft__Envelope *env = weft__envelope__unpack(NULL, len, data);
    if (env && env->body_case == WEFT__ENVELOPE__BODY__NOT_SET) {
        weft__envelope__free_unpacked(env, NULL);
        return NULL;
    }
    return env;
}

/* Protocol Buffers' field keys: (field number << 3) | wire type 2 (length-delimited). */
#define BATCH_ITEMS_KEY ((1u << 3) | 2u)
#define ENVELOPE_BATCH_KEY ((24u << 3) | 2u)

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
