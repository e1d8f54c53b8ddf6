/* host: the plugin-facing host functions. See host.h. */
#include "worker/host.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/units.h"
#include "common/wire.h"
#include "common/wtype.h"
#include "common/xmem.h"

#define CTX_TAG 0x77656674u /* "weft" */

struct weft_ctx {
    uint32_t tag;
    const host_task *t;
    json_t *outputs;
    char **borrowed; /* strings handed out as borrowed; freed when run() returns */
    size_t nborrowed, capborrowed;
    int fail_status;
    char msg[1024];
    json_t *staged;     /* output name -> staging path (file and dir outputs) */
    char artifact_error[WEFT_ERR_MSG_MAX + 64]; /* an input artifact that could not be read */
    char violation[512]; /* a breach of the type's declaration (an undeclared output) */
    unsigned nmaterialized;
    int workdir_made;
    host_blob *blobs; /* file outputs kept out of the store (t->inline_max) */
    size_t nblobs, capblobs;
};

static volatile sig_atomic_t cancel_requested;

void host_request_cancel(void)
{
    cancel_requested = 1;
}

void host_reset_cancel(void)
{
    cancel_requested = 0;
}

static weft_ctx *check(weft_ctx *c)
{
    if (!c || c->tag != CTX_TAG) {
        static const char m[] = "weft-executor: plugin passed an invalid weft_ctx\n";
        if (write(2, m, sizeof m - 1) < 0) {
            /* nothing more to do: we abort either way */
        }
        abort();
    }
    return c;
}

static const weft_port *find_port(const weft_port *ports, const char *name)
{
    const weft_port *star = NULL;
    for (size_t i = 0; ports && ports[i].name; i++) {
        if (strcmp(ports[i].name, name) == 0)
            return &ports[i];
        if (strcmp(ports[i].name, "*") == 0)
            star = &ports[i];
    }
    return star;
}

static json_t *input(weft_ctx *c, const char *name)
{
    check(c);
    if (!name)
        return NULL;
    json_t *v = json_object_get(c->t->inputs, name);
    return json_is_null(v) ? NULL : v;
}

static const char *borrow(weft_ctx *c, char *s)
{
    xgrow(&c->borrowed, &c->capborrowed, c->nborrowed + 1, sizeof *c->borrowed);
    c->borrowed[c->nborrowed++] = s;
    return s;
}

static int in_bool(weft_ctx *c, const char *name, int *out)
{
    json_t *v = input(c, name);
    if (!v)
        return WEFT_E_MISSING;
    if (!json_is_boolean(v))
        return WEFT_E_TYPE;
    *out = json_is_true(v);
    return WEFT_OK;
}

static int in_int(weft_ctx *c, const char *name, int64_t *out)
{
    json_t *v = input(c, name);
    if (!v)
        return WEFT_E_MISSING;
    if (!json_is_integer(v))
        return WEFT_E_TYPE;
    *out = (int64_t)json_integer_value(v);
    return WEFT_OK;
}

static int in_float(weft_ctx *c, const char *name, double *out)
{
    json_t *v = input(c, name);
    if (!v)
        return WEFT_E_MISSING;
    if (!json_is_number(v))
        return WEFT_E_TYPE;
    *out = json_number_value(v);
    return WEFT_OK;
}

static int in_string(weft_ctx *c, const char *name, const char **out)
{
    json_t *v = input(c, name);
    if (!v)
        return WEFT_E_MISSING;
    if (!json_is_string(v))
        return WEFT_E_TYPE;
    *out = json_string_value(v);
    return WEFT_OK;
}

static int in_json(weft_ctx *c, const char *name, const char **out)
{
    json_t *v = input(c, name);
    if (!v)
        return WEFT_E_MISSING;
    *out = borrow(c, json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS));
    return WEFT_OK;
}

static int in_duration(weft_ctx *c, const char *name, int64_t *out)
{
    const char *s;
    int rc = in_string(c, name, &s);
    if (rc != WEFT_OK)
        return rc;
    return units_duration_ms(s, out) < 0 ? WEFT_E_TYPE : WEFT_OK;
}

static int in_len(weft_ctx *c, const char *name, size_t *out)
{
    json_t *v = input(c, name);
    if (!v)
        return WEFT_E_MISSING;
    if (!json_is_array(v))
        return WEFT_E_TYPE;
    *out = json_array_size(v);
    return WEFT_OK;
}

static int in_string_at(weft_ctx *c, const char *name, size_t i, const char **out)
{
    json_t *v = input(c, name);
    if (!v)
        return WEFT_E_MISSING;
    if (!json_is_array(v))
        return WEFT_E_TYPE;
    json_t *e = json_array_get(v, i);
    if (!e)
        return WEFT_E_RANGE;
    if (!json_is_string(e))
        return WEFT_E_TYPE;
    *out = json_string_value(e);
    return WEFT_OK;
}

static int in_count(weft_ctx *c, size_t *out)
{
    check(c);
    *out = json_object_size(c->t->inputs);
    return WEFT_OK;
}

static int in_name_at(weft_ctx *c, size_t i, const char **out)
{
    check(c);
    /* jansson iterates in insertion order; the executor inserts inputs sorted by name. */
    size_t k = 0;
    for (void *it = json_object_iter(c->t->inputs); it;
         it = json_object_iter_next(c->t->inputs, it), k++) {
        if (k == i) {
            *out = json_object_iter_key(it);
            return WEFT_OK;
        }
    }
    return WEFT_E_RANGE;
}

/* An output the type does not declare: recorded, so the attempt fails naming the plugin
 * whatever run() then returns. */
static int undeclared(weft_ctx *c, const char *name)
{
    if (!c->violation[0])
        snprintf(c->violation, sizeof c->violation, "plugin '%s' set output '%.100s', which "
                 "task type '%s' does not declare", c->t->plugin ? c->t->plugin : "?", name,
                 c->t->type->name);
    return WEFT_E_UNDECLARED;
}

/* The outputs task t declares beyond its type's ({name: "type"}, the value of the input that
 * takes its outputs:, WEFT_PORT_OUTPUTS), or NULL. */
static const json_t *task_declared(const host_task *t)
{
    for (size_t i = 0; t->type->inputs && t->type->inputs[i].name; i++)
        if (t->type->inputs[i].flags & WEFT_PORT_OUTPUTS) {
            const json_t *d = json_object_get(t->inputs, t->type->inputs[i].name);
            return json_is_object(d) ? d : NULL;
        }
    return NULL;
}

/* The declared type of output name: its port's, or the task's own declaration; NULL. */
static const char *output_type(const host_task *t, const char *name)
{
    const weft_port *p = find_port(t->type->outputs, name);
    return p ? p->type : json_string_value(json_object_get(task_declared(t), name));
}

/* Stores v (a new reference, consumed) as output name after checking the declaration. */
static int put_output(weft_ctx *c, const char *name, json_t *v)
{
    check(c);
    if (!name || !v) {
        json_decref(v);
        return WEFT_E_INVAL;
    }
    const char *type = output_type(c->t, name);
    if (!type) {
        json_decref(v);
        return undeclared(c, name);
    }
    if (json_object_get(c->outputs, name)) {
        json_decref(v);
        return WEFT_E_TWICE;
    }
    wtype ty;
    char why[256];
    if (wtype_parse(type, &ty) < 0 || !wtype_check_json(ty, v, why, sizeof why)) {
        json_decref(v);
        return WEFT_E_TYPE;
    }
    json_object_set_new(c->outputs, name, v);
    return WEFT_OK;
}

static int out_bool(weft_ctx *c, const char *n, int v)
{
    return put_output(c, n, json_boolean(v));
}

static int out_int(weft_ctx *c, const char *n, int64_t v)
{
    return put_output(c, n, json_integer((json_int_t)v));
}

static int out_float(weft_ctx *c, const char *n, double v)
{
    return put_output(c, n, json_real(v));
}

static int out_string(weft_ctx *c, const char *n, const char *v)
{
    return v ? put_output(c, n, json_string(v)) : WEFT_E_INVAL;
}

static int out_json(weft_ctx *c, const char *n, const char *text)
{
    if (!text)
        return WEFT_E_INVAL;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? put_output(c, n, v) : WEFT_E_INVAL;
}

static int vfail(weft_ctx *c, int status, const char *fmt, va_list ap)
{
    check(c);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    c->fail_status = status == WEFT_RETRY ? WEFT_RETRY : WEFT_FAIL;
    return c->fail_status;
}

static void vlog_(weft_ctx *c, const char *fmt, va_list ap)
{
    check(c);
    char line[4096];
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(c->t->log_fd, line, (size_t)n) < 0) {
        /* a task log we cannot write is not a task failure */
    }
}

static void progress(weft_ctx *c, double done, double total)
{
    check(c);
    dprintf(c->t->log_fd, "progress %.0f/%.0f\n", done, total);
}

/* The worker watches the task log: a change of its size or modification time is a sign of
 * life (worker/execproc.c), so a heartbeat touches it. */
static void heartbeat(weft_ctx *c)
{
    check(c);
    futimens(c->t->log_fd, NULL);
}

static int cancelled(weft_ctx *c)
{
    check(c);
    return cancel_requested != 0;
}

/* The attempt's scratch directory, made the first time anything asks for it: a task that
 * never does (noop, a model answering from memory) costs no directory made and removed. */
static const char *workdir(weft_ctx *c)
{
    if (!c->workdir_made && fs_mkdir_p(c->t->workdir, 0755) == 0)
        c->workdir_made = 1;
    return c->t->workdir;
}

static const char *info(weft_ctx *c, const char *key)
{
    check(c);
    if (!key)
        return NULL;
    if (strcmp(key, "run") == 0)
        return c->t->run;
    if (strcmp(key, "task") == 0)
        return c->t->task;
    if (strcmp(key, "attempt") == 0)
        return c->t->attempt;
    if (strcmp(key, "workdir") == 0)
        return workdir(c);
    return NULL;
}

static void *state(weft_ctx *c)
{
    return check(c)->t->state;
}

/* ---- artifacts ---- */

static int materialize(weft_ctx *c, const json_t *ref, const char *what, const char **out)
{
    if (!artref_hash(ref))
        return WEFT_E_TYPE;
    if (!c->t->store) {
        snprintf(c->artifact_error, sizeof c->artifact_error,
                 "%s%sthis executor has no artifact store", what ? what : "", what ? ": " : "");
        return WEFT_E_ARTIFACT;
    }
    /* A file is its blob's own path; a directory is built under dest. */
    char *dest = xasprintf("%s/in/%u", workdir(c), c->nmaterialized++), *path;
    weft_err err = {0};
    int rc = store_materialize(c->t->store, ref, dest, &path, &err);
    free(dest);
    if (rc) {
        snprintf(c->artifact_error, sizeof c->artifact_error, "%s%s%s", what ? what : "",
                 what ? ": " : "", err.msg);
        return WEFT_E_ARTIFACT;
    }
    *out = borrow(c, path);
    return WEFT_OK;
}

static int in_path(weft_ctx *c, const char *name, const char **out)
{
    json_t *v = input(c, name);
    if (!v)
        return WEFT_E_MISSING;
    char what[200];
    snprintf(what, sizeof what, "input '%s'", name);
    return materialize(c, v, what, out);
}

static int in_path_at(weft_ctx *c, const char *name, size_t i, const char **out)
{
    json_t *v = input(c, name);
    if (!v)
        return WEFT_E_MISSING;
    if (!json_is_array(v))
        return WEFT_E_TYPE;
    if (i >= json_array_size(v))
        return WEFT_E_RANGE;
    char what[200];
    snprintf(what, sizeof what, "input '%s'[%zu]", name, i);
    return materialize(c, json_array_get(v, i), what, out);
}

static int artifact_path(weft_ctx *c, const char *ref_json, const char **out)
{
    check(c);
    json_t *ref = ref_json ? json_loads(ref_json, 0, NULL) : NULL;
    if (!ref)
        return WEFT_E_INVAL;
    int rc = materialize(c, ref, NULL, out);
    json_decref(ref);
    return rc;
}

static int out_path(weft_ctx *c, const char *name, const char **out)
{
    check(c);
    if (!name)
        return WEFT_E_INVAL;
    const weft_port *p = find_port(c->t->type->outputs, name);
    wtype ty;
    if (!p)
        return undeclared(c, name);
    if (wtype_parse(p->type, &ty) < 0 || ty.depth > 1 || !wtype_is_artifact(ty) ||
        (ty.depth == 1 && ty.base == WT_DIR))
        return WEFT_E_TYPE;
    if (!c->t->store)
        return WEFT_E_INVAL;
    json_t *have = json_object_get(c->staged, name);
    if (have) {
        *out = json_string_value(have);
        return WEFT_OK;
    }
    char *dir = xasprintf("%s/out", workdir(c));
    char *path = xasprintf("%s/%s", dir, name);
    int rc = fs_mkdir_p(ty.base == WT_DIR || ty.depth ? path : dir, 0755);
    free(dir);
    if (rc < 0) {
        free(path);
        return WEFT_E_INVAL;
    }
    json_object_set_new(c->staged, name, json_string(path));
    free(path);
    *out = json_string_value(json_object_get(c->staged, name));
    return WEFT_OK;
}

static int not_hidden(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Puts the regular file at path as an output's file: kept for the result when it is small
 * enough (t->inline_max) and the result has room, else written to the store. */
static int put_output_file(weft_ctx *c, const char *path, json_t **ref, weft_err *err)
{
    char *data;
    size_t len;
    weft_err small = {0};
    if (c->t->inline_max && c->nblobs < WIRE_INLINE_BLOBS_MAX &&
        store_ref_small_file(path, c->t->inline_max, ref, &data, &len, &small) == 0) {
        xgrow(&c->blobs, &c->capblobs, c->nblobs + 1, sizeof *c->blobs);
        host_blob *b = &c->blobs[c->nblobs++];
        snprintf(b->hex, sizeof b->hex, "%s", json_string_value(json_object_get(*ref,
                                                                                "artifact")));
        b->data = data;
        b->len = len;
        return 0;
    }
    return store_put_path(c->t->store, path, 0, ref, err);
}

/* A list<file> output: each regular file in the staging directory, in name order. */
static int ingest_list(weft_ctx *c, const char *name, const char *dir, json_t **list,
                       char *msg, size_t n)
{
    struct dirent **names;
    int count = scandir(dir, &names, not_hidden, alphasort);
    if (count < 0) {
        snprintf(msg, n, "output '%s': cannot list its staging directory", name);
        return -1;
    }
    *list = json_array();
    int rc = 0;
    for (int i = 0; i < count; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]->d_name);
        json_t *ref;
        weft_err err = {0};
        struct stat st;
        if (rc == 0 && (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))) {
            snprintf(msg, n, "output '%s': '%s' is not a regular file", name, names[i]->d_name);
            rc = -1;
        } else if (rc == 0 && put_output_file(c, path, &ref, &err) != 0) {
            snprintf(msg, n, "output '%s': %s", name, err.msg);
            rc = -1;
        } else if (rc == 0) {
            json_array_append_new(*list, ref);
        }
        free(path);
        free(names[i]);
    }
    free(names);
    if (rc < 0)
        json_decref(*list);
    return rc;
}

/* After run() returned OK: every staged output goes into the store. Returns 0, or a
 * message in msg. */
static int ingest_staged(weft_ctx *c, char *msg, size_t n)
{
    const char *name;
    json_t *pathv;
    json_object_foreach(c->staged, name, pathv) {
        if (json_object_get(c->outputs, name))
            continue;
        const weft_port *p = find_port(c->t->type->outputs, name);
        wtype ty;
        wtype_parse(p->type, &ty);
        json_t *ref;
        weft_err err = {0};
        struct stat st;
        /* The plugin (or the command it ran) filled the staging path; it must not have put
         * a link there, which would store whatever it points at. */
        if (lstat(json_string_value(pathv), &st) == 0 && S_ISLNK(st.st_mode)) {
            snprintf(msg, n, "output '%s': its staging path was replaced by a symbolic link; "
                     "refused", name);
            return -1;
        }
        if (ty.depth == 1) {
            if (ingest_list(c, name, json_string_value(pathv), &ref, msg, n) < 0)
                return -1;
        } else if ((ty.base == WT_DIR ? store_put_path(c->t->store, json_string_value(pathv),
                                                       1, &ref, &err)
                                      : put_output_file(c, json_string_value(pathv), &ref,
                                                        &err)) != 0) {
            snprintf(msg, n, "output '%s': %s", name,
                     err.code == WEFT_ENOTFOUND ? "the plugin wrote nothing at its staging path"
                                                : err.msg);
            return -1;
        }
        json_object_set_new(c->outputs, name, ref);
    }
    return 0;
}

/* ---- checkpoints ---- */

static int checkpoint_save(weft_ctx *c, const char *path)
{
    check(c);
    struct stat st;
    if (!path || stat(path, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        return WEFT_E_INVAL;
    if (!c->t->store)
        return WEFT_E_ARTIFACT;
    json_t *ref;
    weft_err err = {0};
    if (store_put_path(c->t->store, path, S_ISDIR(st.st_mode), &ref, &err) != 0) {
        dprintf(c->t->log_fd, "weft: checkpoint not saved: %s\n", err.msg);
        return WEFT_E_ARTIFACT;
    }
    char *text = json_dumps(ref, JSON_COMPACT);
    if (c->t->saved)
        c->t->saved(c->t->saved_arg, text);
    dprintf(c->t->log_fd, "weft: checkpoint saved (%s)\n",
            json_string_value(json_object_get(ref, "artifact")));
    free(text);
    json_decref(ref);
    return WEFT_OK;
}

/* A checkpoint that cannot be read is no checkpoint: the attempt starts over. */
static int checkpoint_get(weft_ctx *c, const char **out)
{
    check(c);
    if (!c->t->checkpoint || !c->t->store)
        return WEFT_E_MISSING;
    char *dest = xasprintf("%s/checkpoint", workdir(c)), *path;
    weft_err err = {0};
    int rc = store_materialize(c->t->store, c->t->checkpoint, dest, &path, &err);
    free(dest);
    if (rc) {
        dprintf(c->t->log_fd, "weft: the last checkpoint cannot be read (%s); starting over\n",
                err.msg);
        return WEFT_E_MISSING;
    }
    *out = borrow(c, path);
    return WEFT_OK;
}

static const weft_host table = {
    .size = sizeof(weft_host),
    .abi = WEFT_PLUGIN_ABI,
    .input_bool = in_bool,
    .input_int = in_int,
    .input_float = in_float,
    .input_string = in_string,
    .input_json = in_json,
    .input_duration_ms = in_duration,
    .input_len = in_len,
    .input_string_at = in_string_at,
    .input_count = in_count,
    .input_name_at = in_name_at,
    .output_bool = out_bool,
    .output_int = out_int,
    .output_float = out_float,
    .output_string = out_string,
    .output_json = out_json,
    .vfail = vfail,
    .vlog = vlog_,
    .progress = progress,
    .cancelled = cancelled,
    .info = info,
    .state = state,
    .input_path = in_path,
    .input_path_at = in_path_at,
    .artifact_path = artifact_path,
    .output_path = out_path,
    .checkpoint_save = checkpoint_save,
    .checkpoint = checkpoint_get,
    .heartbeat = heartbeat,
};

const weft_host *host_table(void)
{
    return &table;
}

static const char *unset_output(const host_task *t, json_t *outputs)
{
    const weft_task_type *type = t->type;
    for (size_t i = 0; type->outputs && type->outputs[i].name; i++) {
        const weft_port *p = &type->outputs[i];
        if (strcmp(p->name, "*") != 0 && !(p->flags & WEFT_PORT_OPTIONAL) &&
            !json_object_get(outputs, p->name))
            return p->name;
    }
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)task_declared(t), name, v)
        if (!json_object_get(outputs, name))
            return name;
    return NULL;
}

static void release(weft_ctx *c)
{
    json_decref(c->staged);
    for (size_t i = 0; i < c->nborrowed; i++)
        free(c->borrowed[i]);
    free(c->borrowed);
    c->tag = 0;
}

int host_open(const host_task *t, void **state, char *msg, size_t msgcap)
{
    weft_ctx c = {.tag = CTX_TAG, .t = t, .outputs = json_object(), .staged = json_object()};
    int rc = t->type->open(&c, state);
    if (rc != WEFT_OK)
        snprintf(msg, msgcap, "open of task type '%s' failed: %s", t->type->name,
                 c.msg[0] ? c.msg : "no message");
    json_decref(c.outputs);
    release(&c);
    return rc == WEFT_OK ? WEFT_OK : WEFT_FAIL;
}

void host_outcome_free_blobs(host_outcome *out)
{
    for (size_t i = 0; i < out->nblobs; i++)
        free(out->blobs[i].data);
    free(out->blobs);
    out->blobs = NULL;
    out->nblobs = 0;
}

void host_run(const host_task *t, host_outcome *out)
{
    weft_ctx c = {.tag = CTX_TAG, .t = t, .outputs = json_object(), .staged = json_object()};
    int rc = t->type->run(&c);
    memset(out, 0, sizeof *out);
    if (c.violation[0]) {
        rc = WEFT_FAIL;
        snprintf(out->msg, sizeof out->msg, "%s", c.violation);
    } else if (c.artifact_error[0]) {
        /* An input that could not be read: that is the reason, whatever run() made of it. */
        rc = WEFT_FAIL;
        if (c.fail_status && c.msg[0])
            snprintf(out->msg, sizeof out->msg, "%.600s: %.380s", c.msg, c.artifact_error);
        else
            snprintf(out->msg, sizeof out->msg, "%s", c.artifact_error);
    } else if (rc == WEFT_OK) {
        const char *missing = NULL;
        if (ingest_staged(&c, out->msg, sizeof out->msg) < 0)
            rc = WEFT_FAIL;
        else if ((missing = unset_output(t, c.outputs)))
            rc = WEFT_FAIL;
        if (missing) {
            rc = WEFT_FAIL;
            snprintf(out->msg, sizeof out->msg,
                     "plugin returned OK but did not set output '%s'", missing);
        }
    } else if (rc == WEFT_RETRY && c.fail_status == WEFT_RETRY) {
        snprintf(out->msg, sizeof out->msg, "%s", c.msg);
    } else {
        if (c.fail_status)
            snprintf(out->msg, sizeof out->msg, "%s", c.msg);
        else if (rc == WEFT_RETRY)
            snprintf(out->msg, sizeof out->msg, "plugin asked for a retry without a message");
        else if (rc == WEFT_FAIL)
            snprintf(out->msg, sizeof out->msg, "plugin failed without a message");
        else
            snprintf(out->msg, sizeof out->msg, "plugin returned %d (not WEFT_OK, WEFT_RETRY "
                     "or WEFT_FAIL)", rc);
        if (rc != WEFT_RETRY)
            rc = WEFT_FAIL;
    }
    out->status = rc;
    out->workdir_made = c.workdir_made;
    if (rc == WEFT_OK) {
        out->outputs = c.outputs;
        out->blobs = c.blobs;
        out->nblobs = c.nblobs;
    } else {
        json_decref(c.outputs);
        out->outputs = json_object();
        host_outcome tmp = {.blobs = c.blobs, .nblobs = c.nblobs};
        host_outcome_free_blobs(&tmp);
    }
    release(&c);
}
