/* fsutil: filesystem helpers. See fsutil.h. */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmem.h"

int fs_read_file(const char *path, size_t max, char **out, size_t *len, weft_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, errno == ENOENT ? WEFT_ENOTFOUND : WEFT_EIO, "%s: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, WEFT_EIO, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > max) {
        close(fd);
        return err_set(err, WEFT_ELIMIT, "%s: file is %lld bytes; the limit is %zu bytes", path,
                       (long long)st.st_size, max);
    }
    /* Room for the file, its NUL and the read that finds its end: a file that does not
     * grow is read into one buffer of its size. */
    size_t cap = (size_t)st.st_size + 2, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max + 1) {
                free(buf);
                close(fd);
                return err_set(err, WEFT_ELIMIT, "%s: file grew past the limit of %zu bytes",
                               path, max);
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return err_set(err, WEFT_EIO, "%s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        free(buf);
        return err_set(err, WEFT_ELIMIT, "%s: file grew past the limit of %zu bytes", path, max);
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int fs_write_file(const char *path, const void *data, size_t len)
{
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return -e;
    }
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return -e;
        }
        p += w;
        len -= (size_t)w;
    }
    int rc = close(fd) < 0 ? -errno : 0;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int fs_private_dir(const char *path, weft_err *err)
{
    if (fs_mkdir_p(path, 0700) < 0)
        return err_set(err, WEFT_EIO, "cannot create directory %s: %s", path, strerror(errno));
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return err_set(err, WEFT_EIO, "%s: %s", path,
                       e == ELOOP || e == ENOTDIR ? "is a symlink or not a directory"
                                                  : strerror(e));
    }
    int rc = 0;
    if (st.st_uid != geteuid())
        rc = err_set(err, WEFT_EINVAL, "%s is owned by uid %u, not by this user (uid %u)", path,
                     (unsigned)st.st_uid, (unsigned)geteuid());
    else if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 0700) < 0)
        rc = err_set(err, WEFT_EIO, "cannot make %s private: %s", path, strerror(errno));
    else if (st.st_mode & 077)
        log_info("made %s private (it was %04o)", path, (unsigned)(st.st_mode & 07777));
    close(fd);
    return rc;
}

int fs_mkdir_p(const char *path, unsigned mode)
{
    /* The directory itself first: its parents exist as a rule. */
    if (mkdir(path, (mode_t)mode) == 0 || errno == EEXIST)
        return 0;
    if (errno != ENOENT)
        return -errno;
    char *p = xstrdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void fs_remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *fs_exe_dir(void)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0)
        return xstrdup(".");
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    return xstrdup(buf);
}

char *fs_sibling_exe(const char *name)
{
    char *dir = fs_exe_dir();
    char *p = xasprintf("%s/%s", dir, name);
    free(dir);
    return p;
}

char *fs_default_plugin_path(void)
{
    const char *env = getenv("WEFT_PLUGIN_PATH");
    if (env && *env)
        return xstrdup(env);
    char *dir = fs_exe_dir();
    char *p = xasprintf("%s/../lib/weft/plugins", dir);
    free(dir);
    return p;
}
