/* input: see input.h. */
#include "plugins/support/input.h"

#include <stdio.h>

#include <jansson.h>

const char *plugin_input_name(weft_ctx *ctx, const char *input, const char *fallback,
                              char *buf, size_t n)
{
    const char *text;
    snprintf(buf, n, "%s", fallback);
    if (weft_input_json(ctx, input, &text) != WEFT_OK)
        return buf;
    json_t *ref = json_loads(text, 0, NULL);
    const char *name = json_string_value(json_object_get(ref, "name"));
    if (name && *name)
        snprintf(buf, n, "%s", name);
    json_decref(ref);
    return buf;
}

int plugin_input_file(weft_ctx *ctx, const char *task, const char *input, const char **path,
                      char *name, size_t n)
{
    plugin_input_name(ctx, input, input, name, n);
    if (weft_input_path(ctx, input, path) != WEFT_OK)
        return weft_fail(ctx, "%s: input '%s' is not a readable file", task, input);
    return WEFT_OK;
}
