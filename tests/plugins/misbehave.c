/* A loadable plugin whose task types misbehave in ways the host must catch: an undeclared
 * output, a declared output left unset, and an invalid return value. */
#include <weft/plugin.h>

static int undeclared(weft_ctx *ctx)
{
    if (weft_output_int(ctx, "surprise", 1) != WEFT_E_UNDECLARED)
        return weft_fail(ctx, "host accepted an undeclared output");
    return weft_fail(ctx, "setting undeclared output 'surprise' was refused");
}

static int unset(weft_ctx *ctx)
{
    (void)ctx;
    return WEFT_OK; /* without setting 'value' */
}

static int bogus(weft_ctx *ctx)
{
    (void)ctx;
    return 42;
}

static const weft_port none[] = {{.name = NULL}};
static const weft_port value_out[] = {{.name = "value", .type = "int"}, {.name = NULL}};
static const weft_task_type types[] = {
    {.name = "misbehave.undeclared", .version = "1", .inputs = none, .outputs = none,
     .run = undeclared},
    {.name = "misbehave.unset", .version = "1", .inputs = none, .outputs = value_out,
     .run = unset},
    {.name = "misbehave.bogus", .version = "1", .inputs = none, .outputs = none, .run = bogus},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("misbehave", "1.0.0", types)
