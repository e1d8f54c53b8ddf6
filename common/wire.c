/* wire: Envelope packing. See wire.h. */
#include "common/wire.h"

#include "common/xmem.h"

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
