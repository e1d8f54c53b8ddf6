/* ytree: a YAML document as a tree of scalars, sequences and mappings, with positions.
 *
 * Built from libyaml's event parser. Every node carries its 1-based line and column so the
 * compiler can say where a problem is. Refused here, with a positioned error: syntax errors,
 * more than one document, aliases (anchors are harmless, aliases can blow up), non-scalar or
 * duplicate mapping keys, nesting deeper than YTREE_MAX_DEPTH. */
#ifndef WEFT_YTREE_H
#define WEFT_YTREE_H

#include <stddef.h>

#include "scheduler/diag.h"

#define YTREE_MAX_DEPTH 64

enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP };

typedef struct ynode ynode;
struct ynode {
    enum ynode_kind kind;
    int line, col;
    char *text;        /* YN_SCALAR: the value */
    int plain;         /* YN_SCALAR: unquoted (so 3 is an int and true a bool) */
    size_t n;          /* YN_SEQ: items; YN_MAP: pairs */
    ynode **items;     /* YN_SEQ: n items; YN_MAP: n values */
    ynode **keys;      /* YN_MAP: n keys (scalars) */
};

/* Parses buf (len bytes) into a tree. Returns the root (free with ytree_free), or NULL with
 * errors added to d. An empty document is an error. */
ynode *ytree_parse(const char *buf, size_t len, diag *d);
void ytree_free(ynode *n);
/* The value of key in a mapping, or NULL. */
ynode *ytree_get(const ynode *map, const char *key);
/* "mapping", "list" or "scalar", for messages. */
const char *ytree_kind_name(const ynode *n);

#endif
