/* worker: the worker daemon. Connects a DEALER socket to the scheduler, registers its task
 * types and slots, heartbeats, and runs each dispatched attempt in one of its long-lived
 * executor processes (one per slot).
 *
 * A crashed executor fails its attempt as `crash` and is replaced; a task past its timeout
 * has its executor killed (SIGTERM, then SIGKILL after a grace period) and fails as
 * `timeout`. The worker itself never loads a plugin. */
#ifndef WEFT_WORKER_H
#define WEFT_WORKER_H

#include <stdint.h>

#include "common/err.h"
#include "common/resource.h"

typedef struct worker_config {
    const char *name;          /* unique per scheduler; a worker key registers its own name
                                  or NAME.SUFFIX */
    const char *scheduler;     /* endpoint to connect to */
    uint32_t slots;            /* executors */
    uint32_t prefetch;         /* attempts queued beyond the slots, started as slots free */
    const char *plugin_path;
    const char *executor;      /* path of weft-executor */
    const char *work_dir;      /* scratch space and attempt logs */
    const char *store;         /* the artifact store directory, when this machine mounts the
                                  scheduler's store elsewhere; NULL: the path it names */
    const char *cache_dir;     /* the blob cache (used when the scheduler's store is not on
                                  this machine); NULL: work_dir/cache */
    uint64_t cache_bytes;      /* its limit; 0: 10 GiB */
    uint32_t heartbeat_ms;
    const char *key_file;      /* CURVE key pair (NULL: $WEFT_KEY) */
    const char *server_key;    /* the scheduler's public key (NULL: $WEFT_SERVER_KEY) */
    int insecure;              /* plain TCP to a loopback scheduler */
    const char *secrets_dir;   /* one file per secret a task may name; NULL: none */
    const struct secret_set *env_secrets; /* secrets taken from the environment (--secret-env,
                                             secrets.h), borrowed; NULL: none */
    res_amount *capacity;      /* given amounts (--cpu, --mem, --gpus, --resource), borrowed;
                                  cpu, mem and gpu not given are detected */
    size_t ncapacity;
    char **labels;             /* "key=value" (--label), borrowed */
    size_t nlabels;
    int no_cgroups;            /* --no-cgroups: budgets by rlimit only (worker/cgroup.h) */
} worker_config;

typedef struct worker worker;

/* Describes the plugin path (logging every refused plugin and going on without it), starts
 * the executors and connects. */
int worker_new(const worker_config *cfg, worker **out, weft_err *err);
/* Runs until SIGINT/SIGTERM, a Shutdown message or a refused registration (then returns
 * WEFT_EINVAL with the scheduler's reason in err); else returns 0. */
int worker_run(worker *w, weft_err *err);
void worker_destroy(worker **wp);

#endif
