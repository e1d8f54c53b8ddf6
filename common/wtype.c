/* wtype: value types. See wtype.h. */
#include "common/wtype.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/units.h"

static const char *const base_names[WT__COUNT] = {
    "any",  "bool", "int",   "float", "string", "bytes",    "file",
    "dir",  "json", "model", "dataset", "duration", "size"};

int wtype_parse(const char *s, wtype *out)
{
    wtype t = {0, 0};
    size_t len = strlen(s);
    while (strncmp(s, "list<", 5) == 0) {
        if (len < 6 || s[len - 1] != '>' || t.depth >= WTYPE_MAX_DEPTH)
            return WEFT_EINVAL;
        t.depth++;
        s += 5;
        len -= 6;
    }
    for (int b = 0; b < WT__COUNT; b++) {
        if (strlen(base_names[b]) == len && strncmp(s, base_names[b], len) == 0) {
            t.base = (uint8_t)b;
            *out = t;
            return 0;
        }
    }
    return WEFT_EINVAL;
}

const char *wtype_format(wtype t, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < t.depth && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "list<");
    if (off < n)
        off += (size_t)snprintf(buf + off, n - off, "%s",
                                t.base < WT__COUNT ? base_names[t.base] : "?");
    for (int i = 0; i < t.depth && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, ">");
    return buf;
}

static int is_file_like(int b)
{
    return b == WT_FILE || b == WT_MODEL || b == WT_DATASET;
}

int wtype_is_artifact(wtype t)
{
    return is_file_like(t.base) || t.base == WT_DIR;
}

/* The "kind" of an artifact reference, or NULL. */
static const char *ref_kind(const json_t *v)
{
    return json_is_object(v) ? json_string_value(json_object_get(v, "kind")) : NULL;
}

int wtype_assignable(wtype dst, wtype src)
{
    if (dst.depth == 0 && (dst.base == WT_ANY || dst.base == WT_JSON))
        return 1;
    if (src.base == WT_ANY && src.depth <= dst.depth)
        return 1;
    if (dst.depth != src.depth)
        return 0;
    if (dst.base == src.base || dst.base == WT_ANY)
        return 1;
    if (dst.base == WT_FLOAT && src.base == WT_INT)
        return 1;
    if (dst.base == WT_STRING && (src.base == WT_DURATION || src.base == WT_SIZE))
        return 1;
    return is_file_like(dst.base) && is_file_like(src.base);
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "list";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "int";
    case JSON_REAL: return "float";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_NULL: return "null";
    }
    return "?";
}

static int mismatch(wtype t, const json_t *v, char *why, size_t n)
{
    char tb[64];
    snprintf(why, n, "expected %s, got %s", wtype_format(t, tb, sizeof tb), json_kind(v));
    return 0;
}

int wtype_check_json(wtype t, const json_t *v, char *why, size_t n)
{
    if (t.depth == 0 && (t.base == WT_ANY || t.base == WT_JSON))
        return 1;
    if (t.depth > 0) {
        if (!json_is_array(v))
            return mismatch(t, v, why, n);
        wtype elem = {t.base, (uint8_t)(t.depth - 1)};
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            char inner[200];
            if (!wtype_check_json(elem, e, inner, sizeof inner)) {
                snprintf(why, n, "element %zu: %s", i, inner);
                return 0;
            }
        }
        return 1;
    }
    switch (t.base) {
    case WT_BOOL:
        return json_is_boolean(v) ? 1 : mismatch(t, v, why, n);
    case WT_INT:
        return json_is_integer(v) ? 1 : mismatch(t, v, why, n);
    case WT_FLOAT:
        return json_is_number(v) ? 1 : mismatch(t, v, why, n);
    case WT_DURATION: {
        int64_t ms;
        if (!json_is_string(v))
            return mismatch(t, v, why, n);
        if (units_duration_ms(json_string_value(v), &ms) < 0) {
            snprintf(why, n, "bad duration '%s' (use a number and a unit: 500ms, 2s, 10m, 1h)",
                     json_string_value(v));
            return 0;
        }
        return 1;
    }
    case WT_SIZE: {
        uint64_t b;
        if (!json_is_string(v) && !json_is_integer(v))
            return mismatch(t, v, why, n);
        if (json_is_string(v) && units_size_bytes(json_string_value(v), &b) < 0) {
            snprintf(why, n, "bad size '%s' (use a number and an optional unit: 512M, 2G)",
                     json_string_value(v));
            return 0;
        }
        return 1;
    }
    case WT_FILE:
    case WT_MODEL:
    case WT_DATASET:
    case WT_DIR: {
        /* Artifacts travel as references: {"artifact": hash, "kind": "file"|"dir", ...}. */
        const char *kind = ref_kind(v), *want = t.base == WT_DIR ? "dir" : "file";
        if (kind && !strcmp(kind, want))
            return 1;
        if (kind && (!strcmp(kind, "file") || !strcmp(kind, "dir"))) {
            snprintf(why, n, "expected a %s artifact, got a %s artifact", want, kind);
            return 0;
        }
        if (json_is_string(v)) {
            snprintf(why, n, "expected %s (an artifact), got a string; a task never receives "
                     "a path, only a file output or a file parameter", want);
            return 0;
        }
        return mismatch(t, v, why, n);
    }
    default: /* string and bytes */
        return json_is_string(v) ? 1 : mismatch(t, v, why, n);
    }
}

wtype wtype_of_json(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return (wtype){WT_STRING, 0};
    case JSON_INTEGER: return (wtype){WT_INT, 0};
    case JSON_REAL: return (wtype){WT_FLOAT, 0};
    case JSON_TRUE:
    case JSON_FALSE: return (wtype){WT_BOOL, 0};
    case JSON_ARRAY: {
        if (json_array_size(v) == 0)
            return (wtype){WT_ANY, 1};
        wtype e = wtype_of_json(json_array_get(v, 0));
        if (e.depth < WTYPE_MAX_DEPTH)
            e.depth++;
        return e;
    }
    default: {
        const char *kind = ref_kind(v);
        if (kind && !strcmp(kind, "file"))
            return (wtype){WT_FILE, 0};
        if (kind && !strcmp(kind, "dir"))
            return (wtype){WT_DIR, 0};
        return (wtype){WT_JSON, 0};
    }
    }
}
