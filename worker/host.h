/* host: the executor's side of the plugin ABI: the task context and the host function table.
 *
 * A host_ctx lives for one task attempt. It holds the inputs (a JSON object), collects the
 * outputs, and records the failure message. Every entry point checks the context's tag first,
 * so a stray pointer from a plugin aborts the executor instead of corrupting it. */
#ifndef WEFT_HOST_H
#define WEFT_HOST_H

#include <jansson.h>

#include "catalog/store.h"
#include "weft/plugin.h"

/* The host function table handed to every plugin's weft_plugin_init. */
const weft_host *host_table(void);

typedef struct host_task {
    const weft_task_type *type; /* borrowed from the loaded plugin */
    const char *plugin;         /* the plugin's name, for messages */
    json_t *inputs;             /* borrowed object; not modified */
    const char *run, *task, *attempt; /* borrowed strings for weft_info */
    const char *workdir;        /* made when the task first asks for it (weft_info, files) */
    int log_fd;                 /* task log; weft_log appends here */
    void *state;                /* what the type's open() stored, or NULL */
    store *store;               /* artifacts: inputs are read and outputs written here;
                                   NULL refuses file inputs and outputs */
    json_t *checkpoint;         /* borrowed: the reference an earlier attempt saved, or NULL */
    size_t inline_max;          /* a file output up to this size goes back inside the result
                                   (host_outcome.blobs), not into the store; 0: none */
    /* Called with each checkpoint's reference once it is in the store. */
    void (*saved)(void *arg, const char *ref_json);
    void *saved_arg;
} host_task;

/* A file output kept out of the store (host_task.inline_max): its hash and content. */
typedef struct host_blob {
    char hex[HASH_HEX_LEN + 1];
    char *data;
    size_t len;
} host_blob;

/* The outcome of one run() call. */
typedef struct host_outcome {
    int status;      /* WEFT_OK, WEFT_RETRY or WEFT_FAIL (after normalisation) */
    char msg[1024];  /* failure message, "" on success */
    json_t *outputs; /* new reference; an object, empty on failure */
    host_blob *blobs; /* on success: the outputs' blobs not in the store */
    size_t nblobs;
    int workdir_made; /* the attempt's scratch directory was made */
} host_outcome;

/* Frees out->blobs. */
void host_outcome_free_blobs(host_outcome *out);

/* Runs t->type->run under a fresh context and fills *out. A return other than the three
 * results becomes WEFT_FAIL; WEFT_OK with a declared output unset becomes WEFT_FAIL with
 * "plugin returned OK but did not set output 'x'"; setting an output the type does not
 * declare fails the attempt whatever run() returns, naming the plugin. Outputs staged
 * with weft_output_path are ingested into the store first. An input artifact that could
 * not be read fails the attempt with the store's reason whatever run() returned. Caller
 * json_decrefs out->outputs. */
void host_run(const host_task *t, host_outcome *out);

/* Calls t->type->open (which must exist) under a context like run()'s, storing what it
 * sets in *state. Returns WEFT_OK, or WEFT_FAIL with the plugin's message in msg. */
int host_open(const host_task *t, void **state, char *msg, size_t msgcap);

/* Sets the flag weft_cancelled reports (async-signal-safe). */
void host_request_cancel(void);
/* Clears it before the next attempt. */
void host_reset_cancel(void);

#endif
