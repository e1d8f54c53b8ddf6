/* weft/plugin.h: the plugin ABI, the one public header of weft.
 *
 * A plugin is a shared object exporting one function, weft_plugin_init, which returns a
 * static descriptor: the ABI it was built against, its name and version, and its task types.
 * Each task type declares typed inputs and outputs (so workflows are checked before anything
 * runs) and a run() function. run() reads inputs and writes outputs only through the opaque
 * context, and returns WEFT_OK, WEFT_RETRY (a transient failure: retry may help) or WEFT_FAIL
 * (fatal: do not retry). Anything else counts as fatal.
 *
 * A plugin never touches sockets, the catalogue or engine state. It runs inside an executor
 * process; a crash or hang kills only that executor.
 *
 * Within a major version this header only grows: fields and host functions are appended.
 *
 * Minimal plugin:
 *
 *     #include <weft/plugin.h>
 *     static int hello_run(weft_ctx *ctx) {
 *         const char *who;
 *         if (weft_input_string(ctx, "who", &who) != WEFT_OK)
 *             return weft_fail(ctx, "input 'who' missing");
 *         return weft_output_string(ctx, "greeting", who) == WEFT_OK ? WEFT_OK : WEFT_FAIL;
 *     }
 *     static const weft_port hello_in[] = {{"who", "string", 0, "whom to greet"}, {NULL}};
 *     static const weft_port hello_out[] = {{"greeting", "string", 0, NULL}, {NULL}};
 *     static const weft_task_type types[] = {
 *         {"hello.greet", "1", hello_in, hello_out, hello_run}, {NULL}};
 *     WEFT_PLUGIN_DECLARE("hello", "1.0.0", types)
 */
#ifndef WEFT_PLUGIN_H
#define WEFT_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_PLUGIN_ABI_MAJOR 1 /* bumped when layout or semantics break: refused at load */
#define WEFT_PLUGIN_ABI_MINOR 4 /* bumped when fields or host functions are appended */
#define WEFT_PLUGIN_ABI ((WEFT_PLUGIN_ABI_MAJOR << 16) | WEFT_PLUGIN_ABI_MINOR)

/* The build signature: a plugin built for another data model or libc is refused. */
#if defined(__LP64__)
#define WEFT_BUILD_SIG_DM "lp64"
#else
#define WEFT_BUILD_SIG_DM "ilp32"
#endif
#if defined(__GLIBC__)
#define WEFT_BUILD_SIG WEFT_BUILD_SIG_DM ";glibc"
#else
#define WEFT_BUILD_SIG WEFT_BUILD_SIG_DM ";libc"
#endif

/* run() results. Nothing else is a valid return. */
enum { WEFT_OK = 0, WEFT_RETRY = 1, WEFT_FAIL = 2 };

/* Status of input getters and output setters (negative; WEFT_OK on success). */
enum {
    WEFT_E_MISSING = -1,    /* no such input, or an optional input that was not given */
    WEFT_E_TYPE = -2,       /* the value is not of the requested C type */
    WEFT_E_RANGE = -3,      /* list index out of range */
    WEFT_E_UNDECLARED = -4, /* output not declared by the task type */
    WEFT_E_TWICE = -5,      /* output set twice */
    WEFT_E_INVAL = -6,      /* malformed argument (bad JSON text, NULL name) */
    WEFT_E_ARTIFACT = -7    /* an artifact could not be read (missing, or its content no
                               longer matches its hash); the host records why and fails
                               the task with that reason whatever run() returns */
};

/* Port flags. */
#define WEFT_PORT_OPTIONAL 0x1u /* an input that may be omitted */
/* (ABI 1.4) On an input of type json: the compiler fills it from the task's `outputs:`
 * ({name: "type"}), and those names become outputs of the task, typed and required like
 * declared ones. The input cannot be given in `with:`. shell's `outputs` input is one. */
#define WEFT_PORT_OUTPUTS 0x2u

/* One declared input or output. A port named "*" accepts any other names (inputs) or mirrors
 * the inputs' names (outputs), as the built-in echo does. */
typedef struct weft_port {
    const char *name; /* "shard"; [a-z0-9_]+ or "*" */
    const char *type; /* type grammar: "int", "file", "list<float>" */
    unsigned flags;   /* WEFT_PORT_* */
    const char *doc;  /* one line for `weft plugins`; may be NULL */
} weft_port;

typedef struct weft_ctx weft_ctx; /* opaque, owned by the host, valid during run() */

typedef struct weft_task_type {
    const char *name;                  /* "embed.encode"; built-ins have no prefix */
    const char *version;               /* enters the cache key; bump when results change */
    const weft_port *inputs, *outputs; /* arrays ended by { NULL } */
    int (*run)(weft_ctx *ctx);         /* required */
    int (*open)(weft_ctx *ctx, void **state); /* optional, once per executor (load a model) */
    void (*close)(void *state);               /* optional */
    void *reserved[4];                        /* must be NULL */
} weft_task_type;

typedef struct weft_plugin {
    uint32_t abi;                /* WEFT_PLUGIN_ABI at build time */
    uint32_t size;               /* sizeof(weft_plugin) at build time */
    const char *name, *version;  /* "embed", "1.4.0" */
    const char *build;           /* WEFT_BUILD_SIG at build time */
    const weft_task_type *types; /* ended by { NULL } */
} weft_plugin;

/* The host's function table, passed to weft_plugin_init. size comes first; functions are
 * only appended. Strings and JSON returned by getters are borrowed until run() returns;
 * setters copy their arguments. Plugins call these through the inline wrappers below. */
typedef struct weft_host {
    uint32_t size;
    uint32_t abi;
    int (*input_bool)(weft_ctx *ctx, const char *name, int *out);
    int (*input_int)(weft_ctx *ctx, const char *name, int64_t *out);
    int (*input_float)(weft_ctx *ctx, const char *name, double *out);
    int (*input_string)(weft_ctx *ctx, const char *name, const char **out);
    int (*input_json)(weft_ctx *ctx, const char *name, const char **out);
    int (*input_duration_ms)(weft_ctx *ctx, const char *name, int64_t *out);
    int (*input_len)(weft_ctx *ctx, const char *name, size_t *out);
    int (*input_string_at)(weft_ctx *ctx, const char *name, size_t i, const char **out);
    int (*input_count)(weft_ctx *ctx, size_t *out);
    int (*input_name_at)(weft_ctx *ctx, size_t i, const char **out);
    int (*output_bool)(weft_ctx *ctx, const char *name, int v);
    int (*output_int)(weft_ctx *ctx, const char *name, int64_t v);
    int (*output_float)(weft_ctx *ctx, const char *name, double v);
    int (*output_string)(weft_ctx *ctx, const char *name, const char *v);
    int (*output_json)(weft_ctx *ctx, const char *name, const char *json_text);
    int (*vfail)(weft_ctx *ctx, int status, const char *fmt, va_list ap);
    void (*vlog)(weft_ctx *ctx, const char *fmt, va_list ap);
    void (*progress)(weft_ctx *ctx, double done, double total);
    int (*cancelled)(weft_ctx *ctx);
    const char *(*info)(weft_ctx *ctx, const char *key); /* "run" "task" "attempt" "workdir" */
    void *(*state)(weft_ctx *ctx); /* what open() stored, or NULL */
    /* ABI 1.1 */
    int (*input_path)(weft_ctx *ctx, const char *name, const char **out);
    int (*input_path_at)(weft_ctx *ctx, const char *name, size_t i, const char **out);
    int (*artifact_path)(weft_ctx *ctx, const char *ref_json, const char **out);
    int (*output_path)(weft_ctx *ctx, const char *name, const char **out);
    /* ABI 1.2 */
    int (*checkpoint_save)(weft_ctx *ctx, const char *path);
    int (*checkpoint)(weft_ctx *ctx, const char **out);
    /* ABI 1.3 */
    void (*heartbeat)(weft_ctx *ctx);
} weft_host;

/* Nonzero when the host's table has member f (a host of an older minor version lacks the
 * functions appended after it). */
#define WEFT_HOST_HAS(f) (offsetof(weft_host, f) < weft__host->size)

#if defined(__GNUC__)
#define WEFT_EXPORT __attribute__((visibility("default")))
#define WEFT_PRINTF(a, b) __attribute__((format(__printf__, a, b)))
#else
#define WEFT_EXPORT
#define WEFT_PRINTF(a, b)
#endif

/* The one symbol a plugin exports. */
typedef const weft_plugin *(*weft_plugin_init_fn)(const weft_host *host);
#define WEFT_PLUGIN_INIT_SYMBOL "weft_plugin_init"

/* Defines weft_plugin_init: saves the host table (like SQLITE_EXTENSION_INIT2) and returns a
 * static descriptor. Use once per plugin, at file scope, after the types array. */
#define WEFT_PLUGIN_DECLARE(pname, pversion, ptypes)                                    \
    const weft_host *weft__host;                                                        \
    WEFT_EXPORT const weft_plugin *weft_plugin_init(const weft_host *host);             \
    WEFT_EXPORT const weft_plugin *weft_plugin_init(const weft_host *host)              \
    {                                                                                   \
        static const weft_plugin desc = {WEFT_PLUGIN_ABI, sizeof(weft_plugin), pname,   \
                                         pversion, WEFT_BUILD_SIG, ptypes};             \
        weft__host = host;                                                              \
        return &desc;                                                                   \
    }

/* The host table saved by WEFT_PLUGIN_DECLARE; hidden, one per plugin. */
#if defined(__GNUC__)
extern const weft_host *weft__host __attribute__((visibility("hidden")));
#else
extern const weft_host *weft__host;
#endif

static inline int weft_input_bool(weft_ctx *c, const char *n, int *o)
{ return weft__host->input_bool(c, n, o); }
static inline int weft_input_int(weft_ctx *c, const char *n, int64_t *o)
{ return weft__host->input_int(c, n, o); }
static inline int weft_input_float(weft_ctx *c, const char *n, double *o)
{ return weft__host->input_float(c, n, o); }
static inline int weft_input_string(weft_ctx *c, const char *n, const char **o)
{ return weft__host->input_string(c, n, o); }
/* Any input as JSON text (works for every type). */
static inline int weft_input_json(weft_ctx *c, const char *n, const char **o)
{ return weft__host->input_json(c, n, o); }
/* A duration input ("2s") in milliseconds. */
static inline int weft_input_duration_ms(weft_ctx *c, const char *n, int64_t *o)
{ return weft__host->input_duration_ms(c, n, o); }
/* The length of a list input. */
static inline int weft_input_len(weft_ctx *c, const char *n, size_t *o)
{ return weft__host->input_len(c, n, o); }
static inline int weft_input_string_at(weft_ctx *c, const char *n, size_t i, const char **o)
{ return weft__host->input_string_at(c, n, i, o); }
/* Enumerates the inputs given to this task (in name order). */
static inline int weft_input_count(weft_ctx *c, size_t *o)
{ return weft__host->input_count(c, o); }
static inline int weft_input_name_at(weft_ctx *c, size_t i, const char **o)
{ return weft__host->input_name_at(c, i, o); }

static inline int weft_output_bool(weft_ctx *c, const char *n, int v)
{ return weft__host->output_bool(c, n, v); }
static inline int weft_output_int(weft_ctx *c, const char *n, int64_t v)
{ return weft__host->output_int(c, n, v); }
static inline int weft_output_float(weft_ctx *c, const char *n, double v)
{ return weft__host->output_float(c, n, v); }
static inline int weft_output_string(weft_ctx *c, const char *n, const char *v)
{ return weft__host->output_string(c, n, v); }
/* Sets an output from JSON text (any type; checked against the declaration). */
static inline int weft_output_json(weft_ctx *c, const char *n, const char *json_text)
{ return weft__host->output_json(c, n, json_text); }

/* Files and directories (ABI 1.1). Inputs of type file, model, dataset or dir arrive as
 * artifact references; these return a local, read-only path to the content, which the host
 * has verified against its hash (a directory is built under the attempt's workdir). Paths
 * are borrowed until run() returns. */
static inline int weft_input_path(weft_ctx *c, const char *n, const char **o)
{ return weft__host->input_path(c, n, o); }
/* The i-th element of a list<file> (or list<dir>) input. */
static inline int weft_input_path_at(weft_ctx *c, const char *n, size_t i, const char **o)
{ return weft__host->input_path_at(c, n, i, o); }
/* Any artifact reference given as JSON text (one found inside a json input). */
static inline int weft_artifact_path(weft_ctx *c, const char *ref_json, const char **o)
{ return weft__host->artifact_path(c, ref_json, o); }
/* A staging path for a declared file or dir output: write the file there (or, for dir,
 * fill the directory, which exists already). After run() returns WEFT_OK the host hashes
 * it into the artifact store and sets the output to its reference. For a list<file>
 * output the path is a directory (it exists already): each file written in it becomes one
 * element of the list, in name order ("shard-0001.jsonl", "shard-0002.jsonl"). */
static inline int weft_output_path(weft_ctx *c, const char *n, const char **o)
{ return weft__host->output_path(c, n, o); }

/* Checkpoints (ABI 1.2): a long task saves its progress so that a retry resumes instead of
 * starting over. weft_checkpoint_save stores a file or directory the plugin wrote (under
 * weft_info(ctx, "workdir"), say) in the artifact store and makes it this attempt's
 * checkpoint; each save replaces the last, and the plugin may overwrite its file after the
 * call. When the attempt fails in any way the worker reports (transient, fatal, crash,
 * timeout, cancel), the task's next attempt gets the last checkpoint from weft_checkpoint:
 * a read-only path, or WEFT_E_MISSING on a first attempt, when none was saved, when the
 * worker was lost before reporting, or when the checkpoint no longer reads back. Its content
 * is the plugin's own; the inputs of every attempt of a task are the same. Returns
 * WEFT_E_INVAL when path is neither a file nor a directory, WEFT_E_ARTIFACT when the store
 * refused it (the task log says why), WEFT_E_MISSING from a host older than 1.2. */
static inline int weft_checkpoint_save(weft_ctx *c, const char *path)
{ return WEFT_HOST_HAS(checkpoint_save) ? weft__host->checkpoint_save(c, path) : WEFT_E_MISSING; }
static inline int weft_checkpoint(weft_ctx *c, const char **o)
{ return WEFT_HOST_HAS(checkpoint) ? weft__host->checkpoint(c, o) : WEFT_E_MISSING; }

/* Records a fatal failure message and returns WEFT_FAIL: `return weft_fail(ctx, "...")`. */
static inline int weft_fail(weft_ctx *c, const char *fmt, ...) WEFT_PRINTF(2, 3);
static inline int weft_fail(weft_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = weft__host->vfail(c, WEFT_FAIL, fmt, ap);
    va_end(ap);
    return rc;
}
/* Records a transient failure message and returns WEFT_RETRY. */
static inline int weft_retry(weft_ctx *c, const char *fmt, ...) WEFT_PRINTF(2, 3);
static inline int weft_retry(weft_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = weft__host->vfail(c, WEFT_RETRY, fmt, ap);
    va_end(ap);
    return rc;
}
/* Appends a line to the task log. */
static inline void weft_log(weft_ctx *c, const char *fmt, ...) WEFT_PRINTF(2, 3);
static inline void weft_log(weft_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    weft__host->vlog(c, fmt, ap);
    va_end(ap);
}
/* Reports progress in the task log; counts as a heartbeat. */
static inline void weft_progress(weft_ctx *c, double done, double total)
{ weft__host->progress(c, done, total); }
/* Says the task is alive (ABI 1.3): a task with `heartbeat: 30s` that neither calls this
 * (or weft_progress) nor writes to its log for 30 s is taken for hung and killed, failing as
 * timeout. Cheap: call it from any thread, as often as convenient. A no-op on older hosts. */
static inline void weft_heartbeat(weft_ctx *c)
{ if (WEFT_HOST_HAS(heartbeat)) weft__host->heartbeat(c); }
/* Nonzero once the task should stop (cancel or timeout). Long loops check it. */
static inline int weft_cancelled(weft_ctx *c)
{ return weft__host->cancelled(c); }
/* "run", "task", "attempt" (decimal strings) and "workdir" (scratch directory). */
static inline const char *weft_info(weft_ctx *c, const char *key)
{ return weft__host->info(c, key); }
/* The state pointer open() stored for this task type in this executor, or NULL. */
static inline void *weft_state(weft_ctx *c)
{ return weft__host->state(c); }

#ifdef __cplusplus
}
#endif

#endif
