/* sched: the scheduler daemon's shell around the run state machine.
 *
 * One libuv loop, one ROUTER socket (bound to every listen endpoint) for workers and
 * clients, the catalogue, and the core. Socket messages become core events; core effects
 * become catalogue writes and outgoing messages. Writes of one loop turn are committed
 * together in a uv_prepare handle, and outgoing messages are sent only after that commit,
 * so nothing leaves the scheduler that the catalogue does not already hold.
 *
 * A turn that cannot commit is rolled back: its replies become refusals, its messages to
 * workers are dropped, and the core is set aside. The scheduler is then degraded: it
 * refuses write requests with the reason, serves reads, and probes the catalogue with a
 * small write, with backoff, until one succeeds; then it rebuilds its runs from the
 * catalogue, as after a restart, and workers register again and resend their results. */
#ifndef WEFT_SCHED_H
#define WEFT_SCHED_H

#include <stdint.h>

#include "common/err.h"

typedef struct sched_config {
    const char *state_dir;       /* catalogue and logs */
    const char *const *listen;   /* ZeroMQ endpoints to bind */
    size_t nlisten;
    const char *plugin_path;     /* described at start for type checking; may be NULL */
    const char *executor;        /* weft-executor to run --describe with */
    int accept_loss;             /* start on a catalogue that lost history (see catalog.h) */
    int insecure;                /* plain TCP (every TCP endpoint must be loopback) */
    int64_t attempt_grace_ms;    /* an attempt past its timeout plus this fails (0: 30 s) */
    int64_t priority_aging_ms;   /* a ready task's priority rises by one each (0: 60 s) */
    uint64_t max_upload;         /* the largest blob a client may upload (0: 16 GiB) */
    const char *secrets_dir;     /* secrets notifications name: a file each; NULL: none */
    const char *store;           /* the artifact store (s3://BUCKET/PREFIX); NULL:
                                    STATE/artifacts */
    const struct secret_set *env_secrets; /* or taken from the environment; may be NULL */
} sched_config;

typedef struct sched sched;

/* Opens the catalogue, binds the endpoints and describes the plugin path. Fails with a
 * message when the state directory is locked by another scheduler, an endpoint cannot be
 * bound, or the catalogue cannot be opened, is damaged or lost history. */
int sched_new(const sched_config *cfg, sched **out, weft_err *err);
/* Runs until SIGINT/SIGTERM or a shutdown request. Returns 0. */
int sched_run(sched *s);
void sched_destroy(sched **sp);

#endif
