/* weft get RUN/TASK[/OUTPUT] [-o PATH]: a task's output, from the local catalogue or a
 * scheduler on another machine.
 *
 * Without OUTPUT, the task's outputs as JSON. An output that is a value prints as JSON; a
 * file or directory is written to PATH (default: its name, in the current directory; an
 * existing path is never overwritten), every blob verified against its hash. From a
 * scheduler, the blobs come over its connection (DownloadRequest) into a private staging
 * store first, then are copied out like local ones. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/store.h"
#include "cli/cli.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/units.h"
#include "common/xmem.h"

typedef struct getter {
    client *cl;       /* a scheduler, or NULL: the local store */
    store *store;     /* the local store, or the staging store */
    uint64_t run;
    const char *task;
    weft_err err;
} getter;

/* Splits RUN/TASK[/OUTPUT] (in place). */
static int parse_spec(char *spec, uint64_t *run, char **task, char **output)
{
    char *slash = strchr(spec, '/');
    if (!slash || slash == spec)
        return -1;
    *slash = '\0';
    *task = slash + 1;
    char *out = strchr(*task, '/');
    *output = NULL;
    if (out) {
        *out = '\0';
        *output = out + 1;
    }
    return units_uint(spec, 1, INT64_MAX, run) < 0 || !**task || (*output && !**output) ? -1 : 0;
}

/* Fetches blob hex from the scheduler into the staging store (verified), unless there. */
static int fetch(void *ud, const char *hex)
{
    getter *g = ud;
    if (store_has(g->store, hex))
        return 0;
    char *part = store_partial_path(g->store, hex);
    int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc = 0;
    hash_ctx h;
    hash_init(&h);
    uint64_t off = 0, size = 1;
    while (fd >= 0 && !rc && off < size) {
        Weft__DownloadRequest rq = WEFT__DOWNLOAD_REQUEST__INIT;
        rq.run_id = g->run;
        rq.task = (char *)g->task;
        rq.hash = (char *)hex;
        rq.offset = off;
        Weft__Envelope env = WEFT__ENVELOPE__INIT, *reply = NULL;
        env.body_case = WEFT__ENVELOPE__BODY_DOWNLOAD;
        env.download = &rq;
        if ((rc = client_call_retry(g->cl, &env, &reply, &g->err)) < 0)
            break;
        const Weft__Reply *r = reply->reply;
        json_t *j = r->code ? NULL : json_loads(r->json, 0, NULL);
        size = (uint64_t)json_integer_value(json_object_get(j, "size"));
        json_decref(j);
        if (r->code)
            rc = err_set(&g->err, r->code, "%s", r->error);
        else if ((!r->data.len && off < size) ||
                 write(fd, r->data.data, r->data.len) != (ssize_t)r->data.len)
            rc = err_set(&g->err, WEFT_EIO, "%s: %s", part,
                         r->data.len ? strerror(errno) : "the blob ended early");
        hash_update(&h, r->data.data, r->data.len);
        off += r->data.len;
        weft__envelope__free_unpacked(reply, NULL);
    }
    if (fd < 0)
        rc = err_set(&g->err, WEFT_EIO, "%s: %s", part, strerror(errno));
    else if (close(fd) < 0 && !rc)
        rc = err_set(&g->err, WEFT_EIO, "%s: %s", part, strerror(errno));
    char got[HASH_HEX_LEN + 1];
    hash_final_hex(&h, got);
    if (!rc && strcmp(got, hex))
        rc = err_set(&g->err, WEFT_ECORRUPT, "blob %.16s... arrived damaged (its hash is "
                     "%.16s...)", hex, got);
    if (!rc)
        rc = store_adopt(g->store, part, hex, &g->err);
    if (rc)
        unlink(part);
    free(part);
    return rc;
}

/* Writes artifact ref to dest. */
static int write_artifact(getter *g, const json_t *ref, const char *dest)
{
    if (g->cl) {
        if (fetch(g, artref_hash(ref)) < 0 ||
            (artref_is_dir(ref) && store_dir_blobs(g->store, ref, fetch, g, &g->err) < 0))
            return -1;
    }
    return store_export(g->store, ref, dest, &g->err) < 0 ? -1 : 0;
}

static int write_json(const json_t *v, const char *path)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    FILE *f = path ? fopen(path, "wx") : stdout;
    int rc = EXIT_OK;
    if (!f) {
        fprintf(stderr, "weft: %s: %s\n", path, strerror(errno));
        rc = EXIT_USAGE;
    } else {
        fprintf(f, "%s\n", text);
        if (path)
            fclose(f);
    }
    free(text);
    return rc;
}

/* The staging store of a remote get: a fresh private directory (caller removes it). */
static char *open_staging(getter *g)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = xasprintf("%s/weft-get.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        err_set(&g->err, WEFT_EIO, "cannot make a staging directory: %s", strerror(errno));
        free(dir);
        return NULL;
    }
    if (store_open(dir, &g->store, &g->err) < 0) {
        fs_remove_tree(dir);
        free(dir);
        return NULL;
    }
    return dir;
}

static int get_artifact(cli_opts *o, source *s, getter *g, const json_t *ref)
{
    const char *name = cli_str(ref, "name");
    const char *dest = o->out ? o->out : *name && !strchr(name, '/') ? name : "artifact";
    if (access(dest, F_OK) == 0) {
        fprintf(stderr, "weft: %s exists; give another path with -o\n", dest);
        return EXIT_USAGE;
    }
    char *staging = NULL, *local = NULL;
    g->cl = source_client(s);
    if (g->cl) {
        staging = open_staging(g);
    } else {
        local = store_location_of_state(o->state);
        store_open(local, &g->store, &g->err);
    }
    int rc = g->store ? write_artifact(g, ref, dest) : -1;
    store_close(&g->store);
    if (staging)
        fs_remove_tree(staging);
    free(staging);
    free(local);
    if (rc < 0)
        return cli_exit_for(&g->err);
    printf("wrote %s (%s, %lld bytes, verified)\n", dest, cli_str(ref, "kind"),
           (long long)json_integer_value(json_object_get(ref, "size")));
    return EXIT_OK;
}

int cmd_get(cli_opts *o)
{
    uint64_t run;
    char *task, *output;
    if (o->nargs != 1 || parse_spec(o->args[0], &run, &task, &output) < 0) {
        fprintf(stderr, "weft: get takes RUN/TASK[/OUTPUT] [-o PATH]\n");
        return EXIT_USAGE;
    }
    source *s = NULL;
    int rc = source_open(o, &s);
    if (rc)
        return rc;
    getter g = {.run = run, .task = task};
    json_t *r = source_query(s, WEFT__QUERY_KIND__QUERY_STATUS, run, task, 0, &g.err);
    const json_t *unit = r ? catalog_run_unit(r, task) : NULL;
    const json_t *outputs = json_object_get(unit, "outputs");
    const json_t *v = outputs && output ? json_object_get(outputs, output) : outputs;
    if (!r) {
        rc = cli_exit_for(&g.err);
    } else if (!outputs || json_is_null(outputs)) {
        fprintf(stderr, "weft: run %llu has no task '%s'%s\n", (unsigned long long)run, task,
                unit ? " with outputs (it has not succeeded)" : "");
        rc = EXIT_USAGE;
    } else if (!v) {
        fprintf(stderr, "weft: task '%s' of run %llu has no output '%s'; its outputs:", task,
                (unsigned long long)run, output);
        const char *k;
        const json_t *x;
        json_object_foreach((json_t *)outputs, k, x)
            fprintf(stderr, " %s", k);
        fprintf(stderr, "\n");
        rc = EXIT_USAGE;
    } else if (artref_hash(v)) {
        rc = get_artifact(o, s, &g, v);
    } else {
        rc = write_json(v, o->out);
    }
    json_decref(r);
    source_close(&s);
    return rc;
}
