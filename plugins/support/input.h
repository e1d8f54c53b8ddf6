/* input: helpers for reading task inputs that the shipped plugins share. */
#ifndef WEFT_PLUGIN_INPUT_H
#define WEFT_PLUGIN_INPUT_H

#include <stddef.h>

#include <weft/plugin.h>

/* The name a file input was submitted under (its artifact reference's "name", such as
 * "steel.mod"), for messages and for telling a format by its extension; fallback when the
 * input has none. Written into buf, which is returned. */
const char *plugin_input_name(weft_ctx *ctx, const char *input, const char *fallback,
                              char *buf, size_t n);

/* A required file input: its local path into *path and its submitted name (fallback: the
 * input's name) into name. WEFT_OK, or WEFT_FAIL after failing the task with
 * "TASK: input 'INPUT' is not a readable file". */
int plugin_input_file(weft_ctx *ctx, const char *task, const char *input, const char **path,
                      char *name, size_t n);

#endif
