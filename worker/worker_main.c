/* weft-worker: the worker daemon.
 *
 *   weft-worker [--scheduler ENDPOINT] [--name NAME] [--slots N] [--prefetch N]
 *               [--plugin-path PATH]
 *               [--work-dir DIR] [--store DIR] [--cache-dir DIR] [--cache-size SIZE]
 *               [--heartbeat MS]
 *               [--log-level LEVEL]
 *               [--key FILE --server-key KEY | --insecure] [--pass-env NAME]...
 *               [--secrets-dir DIR] [--secret-env NAME]...
 *               [--cpu CORES] [--mem SIZE] [--gpus N] [--resource NAME=AMOUNT]...
 *               [--label KEY=VALUE]... [--no-cgroups]
 *
 * Defaults: ipc://.weft/scheduler.sock, NAME = host-pid, one slot per core, no attempts
 * queued beyond the slots (--prefetch N: given while every slot is busy, each started as a
 * slot frees, so a slot never waits for a round trip; an attempt with a timeout is never
 * queued), the default
 * plugin path, DIR = a fresh private $TMPDIR/weft-worker-NAME.XXXXXX (mkdtemp, removed at
 * exit; a DIR given must be this user's, not a symlink, and is made 0700), the artifact
 * store at the path the scheduler names in each dispatch when that directory holds the
 * scheduler's store (same machine, or a shared filesystem; --store gives its local mount
 * point), else blobs fetched from and pushed to the scheduler over the connection through
 * a blob cache (--cache-dir, default DIR/cache) of at most --cache-size (10G), a heartbeat
 * every 1000 ms. Over TCP
 * the worker speaks CURVE with its key pair (--key, $WEFT_KEY) and the scheduler's public
 * key (--server-key, $WEFT_SERVER_KEY); --insecure allows plain TCP to a loopback address.
 * `shell` tasks see only PATH, HOME, LANG, LC_ALL, TZ, TMPDIR (and their GPUs) of the
 * worker's environment, and the variables named by --pass-env. A task's secrets are read
 * from --secrets-dir (one file per secret), else from the worker's environment variables
 * --secret-env allows (read at start, then removed), and masked in everything sent back
 * (common/secrets.h).
 * The worker offers its cores, memory and GPUs (CUDA_VISIBLE_DEVICES, else nvidia-smi -L)
 * unless --cpu, --mem or --gpus say otherwise, and any other countable resource --resource
 * names: the scheduler gives it an attempt only when what its running attempts hold leaves
 * room for the task's resources, and only a task whose labels are all among its own. An
 * attempt's GPUs are its own among the worker's, as CUDA_VISIBLE_DEVICES and WEFT_GPUS.
 * An attempt with a mem or cpu budget runs in a cgroup of its own where the worker can make
 * one (worker/cgroup.h), else (or with --no-cgroups) its executor's address space is limited
 * to the mem budget and the cpu budget is not enforced, with a warning at start. */
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"
#include "common/units.h"
#include "common/wire.h"
#include "common/xmem.h"
#include "common/secrets.h"
#include "worker/worker.h"

static void usage(void)
{
    fprintf(stderr, "usage: weft-worker [--scheduler ENDPOINT] [--name NAME] [--slots N] "
                    "[--prefetch N] [--plugin-path PATH] [--work-dir DIR] [--store DIR] "
                    "[--cache-dir DIR] [--cache-size SIZE] "
                    "[--heartbeat MS] "
                    "[--log-level debug|info|warn|error] "
                    "[--key FILE --server-key KEY | --insecure] [--pass-env NAME]... "
                    "[--secrets-dir DIR] [--secret-env NAME]... [--cpu CORES] [--mem SIZE] "
                    "[--gpus N] [--resource NAME=AMOUNT]... [--label KEY=VALUE]... "
                    "[--no-cgroups]\n");
}

static int parse_u32(const char *s, uint64_t max, uint32_t *out)
{
    uint64_t v;
    if (units_uint(s, 1, max, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Adds NAME to WEFT_PASS_ENV, the variables of this worker's environment that `shell`
 * tasks receive (besides PATH, HOME, LANG, LC_ALL, TZ, TMPDIR); executors inherit it. */
static int pass_env(const char *name)
{
    if (!secrets_env_name_ok(name))
        return -1;
    const char *old = getenv("WEFT_PASS_ENV");
    char *list = old && *old ? xasprintf("%s,%s", old, name) : xstrdup(name);
    int rc = setenv("WEFT_PASS_ENV", list, 1);
    free(list);
    return rc;
}

/* --resource NAME=AMOUNT (also --cpu, --mem, --gpus as name and text): into cfg. */
static int add_resource(worker_config *cfg, const char *name, const char *text)
{
    uint64_t amount;
    if (!res_name_ok(name) || res_parse(name, text, &amount) < 0 ||
        res_set(&cfg->capacity, &cfg->ncapacity, name, amount) < 0) {
        fprintf(stderr, "weft-worker: bad resource %s=%s (a lowercase name; cpu in cores to a "
                "thousandth, mem a size, others a whole number; at most %d)\n", name, text,
                RES_MAX);
        return -1;
    }
    return 0;
}

static int add_resource_arg(worker_config *cfg, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= RES_NAME_MAX) {
        fprintf(stderr, "weft-worker: --resource wants NAME=AMOUNT, not '%s'\n", arg);
        return -1;
    }
    char name[RES_NAME_MAX];
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    return add_resource(cfg, name, eq + 1);
}

static int add_label(worker_config *cfg, const char *label)
{
    if (res_label_ok(label) < 0 || cfg->nlabels >= RES_LABELS_MAX) {
        fprintf(stderr, "weft-worker: bad label '%s' (KEY=VALUE: a lowercase key, a value of 1 "
                "to 63 characters without spaces; at most %d)\n", label, RES_LABELS_MAX);
        return -1;
    }
    cfg->labels = xrealloc(cfg->labels, (cfg->nlabels + 1) * sizeof *cfg->labels);
    cfg->labels[cfg->nlabels++] = (char *)label;
    return 0;
}

static void free_given(worker_config *cfg)
{
    res_free(&cfg->capacity, &cfg->ncapacity);
    free(cfg->labels);
}

int main(int argc, char **argv)
{
    worker_config cfg = {.scheduler = "ipc://.weft/scheduler.sock",
                         .heartbeat_ms = 1000};
    int level = LOG_INFO;
    const char **secret_envs = xcalloc((size_t)argc + 1, sizeof *secret_envs);
    size_t nsecret_envs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;
        if (ok && !strcmp(a, "--scheduler"))
            cfg.scheduler = v;
        else if (ok && !strcmp(a, "--name"))
            cfg.name = v;
        else if (ok && !strcmp(a, "--slots"))
            ok = parse_u32(v, WIRE_SLOTS_MAX, &cfg.slots) == 0;
        else if (ok && !strcmp(a, "--prefetch")) {
            uint64_t n;
            ok = units_uint(v, 0, WIRE_PREFETCH_MAX, &n) == 0;
            cfg.prefetch = (uint32_t)n;
        }
        else if (ok && !strcmp(a, "--plugin-path"))
            cfg.plugin_path = v;
        else if (ok && !strcmp(a, "--work-dir"))
            cfg.work_dir = v;
        else if (ok && !strcmp(a, "--store"))
            cfg.store = v;
        else if (ok && !strcmp(a, "--cache-dir"))
            cfg.cache_dir = v;
        else if (ok && !strcmp(a, "--cache-size"))
            ok = units_size_bytes(v, &cfg.cache_bytes) == 0 && cfg.cache_bytes > 0;
        else if (ok && !strcmp(a, "--heartbeat"))
            ok = parse_u32(v, WIRE_HEARTBEAT_MAX_MS, &cfg.heartbeat_ms) == 0 &&
                 cfg.heartbeat_ms >= WIRE_HEARTBEAT_MIN_MS;
        else if (ok && !strcmp(a, "--log-level"))
            ok = (level = log_level_parse(v)) >= 0;
        else if (ok && !strcmp(a, "--key"))
            cfg.key_file = v;
        else if (ok && !strcmp(a, "--server-key"))
            cfg.server_key = v;
        else if (ok && !strcmp(a, "--secrets-dir"))
            cfg.secrets_dir = v;
        else if (ok && !strcmp(a, "--secret-env"))
            secret_envs[nsecret_envs++] = v;
        else if (ok && !strcmp(a, "--pass-env"))
            ok = pass_env(v) == 0;
        else if (ok && (!strcmp(a, "--cpu") || !strcmp(a, "--mem") || !strcmp(a, "--gpus")))
            ok = add_resource(&cfg, !strcmp(a, "--gpus") ? "gpu" : a + 2, v) == 0;
        else if (ok && !strcmp(a, "--resource"))
            ok = add_resource_arg(&cfg, v) == 0;
        else if (ok && !strcmp(a, "--label"))
            ok = add_label(&cfg, v) == 0;
        else if (!strcmp(a, "--insecure")) {
            cfg.insecure = 1;
            continue;
        } else if (!strcmp(a, "--no-cgroups")) {
            cfg.no_cgroups = 1;
            continue;
        } else
            ok = 0;
        if (!ok) {
            usage();
            free(secret_envs);
            free_given(&cfg);
            return 2;
        }
        i++;
    }
    log_init("worker", (enum log_level)level);
    /* Before any executor is started: they must not inherit these variables. */
    secret_set env_secrets;
    char why[300];
    int taken = secrets_from_env(secret_envs, nsecret_envs, &env_secrets, why, sizeof why);
    free(secret_envs);
    if (taken < 0) {
        fprintf(stderr, "weft-worker: %s\n", why);
        free_given(&cfg);
        return 2;
    }
    cfg.env_secrets = &env_secrets;
    umask(FS_DAEMON_UMASK);
    char host[128] = "worker", *name = NULL, *work = NULL, *path = NULL;
    gethostname(host, sizeof host - 1);
    if (!cfg.name)
        cfg.name = name = xasprintf("%s-%d", host, (int)getpid());
    if (!cfg.work_dir) {
        /* A fresh private directory, never a predictable shared path. */
        const char *tmp = getenv("TMPDIR");
        work = xasprintf("%s/weft-worker-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", cfg.name);
        if (!mkdtemp(work)) {
            fprintf(stderr, "weft-worker: cannot create a work directory %s: %s\n", work,
                    strerror(errno));
            free(work);
            free(name);
            secrets_free(&env_secrets);
            free_given(&cfg);
            return 1;
        }
        cfg.work_dir = work;
    }
    if (!cfg.plugin_path)
        cfg.plugin_path = path = fs_default_plugin_path();
    char *executor = fs_sibling_exe("weft-executor");
    cfg.executor = executor;
    worker *w = NULL;
    weft_err err = {0};
    int rc = worker_new(&cfg, &w, &err);
    if (rc == 0)
        rc = worker_run(w, &err);
    if (rc < 0)
        fprintf(stderr, "weft-worker: %s\n", err.msg);
    worker_destroy(&w);
    if (work)
        fs_remove_tree(work);
    free(executor);
    free(name);
    free(work);
    free(path);
    secrets_free(&env_secrets);
    free_given(&cfg);
    return rc < 0 ? 1 : 0;
}
