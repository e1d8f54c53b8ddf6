/* describe: the plugin description, obtained without loading any plugin in this process.
 *
 * Runs `weft-executor --describe PATH` as a child and parses the JSON it prints (see
 * worker/plugload.h for its shape). Used by the scheduler, the worker and the CLI. */
#ifndef WEFT_DESCRIBE_H
#define WEFT_DESCRIBE_H

#include <jansson.h>

#include "common/err.h"
#include "common/strmap.h"

/* Returns 0 with *out set (caller json_decrefs), or a negative code with a message when
 * the executor cannot run, fails, or prints something that is not a JSON object. */
int describe_plugins(const char *executor, const char *plugin_path, json_t **out,
                     weft_err *err);
/* Logs the errors desc reports, and puts each type it describes into type_plugin as name ->
 * the path of the plugin that provides it (a string the map owns). */
void describe_index(const json_t *desc, strmap *type_plugin);

#endif
