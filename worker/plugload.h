/* plugload: loading plugins into an executor, and describing them.
 *
 * Only weft-executor calls these: daemons and the CLI never dlopen a plugin; they run
 * `weft-executor --describe PATH` and read the JSON it prints. A plugin is checked before any
 * of its types is used: ABI major and minor, descriptor size, build signature, names,
 * port types, reserved slots, duplicates. A refusal names the plugin and both sides. */
#ifndef WEFT_PLUGLOAD_H
#define WEFT_PLUGLOAD_H

#include <jansson.h>

#include "common/err.h"
#include "weft/plugin.h"

typedef struct plug {
    void *handle;            /* dlopen handle */
    const weft_plugin *desc; /* static descriptor inside the plugin */
    char *path;
} plug;

/* Loads and checks the plugin at path, giving it the host table. On success *out is a new
 * plug (free with plug_unload). On refusal returns WEFT_EPLUGIN with a message such as
 * "plugin 'x.so' was built for weft plugin ABI 2.0; this executor supports ABI 1.0". */
int plug_load(const char *path, const weft_host *host, plug **out, weft_err *err);
/* dlcloses and frees. Accepts NULL; sets *pp to NULL. */
void plug_unload(plug **pp);
/* Finds a task type by name in a loaded plugin; NULL when absent. */
const weft_task_type *plug_find_type(const plug *p, const char *name);

/* Loads every *.so in each directory of a colon-separated path (files named directly are
 * loaded too), and returns the description (caller json_decref):
 *   {"plugins":[{"name","version","path","types":[{"name","version",
 *     "inputs":[{"name","type","optional","doc"}],"outputs":[...]}]}],
 *    "errors":[{"path","message"}]}
 * A type already provided by an earlier plugin refuses the later plugin. Plugins are
 * unloaded before returning. */
json_t *plug_describe_path(const char *path, const weft_host *host);

#endif
