/* weft-scheduler: the scheduler daemon.
 *
 *   weft-scheduler [--state DIR] [--listen ENDPOINT]... [--plugin-path PATH]
 *                  [--log-level LEVEL] [--accept-loss] [--insecure]
 *                  [--attempt-grace DURATION] [--priority-aging DURATION]
 *                  [--max-upload SIZE]
 *                  [--secrets-dir DIR] [--secret-env NAME]...
 *
 * DIR holds catalog.db, logs/ and the scheduler's key pair (default ./.weft). The scheduler
 * binds ipc://DIR/scheduler.sock, for local peers of its own user, and every --listen
 * endpoint; workers and the CLI connect to any of them. TCP endpoints speak CURVE and admit
 * only the keys on the scheduler's list (weft keys); --insecure makes them plain, and is
 * refused unless every TCP endpoint is a loopback address. A catalogue
 * that is damaged or holds less than was committed is refused; --accept-loss starts on
 * what is left (ids continue after the lost ones). An attempt of a task with a timeout that
 * has not ended --attempt-grace (default 30s) after its timeout fails as timeout by the
 * scheduler's own clock, whatever its worker does. A ready task's priority rises by one
 * for every --priority-aging (default 60s) it waits, up to the highest waiting (core.h). A
 * remote client's uploaded file (one
 * blob) may be at most --max-upload (default 16G). The secrets notifications name (webhook
 * signing keys, Slack URLs, SMTP passwords) are read from --secrets-dir, a directory per
 * project (DIR/PROJECT/NAME), or for the default project from the environment variables
 * --secret-env allows (read at start, then removed; common/secrets.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/secrets.h"
#include "common/units.h"
#include "common/xmem.h"
#include "scheduler/sched.h"

static void usage(void)
{
    fprintf(stderr, "usage: weft-scheduler [--state DIR] [--listen ENDPOINT]... "
                    "[--plugin-path PATH] [--log-level debug|info|warn|error] "
                    "[--accept-loss] [--insecure] [--attempt-grace DURATION] "
                    "[--priority-aging DURATION] "
                    "[--max-upload SIZE] [--secrets-dir DIR] [--secret-env NAME]... "
                    "[--store s3://BUCKET/PREFIX]\n");
}

int main(int argc, char **argv)
{
    const char *state = ".weft", *plugin_path = NULL;
    const char **listen = xcalloc((size_t)argc + 1, sizeof *listen);
    const char **secret_envs = xcalloc((size_t)argc + 1, sizeof *secret_envs);
    const char *secrets_dir = NULL, *store = NULL;
    size_t nlisten = 0, nsecret_envs = 0;
    int level = LOG_INFO, accept_loss = 0, insecure = 0;
    int64_t grace_ms = 0, aging_ms = 0;
    uint64_t max_upload = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--state") && v)
            state = v, i++;
        else if (!strcmp(a, "--listen") && v)
            listen[nlisten++] = v, i++;
        else if (!strcmp(a, "--plugin-path") && v)
            plugin_path = v, i++;
        else if (!strcmp(a, "--secrets-dir") && v)
            secrets_dir = v, i++;
        else if (!strcmp(a, "--store") && v)
            store = v, i++;
        else if (!strcmp(a, "--secret-env") && v)
            secret_envs[nsecret_envs++] = v, i++;
        else if (!strcmp(a, "--log-level") && v && (level = log_level_parse(v)) >= 0)
            i++;
        else if (!strcmp(a, "--accept-loss"))
            accept_loss = 1;
        else if (!strcmp(a, "--insecure"))
            insecure = 1;
        else if (!strcmp(a, "--attempt-grace") && v && units_duration_ms(v, &grace_ms) == 0 &&
                 grace_ms > 0)
            i++;
        else if (!strcmp(a, "--priority-aging") && v &&
                 units_duration_ms(v, &aging_ms) == 0 && aging_ms > 0)
            i++;
        else if (!strcmp(a, "--max-upload") && v && units_size_bytes(v, &max_upload) == 0 &&
                 max_upload > 0)
            i++;
        else {
            usage();
            free(listen);
            free(secret_envs);
            return 2;
        }
    }
    log_init("scheduler", (enum log_level)level);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    secret_set env_secrets;
    char why[300];
    int taken = secrets_from_env(secret_envs, nsecret_envs, &env_secrets, why, sizeof why);
    free(secret_envs);
    if (taken < 0) {
        fprintf(stderr, "weft-scheduler: %s\n", why);
        free(listen);
        return 2;
    }
    umask(FS_DAEMON_UMASK);
    char *ipc = xasprintf("ipc://%s/scheduler.sock", state);
    int have = 0;
    for (size_t i = 0; i < nlisten; i++)
        have |= !strcmp(listen[i], ipc);
    if (!have)
        listen[nlisten++] = ipc;
    char *default_path = plugin_path ? NULL : fs_default_plugin_path();
    char *executor = fs_sibling_exe("weft-executor");
    sched_config cfg = {.state_dir = state, .listen = listen, .nlisten = nlisten,
                        .plugin_path = plugin_path ? plugin_path : default_path,
                        .executor = executor, .accept_loss = accept_loss,
                        .insecure = insecure, .attempt_grace_ms = grace_ms,
                        .priority_aging_ms = aging_ms,
                        .max_upload = max_upload, .secrets_dir = secrets_dir, .store = store,
                        .env_secrets = &env_secrets};
    sched *s = NULL;
    weft_err err = {0};
    int rc = sched_new(&cfg, &s, &err);
    if (rc < 0)
        fprintf(stderr, "weft-scheduler: %s\n", err.msg);
    else
        sched_run(s);
    sched_destroy(&s);
    secrets_free(&env_secrets);
    curl_global_cleanup();
    free(executor);
    free(default_path);
    free(ipc);
    free(listen);
    return rc < 0 ? 1 : 0;
}
