/* cachekey: memoization keys. See cachekey.h. */
#include "compiler/cachekey.h"

#include <stdlib.h>
#include <string.h>

#include "common/artref.h"

json_t *cachekey_inputs(const json_t *v)
{
    const char *hex = artref_hash(v);
    if (hex)
        return json_pack("{s:s}", "artifact", hex);
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) json_array_append_new(out, cachekey_inputs(e));
        return out;
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) json_object_set_new(out, k, cachekey_inputs(e));
        return out;
    }
    return json_deep_copy(v);
}

json_t *cachekey_components(const char *type, const char *version, const char *cache_version,
                            const char *project, const json_t *inputs)
{
    json_t *c = json_pack("{s:s, s:s, s:s, s:o}", "type", type, "version", version,
                          "cache_version", cache_version ? cache_version : "", "inputs",
                          cachekey_inputs(inputs));
    /* "default" adds nothing: keys made before projects existed stay valid. */
    if (project && strcmp(project, "default") != 0)
        json_object_set_new(c, "project", json_string(project));
    return c;
}

void cachekey_of(const json_t *components, char hex[HASH_HEX_LEN + 1])
{
    char *text = json_dumps(components, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    hash_hex(text, strlen(text), hex);
    free(text);
}
