/* typereg: the task types the compiler checks workflows against.
 *
 * Declarations come from plugin descriptions (the JSON `weft-executor --describe` prints,
 * also carried in worker registrations), never from loading a plugin here. The first
 * declaration of a type name wins; later ones with the same name are ignored. */
#ifndef WEFT_TYPEREG_H
#define WEFT_TYPEREG_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"
#include "common/wtype.h"

typedef struct tt_port {
    char *name; /* or "*" */
    wtype type;
    int optional;
    int task_outputs; /* an input the task's outputs: fills (WEFT_PORT_OUTPUTS) */
    char *doc;
} tt_port;

typedef struct tt_decl {
    char *name, *version;
    char *plugin, *plugin_version, *path;
    tt_port *inputs, *outputs;
    size_t ninputs, noutputs;
    char *entry; /* its plugin entry of a description, as compact JSON (typereg_subset) */
} tt_decl;

typedef struct typereg typereg;

/* The scheduler's own task type: a task of it waits for a person's `weft signal` (the
 * scheduler decides it; no worker runs it). Every registry has it, before any plugin's. */
#define TT_APPROVE "approve"

typereg *typereg_new(void);
void typereg_destroy(typereg **rp);
/* Adds the types of a description. Malformed entries are skipped. Returns the number of
 * types added. */
size_t typereg_add_description(typereg *r, const json_t *desc);
const tt_decl *typereg_find(const typereg *r, const char *name);
/* A plugin description (the shape weft-executor --describe prints) holding only the types
 * named in names, as compact JSON text (each type's part was made when it was added: a run
 * records it, and a one-task run should not pay for formatting it). Caller frees. */
char *typereg_subset(const typereg *r, const char *const *names, size_t n);
/* The port of a declaration by name, falling back to a "*" port; NULL when neither. */
const tt_port *tt_find_port(const tt_port *ports, size_t n, const char *name);
/* The input a task's outputs: fills (WEFT_PORT_OUTPUTS), or NULL when its type has none. */
const tt_port *tt_outputs_port(const tt_decl *d);
/* Comma-separated port names for messages ("argv, env, cwd"). Caller frees. */
char *tt_port_list(const tt_port *ports, size_t n);

#endif
