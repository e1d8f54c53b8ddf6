/* store: the content-addressed artifact store. See store.h.
 *
 * The local backend keeps blob HASH at ROOT/HA/SH... (the first two hex digits name a
 * directory), written through ROOT/tmp/ and renamed into place, mode 0444 within the
 * umask (0400 in a daemon, whose umask is 077). */
#include "catalog/store.h"

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

#define IO_CHUNK (1u << 20)
#define MANIFEST_MAX (64u << 20)
#define DIR_DEPTH_MAX 64

/* ---- local backend ---- */

static char *blob_path(const store *s, const char *hex)
{
    return xasprintf("%s/%.2s/%s", s->root, hex, hex + 2);
}

/* Copies fd `in` to fd `out` (out < 0: only hashes), hashing what passes. */
static int copy_hash(int in, int out, char hex[HASH_HEX_LEN + 1], uint64_t *size)
{
    hash_ctx h;
    hash_init(&h);
    char *buf = xmalloc(IO_CHUNK);
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, IO_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -errno : 0;
            break;
        }
        hash_update(&h, buf, (size_t)r);
        total += (uint64_t)r;
        for (ssize_t off = 0; out >= 0 && off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = -errno;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    free(buf);
    hash_final_hex(&h, hex);
    if (size)
        *size = total;
    return rc;
}

static int local_put(store *s, const char *path, char hex[HASH_HEX_LEN + 1], uint64_t *size,
                     weft_err *err)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0)
        return err_set(err, errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, "%s: %s", path,
                       strerror(errno));
    if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(in);
        return err_set(err, WEFT_EINVAL, "%s: not a regular file", path);
    }
    char *tmp = xasprintf("%s/tmp/put.XXXXXX", s->root);
    int out = mkostemp(tmp, O_CLOEXEC);
    if (out < 0) {
        int e = errno;
        close(in);
        free(tmp);
        return err_set(err, WEFT_EIO, "artifact store %s: cannot create a file: %s", s->root,
                       strerror(e));
    }
    int rc = copy_hash(in, out, hex, size);
    close(in);
    if (!rc && fsync(out) < 0)
        rc = -errno;
    if (close(out) < 0 && !rc)
        rc = -errno;
    char *dst = blob_path(s, hex);
    if (!rc) {
        char dir[8];
        snprintf(dir, sizeof dir, "%.2s", hex);
        char *sub = xasprintf("%s/%s", s->root, dir);
        if (mkdir(sub, 0755) < 0 && errno != EEXIST)
            rc = -errno;
        free(sub);
    }
    /* A blob's content never changes: renaming the fresh copy over an existing one writes
     * the same bytes, and heals a blob that was damaged on disk. */
    if (!rc && (chmod(tmp, (mode_t)s->blob_mode) < 0 || rename(tmp, dst) < 0))
        rc = -errno;
    if (rc) {
        unlink(tmp);
        err_set(err, WEFT_EIO, "artifact store %s: cannot store %s: %s", s->root, path,
                strerror(-rc));
    }
    free(tmp);
    free(dst);
    return rc ? WEFT_EIO : 0;
}

/* Moves a blob whose content no longer matches its name out of the way. */
static void quarantine(store *s, const char *path, const char *hex)
{
    char *dir = xasprintf("%s/corrupt", s->root);
    char *dst = xasprintf("%s/%s", dir, hex);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        unlink(path);
    else if (rename(path, dst) < 0)
        unlink(path);
    free(dir);
    free(dst);
}

/* A blob's file as this process saw it when it hashed it. Blobs are read-only and only
 * ever replaced by a rename (a new inode), so while the file keeps its inode, size, mtime
 * and ctime its content is what was hashed: a process verifies each blob it reads once,
 * not on every read (an executor maps the same 146 MB word vectors for every task). A new
 * process verifies afresh. */
typedef struct blob_seen {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} blob_seen;

#define VERIFIED_MAX 65536 /* remembered blobs; then the memory starts over */

static blob_seen seen_of(const struct stat *st)
{
    return (blob_seen){st->st_dev, st->st_ino, st->st_size, st->st_mtim, st->st_ctim};
}

static int same_seen(const blob_seen *a, const blob_seen *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void forget_verified(store *s)
{
    if (!s->verified)
        return;
    size_t pos = 0;
    const char *k;
    void *v;
    while (strmap_next(s->verified, &pos, &k, &v))
        free(v);
    strmap_destroy(&s->verified);
}

static void remember_verified(store *s, const char *hex, const struct stat *st)
{
    if (s->verified && strmap_count(s->verified) >= VERIFIED_MAX)
        forget_verified(s);
    if (!s->verified)
        s->verified = strmap_new();
    blob_seen *b = xmalloc(sizeof *b);
    *b = seen_of(st);
    free(strmap_put(s->verified, hex, b));
}

static int local_get(store *s, const char *hex, char **out, weft_err *err)
{
    if (!hash_hex_valid(hex))
        return err_set(err, WEFT_EINVAL, "'%.80s' is not an artifact hash", hex);
    char *path = blob_path(s, hex);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(path);
        return err_set(err, e == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO,
                       "artifact %.16s is not in the store %s: %s", hex, s->root, strerror(e));
    }
    struct stat st;
    int have_st = fstat(fd, &st) == 0;
    const blob_seen *known = s->verified ? strmap_get(s->verified, hex) : NULL;
    if (have_st && known) {
        blob_seen now = seen_of(&st);
        if (same_seen(known, &now)) {
            close(fd);
            *out = path;
            return 0;
        }
    }
    char got[HASH_HEX_LEN + 1];
    int rc = copy_hash(fd, -1, got, NULL);
    close(fd);
    if (rc) {
        free(path);
        return err_set(err, WEFT_EIO, "artifact %.16s: %s", hex, strerror(-rc));
    }
    if (strcmp(got, hex) != 0) {
        quarantine(s, path, hex);
        free(path);
        return err_set(err, WEFT_ECORRUPT,
                       "artifact %.16s is corrupt (its content hashes to %.16s); moved to "
                       "%s/corrupt/",
                       hex, got, s->root);
    }
    if (have_st)
        remember_verified(s, hex, &st);
    *out = path;
    return 0;
}

/* ---- local backend: listing and removal, for garbage collection ---- */

static int64_t mtime_us(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000 + st->st_mtim.tv_nsec / 1000;
}

/* Lists the regular files of ROOT/sub as entries of kind; prefix + file name must make the
 * entry's name (a blob's hash, or "sub/file"), and accept() must take it. */
static int list_dir(store *s, const char *sub, store_entry_kind kind, const char *prefix,
                    int (*accept)(const char *name), store_entry_fn fn, void *ud,
                    weft_err *err)
{
    char *dir = xasprintf("%s/%s", s->root, sub);
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        free(dir);
        return e == ENOENT ? 0 : err_set(err, WEFT_EIO, "artifact store %s/%s: %s", s->root,
                                         sub, strerror(e));
    }
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        char *name = xasprintf("%s%s", prefix, de->d_name);
        struct stat st;
        if (accept(name) && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(st.st_mode)) {
            store_entry e = {kind, name, (uint64_t)st.st_size, mtime_us(&st)};
            rc = fn(ud, &e);
        }
        free(name);
    }
    closedir(d);
    free(dir);
    return rc;
}

/* A leftover's name: "tmp/FILE" or "corrupt/FILE". */
static int leftover_name(const char *name)
{
    const char *f = !strncmp(name, "tmp/", 4) ? name + 4
                    : !strncmp(name, "corrupt/", 8) ? name + 8 : NULL;
    return f && *f && !strchr(f, '/') && strcmp(f, ".") && strcmp(f, "..");
}

static int local_list(store *s, store_entry_fn fn, void *ud, weft_err *err)
{
    int rc = list_dir(s, "tmp", STORE_PARTIAL, "tmp/", leftover_name, fn, ud, err);
    if (!rc)
        rc = list_dir(s, "corrupt", STORE_QUARANTINED, "corrupt/", leftover_name, fn, ud, err);
    for (int i = 0; !rc && i < 256; i++) {
        char sub[3];
        snprintf(sub, sizeof sub, "%02x", i);
        rc = list_dir(s, sub, STORE_BLOB, sub, hash_hex_valid, fn, ud, err);
    }
    return rc;
}

static int local_remove(store *s, const store_entry *e, int *kept, weft_err *err)
{
    *kept = 0;
    if (e->kind == STORE_BLOB ? !hash_hex_valid(e->name) : !leftover_name(e->name))
        return err_set(err, WEFT_EINVAL, "artifact store %s: no entry '%.80s'", s->root,
                       e->name);
    char *path = e->kind == STORE_BLOB ? blob_path(s, e->name)
                                       : xasprintf("%s/%s", s->root, e->name);
    struct stat st;
    int rc = 0;
    if (lstat(path, &st) == 0 && mtime_us(&st) > e->mtime_us)
        *kept = 1;
    else if (unlink(path) < 0 && errno != ENOENT)
        rc = err_set(err, WEFT_EIO, "artifact store: cannot remove %s: %s", path,
                     strerror(errno));
    free(path);
    return rc;
}

static void local_close(store *s)
{
    forget_verified(s);
    free(s->root);
    free(s);
}

static const store_ops local_ops = {
    .name = "local",
    .put = local_put,
    .get = local_get,
    .list = local_list,
    .remove = local_remove,
    .close = local_close,
};

int store_open(const char *location, store **out, weft_err *err)
{
    char *tmp = xasprintf("%s/tmp", location);
    int rc = fs_mkdir_p(tmp, 0755);
    free(tmp);
    if (rc < 0)
        return err_set(err, WEFT_EIO, "cannot create the artifact store %s: %s", location,
                       strerror(-rc));
    store *s = xcalloc(1, sizeof *s);
    s->ops = &local_ops;
    s->root = xstrdup(location);
    mode_t mask = umask(0);
    umask(mask);
    s->blob_mode = 0444 & ~mask;
    *out = s;
    return 0;
}

void store_close(store **sp)
{
    if (sp && *sp)
        (*sp)->ops->close(*sp);
    if (sp)
        *sp = NULL;
}

/* ---- references ---- */

int store_is_ref(const json_t *v)
{
    const char *kind = json_string_value(json_object_get(v, "kind"));
    return json_is_object(v) && kind && (!strcmp(kind, "file") || !strcmp(kind, "dir"));
}

int store_ref_is_dir(const json_t *v)
{
    return store_is_ref(v) && !strcmp(json_string_value(json_object_get(v, "kind")), "dir");
}

const char *store_ref_hash(const json_t *v)
{
    return store_is_ref(v) ? json_string_value(json_object_get(v, "artifact")) : NULL;
}

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

json_t *store_pending_ref(const char *path, int is_dir)
{
    return json_pack("{s:s, s:s}", "kind", is_dir ? "dir" : "file", "path", path);
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

/* Reads and parses a directory reference's manifest (verified). New reference. */
static int load_manifest(store *s, const char *hex, json_t **out, weft_err *err)
{
    char *path, *text;
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
    int rc = copy_hash(in, out, hex, NULL);
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
    int rc = load_manifest(s, store_ref_hash(ref), &m, err);
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
                         "relative path", store_ref_hash(ref), rel ? rel : "?");
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
    const char *hex = store_ref_hash(ref);
    if (!hex)
        return err_set(err, WEFT_EINVAL, "not an artifact reference");
    if (store_ref_is_dir(ref)) {
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
    const char *hex = store_ref_hash(ref);
    if (!hex)
        return err_set(err, WEFT_EINVAL, "not an artifact reference");
    if (store_ref_is_dir(ref))
        return materialize_dir(s, ref, dest, path, err);
    return s->ops->get(s, hex, path, err);
}

int store_dir_blobs(store *s, const json_t *ref, int (*fn)(void *ud, const char *hex),
                    void *ud, weft_err *err)
{
    json_t *m;
    int rc = load_manifest(s, store_ref_hash(ref), &m, err);
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
    char *path;
    int rc = v->s->ops->get(v->s, hex, &path, v->err);
    if (!rc)
        free(path);
    return rc;
}

int store_verify(store *s, const json_t *ref, weft_err *err)
{
    const char *hex = store_ref_hash(ref);
    if (!hex)
        return err_set(err, WEFT_EINVAL, "not an artifact reference");
    verifier v = {s, err};
    if (!store_ref_is_dir(ref))
        return verify_blob(&v, hex);
    return store_dir_blobs(s, ref, verify_blob, &v, err);
}

void store_each_ref(const json_t *v, void (*fn)(void *ud, const json_t *ref), void *ud)
{
    if (store_is_ref(v)) {
        fn(ud, v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) store_each_ref(e, fn, ud);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) store_each_ref(e, fn, ud);
    }
}

/* ---- uploads: blobs received from elsewhere ---- */

int store_has(store *s, const char *hex)
{
    if (!hash_hex_valid(hex))
        return 0;
    char *path = blob_path(s, hex);
    struct stat st;
    int yes = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    return yes;
}

char *store_partial_path(store *s, const char *name)
{
    return xasprintf("%s/tmp/%s", s->root, name);
}

int store_adopt(store *s, const char *path, const char *hex, weft_err *err)
{
    if (!hash_hex_valid(hex))
        return err_set(err, WEFT_EINVAL, "artifact store: '%.80s' is not a blob's hash", hex);
    char *dst = blob_path(s, hex), *sub = xasprintf("%s/%.2s", s->root, hex);
    int rc = 0;
    if ((mkdir(sub, 0755) < 0 && errno != EEXIST) || chmod(path, (mode_t)s->blob_mode) < 0 ||
        rename(path, dst) < 0)
        rc = err_set(err, WEFT_EIO, "artifact store %s: cannot store %s: %s", s->root, hex,
                     strerror(errno));
    free(sub);
    free(dst);
    return rc;
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
    char *blob;
    int rc = s->ops->get(s, hex, &blob, err);
    if (rc)
        return rc;
    struct stat st;
    uint64_t size = stat(blob, &st) == 0 ? (uint64_t)st.st_size : 0;
    free(blob);
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
