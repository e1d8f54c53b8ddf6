/* jsontext: JSON values as compact text and back. See jsontext.h. */
#include "common/jsontext.h"

#include <string.h>

#include "common/xmem.h"

char *jsontext_dump(const json_t *v)
{
    if (json_is_object(v) && json_object_size(v) == 0)
        return xstrdup("{}");
    return v ? json_dumps(v, JSON_COMPACT) : NULL;
}

json_t *jsontext_load(const char *text)
{
    if (text && !strcmp(text, "{}"))
        return json_object();
    return text ? json_loads(text, 0, NULL) : NULL;
}
