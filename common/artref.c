/* artref: artifact references. See artref.h. */
#include "common/artref.h"

#include <string.h>

int artref_is(const json_t *v)
{
    const char *kind = json_string_value(json_object_get(v, "kind"));
    return json_is_object(v) && kind && (!strcmp(kind, "file") || !strcmp(kind, "dir"));
}

int artref_is_dir(const json_t *v)
{
    return artref_is(v) && !strcmp(json_string_value(json_object_get(v, "kind")), "dir");
}

const char *artref_hash(const json_t *v)
{
    return artref_is(v) ? json_string_value(json_object_get(v, "artifact")) : NULL;
}

json_t *artref_pending(const char *path, int is_dir)
{
    return json_pack("{s:s, s:s}", "kind", is_dir ? "dir" : "file", "path", path);
}

void artref_each(const json_t *v, void (*fn)(void *ud, const json_t *ref), void *ud)
{
    if (artref_is(v)) {
        fn(ud, v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) artref_each(e, fn, ud);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) artref_each(e, fn, ud);
    }
}
