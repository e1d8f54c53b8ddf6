/* wire: Envelope packing. See wire.h. */
#include "common/wire.h"

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
