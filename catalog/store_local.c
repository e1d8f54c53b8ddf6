/* store_local: the local (or shared) directory backend of the artifact store. See
 * store.h.
 *
 * Blob HASH is at ROOT/HA/SH... (the first two hex digits name a directory), written
 * through ROOT/tmp/ and renamed into place, mode 0444 within the umask (0400 in a daemon,
 * whose umask is 077). ROOT/store-id holds the store's identity. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "catalog/store_int.h"
#include "common/fsutil.h"
#include "common/xmem.h"

/* ---- local backend ---- */

static char *blob_path(const store *s, const char *hex)
{
    return xasprintf("%s/%.2s/%s", s->root, hex, hex + 2);
}

int store_copy_hash(int in, int out, char hex[HASH_HEX_LEN + 1], uint64_t *size)
{
    hash_ctx h;
    hash_init(&h);
    char *buf = xmalloc(STORE_IO_CHUNK);
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, STORE_IO_CHUNK);
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
    int rc = store_copy_hash(in, out, hex, size);
    close(in);
    if (!rc && !s->scratch && fsync(out) < 0)
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

static void remember_verified(store *s, const char *hex, const struct stat *st)
{
    if (s->verified && strmap_count(s->verified) >= VERIFIED_MAX)
        strmap_destroy_free(&s->verified);
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
    int rc = store_copy_hash(fd, -1, got, NULL);
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
    strmap_destroy_free(&s->verified);
    free(s->id);
    free(s->location);
    free(s->root);
    free(s);
}


/* The store's identity, ROOT/store-id: made when the store is first opened, so a worker
 * can tell whether the directory a dispatch names is this store or another one. */
static char *read_or_make_id(const char *root)
{
    char *path = xasprintf("%s/store-id", root), *id = NULL;
    size_t len = 0;
    for (int tries = 0; !id && tries < 2; tries++) {
        if (fs_read_file(path, 256, &id, &len, NULL) == 0) {
            if (len != 32 || strspn(id, "0123456789abcdef") != 32) {
                free(id);
                id = NULL;
                break;
            }
            continue;
        }
        unsigned char raw[16];
        char hex[33];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd >= 0) { /* else another process made it first: read theirs */
            ssize_t w = write(fd, hex, 32);
            close(fd);
            if (w != 32)
                unlink(path);
        }
    }
    free(path);
    return id;
}

static int local_has(store *s, const char *hex);
static int local_adopt(store *s, const char *path, const char *hex, weft_err *err);
static int local_open_blob(store *s, const char *hex, int *fd, uint64_t *size, weft_err *err);

static const store_ops local_ops = {
    .name = "local",
    .put = local_put,
    .get = local_get,
    .list = local_list,
    .remove = local_remove,
    .has = local_has,
    .adopt = local_adopt,
    .open_blob = local_open_blob,
    .close = local_close,
};

int store_local_open(const char *location, store **out, weft_err *err)
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
    s->location = xstrdup(location);
    s->id = read_or_make_id(location);
    mode_t mask = umask(0);
    umask(mask);
    s->blob_mode = 0444 & ~mask;
    *out = s;
    return 0;
}

/* ---- uploads: blobs received from elsewhere ---- */

static int local_has(store *s, const char *hex)
{
    if (!hash_hex_valid(hex))
        return 0;
    char *path = blob_path(s, hex);
    struct stat st;
    int yes = lstat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
    return yes;
}

static int local_open_blob(store *s, const char *hex, int *fd, uint64_t *size, weft_err *err)
{
    if (!hash_hex_valid(hex))
        return err_set(err, WEFT_EINVAL, "'%.80s' is not a blob's hash", hex);
    char *path = blob_path(s, hex);
    struct stat st;
    *fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    free(path);
    if (*fd >= 0 && fstat(*fd, &st) == 0 && S_ISREG(st.st_mode)) {
        *size = (uint64_t)st.st_size;
        return 0;
    }
    if (*fd >= 0) {
        e = S_ISREG(st.st_mode) ? errno : EINVAL;
        close(*fd);
        *fd = -1;
    }
    return err_set(err, e == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO,
                   "artifact %.16s... is not in the store: %s", hex, strerror(e));
}


static int local_adopt(store *s, const char *path, const char *hex, weft_err *err)
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

