/* A plugin that claims a future ABI major: every executor must refuse it. */
#include <weft/plugin.h>

static int run(weft_ctx *ctx)
{
    (void)ctx;
    return WEFT_OK;
}

static const weft_port none[] = {{.name = NULL}};
static const weft_task_type types[] = {
    {.name = "badabi.task", .version = "1", .inputs = none, .outputs = none, .run = run},
    {.name = NULL}};

const weft_host *weft__host;
WEFT_EXPORT const weft_plugin *weft_plugin_init(const weft_host *host);
WEFT_EXPORT const weft_plugin *weft_plugin_init(const weft_host *host)
{
    static const weft_plugin desc = {(2 << 16) | 0, sizeof(weft_plugin), "badabi", "1.0.0",
                                     WEFT_BUILD_SIG, types};
    weft__host = host;
    return &desc;
}
