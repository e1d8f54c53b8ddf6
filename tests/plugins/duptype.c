/* A plugin declaring the same task type twice: refused. */
#include <weft/plugin.h>

static int run(weft_ctx *ctx)
{
    (void)ctx;
    return WEFT_OK;
}

static const weft_port none[] = {{.name = NULL}};
static const weft_task_type types[] = {
    {.name = "duptype.a", .version = "1", .inputs = none, .outputs = none, .run = run},
    {.name = "duptype.a", .version = "1", .inputs = none, .outputs = none, .run = run},
    {.name = NULL}};

WEFT_PLUGIN_DECLARE("duptype", "1.0.0", types)
