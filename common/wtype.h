/* wtype: the value types of the workflow language and the plugin ABI.
 *
 * Grammar: bool int float string bytes file dir json model dataset duration size any,
 * and list<T> of any of them (nested lists allowed). A type is a base plus a list depth.
 * `any` is internal: an input or output whose type follows from its use (echo, noop).
 * duration and size are strings that must parse as such; model and dataset are named file
 * types. Values travel as JSON; wtype_check_json checks a value against a type. Artifacts
 * (file, model, dataset, dir) travel as reference objects, never as paths. */
#ifndef WEFT_WTYPE_H
#define WEFT_WTYPE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum wtype_base {
    WT_ANY, WT_BOOL, WT_INT, WT_FLOAT, WT_STRING, WT_BYTES, WT_FILE, WT_DIR, WT_JSON,
    WT_MODEL, WT_DATASET, WT_DURATION, WT_SIZE, WT__COUNT
};

typedef struct wtype {
    uint8_t base;  /* enum wtype_base */
    uint8_t depth; /* number of list<> around base */
} wtype;

#define WTYPE_MAX_DEPTH 8

/* Parses a type name. Returns 0 or WEFT_EINVAL for unknown names, bad nesting, or list
 * depth above WTYPE_MAX_DEPTH. */
int wtype_parse(const char *s, wtype *out);
/* Formats a type ("list<int>") into buf; returns buf. */
const char *wtype_format(wtype t, char *buf, size_t n);
/* Whether a value of type src may be passed where dst is declared: equal types, int to
 * float, any on either side, anything to json, and file/model/dataset among themselves. */
int wtype_assignable(wtype dst, wtype src);
/* Whether values of t are artifacts (file, model, dataset, dir): references to the
 * content-addressed store (catalog/store.h), never paths. */
int wtype_is_artifact(wtype t);
/* Whether JSON value v is a valid value of type t. On failure writes the reason
 * ("expected int, got string") into why and returns 0. */
int wtype_check_json(wtype t, const json_t *v, char *why, size_t n);
/* The type of a JSON literal (json object -> json, array -> list of the first element's
 * type, or list<any> when empty). */
wtype wtype_of_json(const json_t *v);

#endif
