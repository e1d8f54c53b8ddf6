/* weft-scheduler: the scheduler daemon.
 *
 *   weft-scheduler [--state DIR] [--listen ENDPOINT]... [--plugin-path PATH]
 *                  [--log-level LEVEL] [--accept-loss]
 *
 * DIR holds catalog.db and logs/ (default ./.weft). Without --listen the scheduler binds
 * ipc://DIR/scheduler.sock; workers and the CLI connect to any bound endpoint. A catalogue
 * that is damaged or holds less than was committed is refused; --accept-loss starts on
 * what is left (ids continue after the lost ones). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/xmem.h"
#include "scheduler/sched.h"

static void usage(void)
{
    fprintf(stderr, "usage: weft-scheduler [--state DIR] [--listen ENDPOINT]... "
                    "[--plugin-path PATH] [--log-level debug|info|warn|error] "
                    "[--accept-loss]\n");
}

int main(int argc, char **argv)
{
    const char *state = ".weft", *plugin_path = NULL;
    const char **listen = xcalloc((size_t)argc + 1, sizeof *listen);
    size_t nlisten = 0;
    int level = LOG_INFO, accept_loss = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--state") && v)
            state = v, i++;
        else if (!strcmp(a, "--listen") && v)
            listen[nlisten++] = v, i++;
        else if (!strcmp(a, "--plugin-path") && v)
            plugin_path = v, i++;
        else if (!strcmp(a, "--log-level") && v && (level = log_level_parse(v)) >= 0)
            i++;
        else if (!strcmp(a, "--accept-loss"))
            accept_loss = 1;
        else {
            usage();
            free(listen);
            return 2;
        }
    }
    log_init("scheduler", (enum log_level)level);
    char *ipc = NULL;
    if (!nlisten) {
        ipc = xasprintf("ipc://%s/scheduler.sock", state);
        listen[nlisten++] = ipc;
    }
    char *default_path = plugin_path ? NULL : fs_default_plugin_path();
    char *executor = fs_sibling_exe("weft-executor");
    sched_config cfg = {.state_dir = state, .listen = listen, .nlisten = nlisten,
                        .plugin_path = plugin_path ? plugin_path : default_path,
                        .executor = executor, .accept_loss = accept_loss};
    sched *s = NULL;
    weft_err err = {0};
    int rc = sched_new(&cfg, &s, &err);
    if (rc < 0)
        fprintf(stderr, "weft-scheduler: %s\n", err.msg);
    else
        sched_run(s);
    sched_destroy(&s);
    free(executor);
    free(default_path);
    free(ipc);
    free(listen);
    return rc < 0 ? 1 : 0;
}
