/* store: the content-addressed artifact store: references and directories, for any
 * backend. See store.h. */
#include "catalog/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/xmem.h"

#define MANIFEST_MAX (64u << 20)
#define DIR_DEPTH_MAX 64

/* ---- any backend ---- */

int store_open(const char *location, store **out, weft_err *err)
{
    return !strncmp(location, "s3://", 5) ? store_s3_open(location, out, err)
                                           : store_local_open(location, out, err);
}

char *store_location_of_state(const char *state_dir)
{
    char *path = xasprintf("%s/store", state_dir), *text = NULL;
    size_t len = 0;
    int rc = fs_read_file(path, 4096, &text, &len, NULL);
    free(path);
    if (rc == 0 && len && !memchr(text, '\0', len)) {
        text[strcspn(text, "\n")] = '\0';
        return text;
    }
    free(text);
    return xasprintf("%s/artifacts", state_dir);
}

int store_record_location(const char *state_dir, const char *location, weft_err *err)
{
    char *path = xasprintf("%s/store", state_dir), *line = xasprintf("%s\n", location);
    int rc = fs_write_file(path, line, strlen(line));
    free(line);
    if (rc < 0)
        err_set(err, WEFT_EIO, "cannot record the store in %s: %s", path, strerror(-rc));
    free(path);
    return rc < 0 ? WEFT_EIO : 0;
}

void store_close(store **sp)
{
    if (sp && *sp) {
        store_release_held(*sp);
        (*sp)->ops->close(*sp);
    }
    if (sp)
        *sp = NULL;
}

void store_hold(store *s, const char *hex, uint64_t size)
{
    if (!s->held)
        s->held = strmap_new();
    strmap_put(s->held, hex, (void *)(uintptr_t)(size + 1));
}

void store_release_held(store *s)
{
    strmap_destroy(&s->held);
}

/* Whether blob hex is held (store_hold), with its size. */
static int held(const store *s, const char *hex, uint64_t *size)
{
    uintptr_t v = s->held ? (uintptr_t)strmap_get(s->held, hex) : 0;
    if (v && size)
        *size = (uint64_t)(v - 1);
    return v != 0;
}

int store_has(store *s, const char *hex)
{
    return hash_hex_valid(hex) && (held(s, hex, NULL) || s->ops->has(s, hex));
}

int store_open_blob(store *s, const char *hex, int *fd, uint64_t *size, weft_err *err)
{
    if (!hash_hex_valid(hex))
        return err_set(err, WEFT_EINVAL, "'%.80s' is not a blob's hash", hex);
    return s->ops->open_blob(s, hex, fd, size, err);
}

int store_adopt(store *s, const char *path, const char *hex, weft_err *err)
{
    if (!hash_hex_valid(hex))
        return err_set(err, WEFT_EINVAL, "artifact store: '%.80s' is not a blob's hash", hex);
    return s->ops->adopt(s, path, hex, err);
}

/* Writes len bytes of data, whose hash is hex, into the store unless it holds them: synced
 * before they are moved into place unless sync is 0. */
static int put_data(store *s, const void *data, size_t len, const char *hex, int sync,
                    weft_err *err)
{
    if (hash_hex_valid(hex) && s->ops->has(s, hex)) /* in the store, not only held */
        return 0;
    static unsigned seq;
    char name[64];
    snprintf(name, sizeof name, "data.%d.%u", (int)getpid(), __atomic_add_fetch(&seq, 1,
                                                                                 __ATOMIC_RELAXED));
    char *tmp = store_partial_path(s, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), rc = 0;
    for (size_t off = 0; fd >= 0 && off < len && !rc;) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno != EINTR)
            rc = -1;
        else if (w > 0)
            off += (size_t)w;
    }
    if (fd < 0 || rc || (sync && fsync(fd) < 0))
        rc = err_set(err, WEFT_EIO, "artifact store %s: cannot write %s: %s", s->location, tmp,
                     strerror(errno));
    if (fd >= 0 && close(fd) < 0 && !rc)
        rc = err_set(err, WEFT_EIO, "artifact store %s: %s", s->location, strerror(errno));
    if (!rc)
        rc = store_adopt(s, tmp, hex, err);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

int store_put_data(store *s, const void *data, size_t len, char hex[HASH_HEX_LEN + 1],
                   weft_err *err)
{
    hash_hex(data, len, hex);
    return put_data(s, data, len, hex, 1, err);
}

int store_put_data_unsynced(store *s, const void *data, size_t len, const char *hex,
                            weft_err *err)
{
    if (!hash_hex_valid(hex))
        return err_set(err, WEFT_EINVAL, "artifact store: '%.80s' is not a blob's hash", hex);
    return put_data(s, data, len, hex, 0, err);
}

int store_sync_blob(store *s, const char *hex, weft_err *err)
{
    int fd;
    uint64_t size;
    int rc = store_open_blob(s, hex, &fd, &size, err);
    if (rc)
        return rc;
    if (fsync(fd) < 0)
        rc = err_set(err, WEFT_EIO, "artifact store %s: cannot sync blob %.16s...: %s",
                     s->location, hex, strerror(errno));
    close(fd);
    return rc;
}

char *store_partial_path(store *s, const char *name)
{
    return xasprintf("%s/tmp/%s", s->root, name);
}

/* ---- references ---- */

/* The last component of path, without trailing slashes: its start and length. */
static const char *base_name(const char *path, size_t *len)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *p = path + n;
    while (p > path && p[-1] != '/')
        p--;
    *len = (size_t)(path + n - p);
    return p;
}

static json_t *make_ref(const char *hex, int is_dir, const char *path, uint64_t size)
{
    size_t len;
    const char *b = base_name(path, &len);
    return json_pack("{s:s, s:s, s:s#, s:I}", "artifact", hex, "kind", is_dir ? "dir" : "file",
                     "name", b, len, "size", (json_int_t)size);
}

/* ---- directories: a manifest of entries ---- */

typedef struct walk {
    store *s;
    json_t *entries;
    uint64_t total;
    weft_err *err;
} walk;

static int walk_dir(walk *w, const char *root, const char *rel, int depth)
{
    if (depth > DIR_DEPTH_MAX)
        return err_set(w->err, WEFT_ELIMIT, "%s: directories nested deeper than %d", root,
                       DIR_DEPTH_MAX);
    char *here = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
    struct dirent **names;
    int n = scandir(here, &names, NULL, alphasort);
    if (n < 0) {
        int e = errno;
        int rc = err_set(w->err, WEFT_EIO, "%s: %s", here, strerror(e));
        free(here);
        return rc;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (rc || !strcmp(nm, ".") || !strcmp(nm, "..")) {
            free(names[i]);
            continue;
        }
        char *sub = *rel ? xasprintf("%s/%s", rel, nm) : xstrdup(nm);
        char *full = xasprintf("%s/%s", here, nm);
        struct stat st;
        if (lstat(full, &st) < 0) {
            rc = err_set(w->err, WEFT_EIO, "%s: %s", full, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            json_array_append_new(w->entries, json_pack("{s:s, s:b}", "path", sub, "dir", 1));
            rc = walk_dir(w, root, sub, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            char hex[HASH_HEX_LEN + 1];
            uint64_t size;
            rc = w->s->ops->put(w->s, full, hex, &size, w->err);
            if (!rc) {
                w->total += size;
                json_array_append_new(w->entries,
                                      json_pack("{s:s, s:s, s:I, s:b}", "path", sub, "hash", hex,
                                                "size", (json_int_t)size, "exec",
                                                (st.st_mode & 0111) != 0));
            }
        } else {
            rc = err_set(w->err, WEFT_EINVAL, "%s: only regular files and directories can be "
                         "stored (not links, devices or sockets)", full);
        }
        free(sub);
        free(full);
        free(names[i]);
    }
    free(names);
    free(here);
    return rc;
}

static int put_dir(store *s, const char *path, json_t **ref, weft_err *err)
{
    walk w = {.s = s, .entries = json_array(), .err = err};
    int rc = walk_dir(&w, path, "", 0);
    if (rc) {
        json_decref(w.entries);
        return rc;
    }
    json_t *manifest = json_pack("{s:i, s:o}", "weft_manifest", 1, "entries", w.entries);
    char *text = json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(manifest);
    char *tmp = xasprintf("%s/tmp/manifest.%d", s->root, (int)getpid());
    rc = fs_write_file(tmp, text, strlen(text));
    free(text);
    char hex[HASH_HEX_LEN + 1];
    if (rc < 0)
        rc = err_set(err, WEFT_EIO, "artifact store %s: %s", s->root, strerror(-rc));
    else
        rc = s->ops->put(s, tmp, hex, NULL, err);
    unlink(tmp);
    free(tmp);
    if (!rc)
        *ref = make_ref(hex, 1, path, w.total);
    return rc;
}

int store_put_path(store *s, const char *path, int is_dir, json_t **ref, weft_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return err_set(err, errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, "%s: %s", path,
                       strerror(errno));
    if (is_dir && !S_ISDIR(st.st_mode))
        return err_set(err, WEFT_EINVAL, "%s: expected a directory", path);
    if (!is_dir && !S_ISREG(st.st_mode))
        return err_set(err, WEFT_EINVAL, "%s: expected a regular file", path);
    if (is_dir)
        return put_dir(s, path, ref, err);
    char hex[HASH_HEX_LEN + 1];
    uint64_t size;
    int rc = s->ops->put(s, path, hex, &size, err);
    if (!rc)
        *ref = make_ref(hex, 0, path, size);
    return rc;
}

int store_ref_small_file(const char *path, size_t max, json_t **ref, char **data, size_t *len,
                         weft_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max)
        return err_set(err, WEFT_ELIMIT, "%s: not a regular file of at most %zu bytes", path,
                       max);
    int rc = fs_read_file(path, max, data, len, err);
    if (rc)
        return rc;
    char hex[HASH_HEX_LEN + 1];
    hash_hex(*data, *len, hex);
    *ref = make_ref(hex, 0, path, *len);
    return 0;
}

/* Reads and parses a directory reference's manifest (verified). New reference. */
static int load_manifest(store *s, const char *hex, json_t **out, weft_err *err)
{
    char *path, *text;
    *out = NULL;
    int rc = s->ops->get(s, hex, &path, err);
    if (rc)
        return rc;
    rc = fs_read_file(path, MANIFEST_MAX, &text, NULL, err);
    free(path);
    if (rc)
        return rc;
    json_t *m = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_array(json_object_get(m, "entries"))) {
        json_decref(m);
        return err_set(err, WEFT_ECORRUPT, "artifact %.16s is not a directory manifest", hex);
    }
    *out = m;
    return 0;
}

int store_dir_entries(store *s, const json_t *ref, json_t **entries, weft_err *err)
{
    json_t *m;
    int rc = load_manifest(s, artref_hash(ref), &m, err);
    if (rc)
        return rc;
    *entries = json_incref(json_object_get(m, "entries"));
    json_decref(m);
    return 0;
}

/* A manifest path is relative, without "..", "." or empty parts. */
static int safe_rel(const char *p)
{
    if (!p || !*p || *p == '/')
        return 0;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (!n || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
        s += n + (e != NULL);
    }
    return 1;
}

static int copy_file(const char *from, const char *to, unsigned mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        int e = errno;
        close(in);
        return -e;
    }
    char hex[HASH_HEX_LEN + 1];
    int rc = store_copy_hash(in, out, hex, NULL);
    close(in);
    if (close(out) < 0 && !rc)
        rc = -errno;
    return rc;
}

/* Builds directory ref at top: its files hard links to the blobs (or read-only copies), or
 * with export, writable copies. */
static int build_dir(store *s, const json_t *ref, const char *top, int export, weft_err *err)
{
    json_t *m;
    int rc = load_manifest(s, artref_hash(ref), &m, err);
    if (rc)
        return rc;
    rc = fs_mkdir_p(top, 0755);
    if (rc < 0)
        rc = err_set(err, WEFT_EIO, "%s: %s", top, strerror(-rc));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(m, "entries"), i, e) {
        const char *rel = json_string_value(json_object_get(e, "path"));
        if (rc)
            break;
        if (!safe_rel(rel)) {
            rc = err_set(err, WEFT_ECORRUPT, "artifact %.16s: manifest entry '%.80s' is not a "
                         "relative path", artref_hash(ref), rel ? rel : "?");
            break;
        }
        char *target = xasprintf("%s/%s", top, rel);
        if (json_is_true(json_object_get(e, "dir"))) {
            if (mkdir(target, 0755) < 0 && errno != EEXIST)
                rc = err_set(err, WEFT_EIO, "%s: %s", target, strerror(errno));
        } else {
            char *blob;
            const char *hex = json_string_value(json_object_get(e, "hash"));
            rc = s->ops->get(s, hex ? hex : "", &blob, err);
            int got = rc == 0, exec = json_is_true(json_object_get(e, "exec"));
            unsigned mode = (exec ? 0555 : 0444) | (export ? 0200 : 0);
            if (!rc && (export || link(blob, target) < 0) &&
                (rc = copy_file(blob, target, mode)) < 0)
                rc = err_set(err, WEFT_EIO, "%s: %s", target, strerror(-rc));
            if (got)
                free(blob);
        }
        free(target);
    }
    json_decref(m);
    return rc;
}

static int materialize_dir(store *s, const json_t *ref, const char *dest, char **out,
                           weft_err *err)
{
    const char *name = json_string_value(json_object_get(ref, "name"));
    char *top = xasprintf("%s/%s", dest, name && safe_rel(name) && !strchr(name, '/') ? name
                                                                                       : "dir");
    int rc = build_dir(s, ref, top, 0, err);
    if (rc)
        free(top);
    else
        *out = top;
    return rc;
}

int store_export(store *s, const json_t *ref, const char *dest, weft_err *err)
{
    const char *hex = artref_hash(ref);
    if (!hex)
        return err_set(err, WEFT_EINVAL, "not an artifact reference");
    if (artref_is_dir(ref)) {
        if (mkdir(dest, 0755) < 0) /* never into what exists */
            return err_set(err, WEFT_EIO, "%s: %s", dest, strerror(errno));
        int rc = build_dir(s, ref, dest, 1, err);
        if (rc)
            fs_remove_tree(dest); /* nothing half-written is left behind */
        return rc;
    }
    char *blob;
    int rc = s->ops->get(s, hex, &blob, err);
    if (rc)
        return rc;
    if ((rc = copy_file(blob, dest, 0644)) < 0) {
        if (rc != -EEXIST)
            unlink(dest);
        rc = err_set(err, WEFT_EIO, "%s: %s", dest, strerror(-rc));
    }
    free(blob);
    return rc;
}

int store_materialize(store *s, const json_t *ref, const char *dest, char **path,
                      weft_err *err)
{
    const char *hex = artref_hash(ref);
    if (!hex)
        return err_set(err, WEFT_EINVAL, "not an artifact reference");
    if (artref_is_dir(ref))
        return materialize_dir(s, ref, dest, path, err);
    return s->ops->get(s, hex, path, err);
}

int store_dir_blobs(store *s, const json_t *ref, int (*fn)(void *ud, const char *hex),
                    void *ud, weft_err *err)
{
    json_t *m;
    int rc = load_manifest(s, artref_hash(ref), &m, err);
    if (rc)
        return rc;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(m, "entries"), i, e) {
        const char *hex = json_string_value(json_object_get(e, "hash"));
        if (hex && (rc = fn(ud, hex)))
            break;
    }
    json_decref(m);
    return rc;
}

typedef struct verifier {
    store *s;
    weft_err *err;
} verifier;

static int verify_blob(void *ud, const char *hex)
{
    verifier *v = ud;
    if (held(v->s, hex, NULL))
        return 0;
    char *path;
    int rc = v->s->ops->get(v->s, hex, &path, v->err);
    if (!rc)
        free(path);
    return rc;
}

int store_verify(store *s, const json_t *ref, weft_err *err)
{
    const char *hex = artref_hash(ref);
    if (!hex)
        return err_set(err, WEFT_EINVAL, "not an artifact reference");
    verifier v = {s, err};
    if (!artref_is_dir(ref))
        return verify_blob(&v, hex);
    return store_dir_blobs(s, ref, verify_blob, &v, err);
}

/* Adds a directory manifest entry's file size to *total (store_dir_blobs' walk reads the
 * manifest; sizes come from the blobs themselves). */
typedef struct dir_total {
    store *s;
    uint64_t total;
    weft_err *err;
} dir_total;

static int add_blob_size(void *ud, const char *hex)
{
    dir_total *t = ud;
    char *path;
    int rc = t->s->ops->get(t->s, hex, &path, t->err);
    if (rc)
        return rc;
    struct stat st;
    if (stat(path, &st) == 0)
        t->total += (uint64_t)st.st_size;
    free(path);
    return 0;
}

int store_ref_of(store *s, const char *hex, int is_dir, const char *path, json_t **ref,
                 weft_err *err)
{
    uint64_t size = 0;
    if (is_dir || !held(s, hex, &size)) {
        char *blob;
        int got = s->ops->get(s, hex, &blob, err);
        if (got)
            return got;
        struct stat st;
        size = stat(blob, &st) == 0 ? (uint64_t)st.st_size : 0;
        free(blob);
    }
    int rc = 0;
    json_t *r = make_ref(hex, is_dir, path, size);
    if (is_dir) {
        dir_total t = {s, 0, err};
        rc = store_dir_blobs(s, r, add_blob_size, &t, err);
        json_object_set_new(r, "size", json_integer((json_int_t)t.total));
    }
    if (rc) {
        json_decref(r);
        return rc;
    }
    *ref = r;
    return 0;
}
