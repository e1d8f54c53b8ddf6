/* builtin: the task types every weft installation has: noop, sleep, fail, echo, shell.
 *
 * Built-in type names have no plugin prefix. This plugin is an ordinary plugin (loaded by the
 * executor through the same ABI as any other), so it doubles as the reference for authors. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <weft/plugin.h>

#include "plugins/builtin/shell.h"

static int noop_run(weft_ctx *ctx)
{
    (void)ctx;
    return WEFT_OK;
}

static int sleep_run(weft_ctx *ctx)
{
    int64_t ms;
    if (weft_input_duration_ms(ctx, "duration", &ms) != WEFT_OK)
        return weft_fail(ctx, "sleep: input 'duration' must be a duration such as 500ms or 2s");
    while (ms > 0 && !weft_cancelled(ctx)) {
        int64_t step = ms < 50 ? ms : 50;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !weft_cancelled(ctx)) {
        }
        ms -= step;
    }
    return weft_cancelled(ctx) ? weft_fail(ctx, "sleep: cancelled") : WEFT_OK;
}

static int fail_run(weft_ctx *ctx)
{
    const char *cls = "fatal", *msg = "failed on purpose";
    weft_input_string(ctx, "class", &cls);
    weft_input_string(ctx, "message", &msg);
    if (strcmp(cls, "transient") == 0)
        return weft_retry(ctx, "%s", msg);
    if (strcmp(cls, "fatal") != 0)
        return weft_fail(ctx, "fail: unknown class '%s' (use transient or fatal); %s", cls, msg);
    return weft_fail(ctx, "%s", msg);
}

static int echo_run(weft_ctx *ctx)
{
    size_t n;
    weft_input_count(ctx, &n);
    for (size_t i = 0; i < n; i++) {
        const char *name, *json;
        if (weft_input_name_at(ctx, i, &name) != WEFT_OK ||
            weft_input_json(ctx, name, &json) != WEFT_OK)
            return weft_fail(ctx, "echo: cannot read input %zu", i);
        if (weft_output_json(ctx, name, json) != WEFT_OK)
            return weft_fail(ctx, "echo: cannot set output '%s'", name);
    }
    return WEFT_OK;
}

static const weft_port any_in[] = {
    {.name = "*", .type = "any", .flags = WEFT_PORT_OPTIONAL, .doc = "any named inputs"},
    {.name = NULL}};
static const weft_port none[] = {{.name = NULL}};
static const weft_port sleep_in[] = {
    {.name = "duration", .type = "duration", .doc = "how long to sleep: 500ms, 2s, 1m"},
    {.name = NULL}};
static const weft_port fail_in[] = {
    {.name = "class",
     .type = "string",
     .flags = WEFT_PORT_OPTIONAL,
     .doc = "transient or fatal (default fatal)"},
    {.name = "message", .type = "string", .flags = WEFT_PORT_OPTIONAL, .doc = "the error"},
    {.name = NULL}};
static const weft_port echo_out[] = {
    {.name = "*", .type = "any", .doc = "the inputs, under the same names"}, {.name = NULL}};
static const weft_port shell_in[] = {
    {.name = "argv", .type = "list<string>", .doc = "program and arguments (no shell)"},
    {.name = "env",
     .type = "json",
     .flags = WEFT_PORT_OPTIONAL,
     .doc = "object of extra environment variables (an artifact arrives as a local path)"},
    {.name = "cwd", .type = "string", .flags = WEFT_PORT_OPTIONAL, .doc = "working directory"},
    {.name = "stdin", .type = "string", .flags = WEFT_PORT_OPTIONAL, .doc = "text fed to stdin"},
    {.name = "timeout",
     .type = "duration",
     .flags = WEFT_PORT_OPTIONAL,
     .doc = "kill the command after this long (a transient failure)"},
    {.name = "outputs_dir",
     .type = "bool",
     .flags = WEFT_PORT_OPTIONAL,
     .doc = "keep the files the command writes to $WEFT_OUT as the 'files' output"},
    {.name = "stdout",
     .type = "string",
     .flags = WEFT_PORT_OPTIONAL,
     .doc = "text (default); json: an object whose members are the task's outputs:; lines: "
            "its lines are the one list<string> the task declares"},
    {.name = "outputs",
     .type = "json",
     .flags = WEFT_PORT_OPTIONAL | WEFT_PORT_OUTPUTS,
     .doc = "set from the task's outputs: (name: type), made from stdout"},
    {.name = NULL}};
static const weft_port shell_out[] = {
    {.name = "stdout",
     .type = "string",
     .doc = "standard output (first 1 MiB, trailing newlines removed)"},
    {.name = "exit_code", .type = "int", .doc = "exit status (always 0 on success)"},
    {.name = "files",
     .type = "dir",
     .flags = WEFT_PORT_OPTIONAL,
     .doc = "the files left in $WEFT_OUT (with outputs_dir: true)"},
    {.name = NULL}};

static const weft_task_type types[] = {
    {.name = "noop", .version = "1", .inputs = any_in, .outputs = none, .run = noop_run},
    {.name = "sleep", .version = "1", .inputs = sleep_in, .outputs = none, .run = sleep_run},
    {.name = "fail", .version = "1", .inputs = fail_in, .outputs = none, .run = fail_run},
    {.name = "echo", .version = "1", .inputs = any_in, .outputs = echo_out, .run = echo_run},
    {.name = "shell", .version = "2", .inputs = shell_in, .outputs = shell_out, .run = shell_run},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("builtin", "0.1.0", types)
