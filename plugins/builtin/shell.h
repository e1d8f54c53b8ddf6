/* shell: the built-in `shell` task type (argv list, env, cwd, stdin, timeout). */
#ifndef WEFT_BUILTIN_SHELL_H
#define WEFT_BUILTIN_SHELL_H

#include <weft/plugin.h>

int shell_run(weft_ctx *ctx);

#endif
