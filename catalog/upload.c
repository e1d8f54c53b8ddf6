/* upload: a remote client's files and directories travel to the scheduler before its
 * submit or retry (the scheduler never reads its own disk for a remote client). See
 * upload.h.
 *
 * The scheduler answers a request naming paths it has not received with the list of them.
 * The client then stores each path in a private staging store (the same content-addressed
 * form as the scheduler's: a directory becomes a manifest and its files), sends every blob
 * in chunks of UPLOAD_CHUNK, resuming from what the scheduler says it holds, and sends the
 * request again with each path's reference. A blob the project already holds is not sent
 * again. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/upload.h"
#include "catalog/store.h"
#include "common/fsutil.h"
#include "common/xmem.h"

#define UPLOAD_CHUNK (1u << 20)
#define UPLOAD_ROUNDS 4
#define STALLS_MAX 3

typedef struct uploader {
    client *cl;
    const char *only_under; /* paths the scheduler may ask for (NULL: any) */
    const char *token;      /* the request's bearer token, relayed with every upload */
    Weft__InlineFile **files; /* small files, sent inside the request */
    size_t nfiles, capfiles;
    size_t given;           /* inline files the caller put in the request itself */
    char *stage_dir;        /* the staging store's directory (a mkdtemp template until made) */
    store *stage;
    const char *project;
    json_t *blobs; /* hashes to send (an array of strings) */
    const char *failed; /* the path that could not be staged */
    weft_err err;
} uploader;

/* Sends one request; returns what the scheduler holds of the blob, or -1 (err set). */
static int64_t send_chunk(uploader *u, const char *hex, uint64_t size, uint64_t offset,
                          const void *data, size_t len, int *stored)
{
    Weft__UploadRequest rq = WEFT__UPLOAD_REQUEST__INIT;
    rq.hash = (char *)hex;
    rq.size = size;
    rq.offset = offset;
    rq.data.data = (uint8_t *)data;
    rq.data.len = len;
    rq.project = (char *)u->project;
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_UPLOAD;
    env.upload = &rq;
    env.token = (char *)u->token;
    Weft__Envelope *reply = NULL;
    if (client_call_retry(u->cl, &env, &reply, &u->err) < 0)
        return -1;
    int64_t have = -1;
    if (reply->reply->code) {
        err_set(&u->err, reply->reply->code, "%s", reply->reply->error);
    } else {
        json_t *j = json_loads(reply->reply->json, 0, NULL);
        have = json_integer_value(json_object_get(j, "have"));
        *stored = json_is_true(json_object_get(j, "stored"));
        json_decref(j);
    }
    weft__envelope__free_unpacked(reply, NULL);
    return have;
}

/* Sends blob hex of the staging store, from wherever the scheduler has got to. */
static int send_blob(uploader *u, const char *hex)
{
    char *path;
    if (u->stage->ops->get(u->stage, hex, &path, &u->err) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return err_set(&u->err, WEFT_EIO, "cannot read the staged blob %.16s", hex);
    }
    uint64_t size = (uint64_t)st.st_size;
    char *buf = xmalloc(UPLOAD_CHUNK);
    int stored = 0, stalls = 0;
    int64_t have = send_chunk(u, hex, size, 0, NULL, 0, &stored);
    while (have >= 0 && !stored && stalls < STALLS_MAX) {
        ssize_t r = pread(fd, buf, UPLOAD_CHUNK, (off_t)have);
        if (r < 0 || (r == 0 && (uint64_t)have < size)) {
            err_set(&u->err, WEFT_EIO, "cannot read the staged blob %.16s", hex);
            have = -1;
            break;
        }
        int64_t before = have;
        have = send_chunk(u, hex, size, (uint64_t)have, buf, (size_t)r, &stored);
        stalls = have == before ? stalls + 1 : 0;
    }
    free(buf);
    close(fd);
    if (have >= 0 && !stored)
        return err_set(&u->err, WEFT_EPROTO, "the scheduler does not take blob %.16s", hex);
    return have < 0 ? -1 : 0;
}

static int add_blob(void *ud, const char *hex)
{
    json_array_append_new(((uploader *)ud)->blobs, json_string(hex));
    return 0;
}

/* Stages one path the scheduler asked for; appends its blobs and returns its reference as
 * the request carries it ({"artifact", "kind"}), or NULL (err set). */
/* Whether path may be sent (see only_under); -1 with u->err when not. */
static int allowed(uploader *u, const char *path)
{
    size_t ul = u->only_under ? strlen(u->only_under) : 0;
    if (u->only_under &&
        (!ul || strncmp(path, u->only_under, ul) || path[ul] != '/' || strstr(path, "/../")))
        return err_set(&u->err, WEFT_EINVAL, "a path on the server's machine, not an upload "
                       "(send the file with the request)");
    return 0;
}

/* path as written, made absolute from the working directory. Caller frees. */
static char *absolute(const char *path)
{
    char *cwd = getcwd(NULL, 0);
    char *abs = path[0] == '/' || !cwd ? xstrdup(path) : xasprintf("%s/%s", cwd, path);
    free(cwd);
    return abs;
}

/* Takes a small file into the request itself (InlineFile): 1, or 0 when it is not one
 * (too large, not a regular file, the request full). */
static int take_inline(uploader *u, const char *path)
{
    char *abs = absolute(path), *data = NULL;
    struct stat st;
    size_t len = 0;
    weft_err err = {0};
    int small = u->given + u->nfiles < UPLOAD_INLINE_FILES && stat(abs, &st) == 0 &&
                S_ISREG(st.st_mode) && st.st_size <= (off_t)UPLOAD_INLINE_MAX &&
                fs_read_file(abs, UPLOAD_INLINE_MAX, &data, &len, &err) == 0;
    free(abs);
    if (!small)
        return 0;
    Weft__InlineFile *f = xcalloc(1, sizeof *f);
    weft__inline_file__init(f);
    f->path = xstrdup(path);
    f->data.data = (uint8_t *)data;
    f->data.len = len;
    xgrow(&u->files, &u->capfiles, u->nfiles + 1, sizeof *u->files);
    u->files[u->nfiles++] = f;
    return 1;
}

static json_t *stage_path(uploader *u, const char *path, int is_dir)
{
    if (!u->stage) {
        /* Made for the first path that needs it: small files need none. */
        if (!mkdtemp(u->stage_dir)) {
            err_set(&u->err, WEFT_EIO, "cannot make a staging directory");
            return NULL;
        }
        if (store_open(u->stage_dir, &u->stage, &u->err) < 0) {
            fs_remove_tree(u->stage_dir);
            return NULL;
        }
        u->stage->scratch = 1; /* removed after the upload: nothing needs the disk */
    }
    char *abs = absolute(path);
    json_t *ref = NULL;
    int rc = store_put_path(u->stage, abs, is_dir, &ref, &u->err);
    free(abs);
    if (rc)
        return NULL;
    const char *hex = artref_hash(ref);
    add_blob(u, hex);
    if (is_dir && store_dir_blobs(u->stage, ref, add_blob, u, &u->err) < 0) {
        json_decref(ref);
        return NULL;
    }
    json_t *out = json_pack("{s:s, s:s}", "artifact", hex, "kind", is_dir ? "dir" : "file");
    json_decref(ref);
    return out;
}

/* Uploads what want lists (staging in a store made from the template stage_dir when a
 * path needs one) or takes it inline; fills params (path -> reference JSON). */
static int upload_all(uploader *u, const json_t *want, Weft__Param ***params, size_t *n,
                      char *stage_dir)
{
    u->stage_dir = stage_dir;
    size_t i;
    json_t *w;
    *params = xcalloc(json_array_size(want) + 1, sizeof **params);
    *n = 0;
    json_array_foreach(want, i, w) {
        const char *path = json_string_value(json_object_get(w, "path"));
        int dir = json_is_true(json_object_get(w, "dir"));
        if (path && allowed(u, path) < 0) {
            u->failed = path;
            return -1;
        }
        if (path && !dir && take_inline(u, path))
            continue;
        json_t *ref = path ? stage_path(u, path, dir) : NULL;
        if (!ref) {
            u->failed = path;
            return path ? -1 : err_set(&u->err, WEFT_EPROTO, "a bad list of uploads");
        }
        Weft__Param *p = xcalloc(1, sizeof *p);
        weft__param__init(p);
        p->name = xstrdup(path);
        p->value = json_dumps(ref, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(ref);
        (*params)[(*n)++] = p;
    }
    /* Blobs shared by several paths are sent once (the second ask finds them stored). */
    json_array_foreach(u->blobs, i, w)
        if (send_blob(u, json_string_value(w)) < 0)
            return -1;
    return 0;
}

static void free_params(Weft__Param **params, size_t n)
{
    for (size_t i = 0; params && i < n; i++) {
        free(params[i]->name);
        free(params[i]->value);
        free(params[i]);
    }
    free(params);
}

static void free_file(Weft__InlineFile *f)
{
    free(f->path);
    free(f->data.data);
    free(f);
}

void upload_files_free(Weft__InlineFile **files, size_t n)
{
    for (size_t i = 0; files && i < n; i++)
        free_file(files[i]);
    free(files);
}

/* The inline files a submit or retry request carries, and their count. */
static Weft__InlineFile ***files_of(Weft__Envelope *env, size_t **count)
{
    int submit = env->body_case == WEFT__ENVELOPE__BODY_SUBMIT;
    *count = submit ? &env->submit->n_files : &env->retry->n_files;
    return submit ? &env->submit->files : &env->retry->files;
}

/* Replaces the uploads a submit or retry request carries, and its inline files after the
 * first keep (the caller's own), taking params and files. */
static void set_uploads(Weft__Envelope *env, Weft__Param **params, size_t n,
                        Weft__InlineFile **files, size_t nfiles, size_t keep)
{
    int submit = env->body_case == WEFT__ENVELOPE__BODY_SUBMIT;
    Weft__Param ***field = submit ? &env->submit->uploads : &env->retry->uploads;
    size_t *count = submit ? &env->submit->n_uploads : &env->retry->n_uploads, *fcount;
    Weft__InlineFile ***ffield = files_of(env, &fcount);
    free_params(*field, *count);
    *field = params;
    *count = n;
    Weft__InlineFile **all = keep + nfiles ? xcalloc(keep + nfiles, sizeof *all) : NULL;
    for (size_t i = 0; i < *fcount; i++) {
        if (i < keep)
            all[i] = (*ffield)[i];
        else
            free_file((*ffield)[i]);
    }
    free(*ffield);
    for (size_t i = 0; i < nfiles; i++)
        all[keep + i] = files[i];
    free(files);
    *ffield = all;
    *fcount = keep + nfiles;
}

/* The uploads the reply asks for, or NULL. */
static json_t *asked(const Weft__Envelope *reply)
{
    if (!reply->reply->code || !*reply->reply->json)
        return NULL;
    json_t *j = json_loads(reply->reply->json, 0, NULL);
    if (json_is_array(json_object_get(j, "upload")))
        return j;
    json_decref(j);
    return NULL;
}

/* err, for a path that could not be staged, where the scheduler's message about it says:
 * "FILE:LINE:COL: -p NAME: " + err. */
static void name_where(weft_err *err, const char *path, const char *errors)
{
    char *about = xasprintf("%s is a path on the client's machine", path);
    const char *hit = errors ? strstr(errors, about) : NULL;
    free(about);
    if (!hit)
        return;
    const char *line = hit;
    while (line > errors && line[-1] != '\n')
        line--;
    char *msg = xasprintf("%.*s%s", (int)(hit - line), line, err->msg);
    err_set(err, err->code, "%s", msg);
    free(msg);
}

static int upload_round(client *cl, const char *only_under, const json_t *ask,
                        const char *errors, size_t given, Weft__Envelope *env, weft_err *err)
{
    char tmpl[4096];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/weft-upload.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    uploader u = {.cl = cl, .only_under = only_under, .token = env->token,
                  .blobs = json_array(), .given = given,
                  .project = json_string_value(json_object_get(ask, "project"))};
    Weft__Param **params = NULL;
    size_t n = 0;
    int rc = upload_all(&u, json_object_get(ask, "upload"), &params, &n, tmpl);
    int staged = u.stage != NULL;
    store_close(&u.stage);
    if (staged)
        fs_remove_tree(tmpl);
    json_decref(u.blobs);
    if (rc < 0) {
        *err = u.err;
        if (u.failed)
            name_where(err, u.failed, errors);
        free_params(params, n);
        upload_files_free(u.files, u.nfiles);
        return -1;
    }
    set_uploads(env, params, n, u.files, u.nfiles, given);
    return 0;
}

/* The files in dir (not below it) as the scheduler would ask for them, for the project of
 * the submit env, or NULL when there are none or env is not a submit. */
static json_t *ask_for_dir(const char *dir, const Weft__Envelope *env)
{
    DIR *d = env->body_case == WEFT__ENVELOPE__BODY_SUBMIT ? opendir(dir) : NULL;
    if (!d)
        return NULL;
    json_t *files = json_array();
    struct dirent *e;
    while ((e = readdir(d))) {
        char *path = xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (e->d_name[0] != '.' && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
            json_array_append_new(files, json_pack("{s:s, s:b}", "path", path, "dir", 0));
        free(path);
    }
    closedir(d);
    if (!json_array_size(files)) {
        json_decref(files);
        return NULL;
    }
    const char *project = *env->submit->project ? env->submit->project : "default";
    return json_pack("{s:o, s:s}", "upload", files, "project", project);
}

int upload_call(client *cl, Weft__Envelope *env, const char *only_under,
                Weft__Envelope **reply, weft_err *err)
{
    size_t *nfiles;
    files_of(env, &nfiles);
    size_t given = *nfiles;
    /* Files a gateway was sent go up before the request: the scheduler would ask for them. */
    json_t *ask = only_under && *only_under ? ask_for_dir(only_under, env) : NULL;
    int rc = ask ? upload_round(cl, only_under, ask, NULL, given, env, err) : 0;
    json_decref(ask);
    ask = NULL;
    if (rc == 0)
        rc = client_call_retry(cl, env, reply, err);
    for (int round = 0; rc == 0 && round < UPLOAD_ROUNDS && (ask = asked(*reply)); round++) {
        char *errors = xstrdup((*reply)->reply->error);
        weft__envelope__free_unpacked(*reply, NULL);
        *reply = NULL;
        rc = upload_round(cl, only_under, ask, errors, given, env, err);
        free(errors);
        json_decref(ask);
        ask = NULL;
        if (rc == 0)
            rc = client_call_retry(cl, env, reply, err);
    }
    json_decref(ask);
    set_uploads(env, NULL, 0, NULL, 0, 0);
    return rc;
}
