/* ytree: a YAML document as a tree of scalars, sequences and mappings, with positions.
 *
 * Built from libyaml's event parser. Every node carries its 1-based line and column so the
 * compiler can say where a problem is. Refused here, with a positioned error: syntax errors,
 * more than one document, aliases (anchors are harmless, aliases can blow up), non-scalar or
 * duplicate mapping keys, nesting deeper than YTREE_MAX_DEPTH. */
#ifndef WEFT_YTREE_H
#define WEFT_YTREE_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "compiler/diag.h"

#define YTREE_MAX_DEPTH 64

enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP };

typedef struct ynode ynode;
struct ynode {         /* 40 bytes: a workflow file of 100,000 tasks has a million */
    char *text;        /* YN_SCALAR: the value */
    ynode **items;     /* YN_SEQ: n items; YN_MAP: n values */
    ynode **keys;      /* YN_MAP: n keys (scalars) */
    int line, col;
    uint32_t n;        /* YN_SEQ: items; YN_MAP: pairs */
    uint8_t kind;      /* enum ynode_kind */
    uint8_t plain;     /* YN_SCALAR: unquoted (so 3 is an int and true a bool) */
};

/* A parsed document: its nodes, their child arrays and their text live in an arena, freed
 * together (a workflow file of 100,000 tasks is millions of small pieces). */
typedef struct ytree {
    ynode *root;
    arena mem; /* owned */
} ytree;

/* Parses buf (len bytes) into a tree. Returns it (free with ytree_free), or NULL with
 * errors added to d. An empty document is an error. */
ytree *ytree_parse(const char *buf, size_t len, diag *d);
void ytree_free(ytree **t);
/* The value of key in a mapping, or NULL. */
ynode *ytree_get(const ynode *map, const char *key);
/* "mapping", "list" or "scalar", for messages. */
const char *ytree_kind_name(const ynode *n);

#endif
