/* catalog_log: an attempt's log as it is streamed and as its result ends it, and reading it
 * from an offset (see catalog.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/xmem.h"

char *cat_log_path(const catalog *c, int64_t run, const char *task, int attempt)
{
    return xasprintf("%s/logs/%lld/%s.%d.log", c->dir, (long long)run, task, attempt);
}

/* Writes data at offset of the attempt's log file (made if missing), then cuts the file
 * there when whole: 0 or -errno (logged). In place: a rename over the file would have the
 * file system flush the new one and free the old one's blocks. */
static int log_put(catalog *c, int64_t run, const char *task, int attempt, uint64_t offset,
                   const void *data, size_t len, int whole)
{
    char *dir = xasprintf("%s/logs/%lld", c->dir, (long long)run);
    char *path = cat_log_path(c, run, task, attempt);
    int rc = fs_mkdir_p(dir, 0755), fd = -1;
    if (rc == 0 && (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
        rc = -errno;
    if (fd >= 0) {
        ssize_t n = pwrite(fd, data, len, (off_t)offset);
        if (n != (ssize_t)len)
            rc = n < 0 ? -errno : -EIO;
        else if (whole && ftruncate(fd, (off_t)(offset + len)) < 0)
            rc = -errno;
        close(fd);
    }
    if (rc < 0)
        log_warn("cannot write task log %s: %s", path, strerror(-rc));
    free(dir);
    free(path);
    return rc;
}

int catalog_append_log(catalog *c, int64_t run, const char *task, int attempt,
                       uint64_t offset, const void *data, size_t len)
{
    if (offset > CATALOG_LOG_STREAM_MAX || len > CATALOG_LOG_STREAM_MAX - offset)
        return WEFT_ELIMIT;
    return log_put(c, run, task, attempt, offset, data, len, 0);
}

int catalog_write_log(catalog *c, int64_t run, const char *task, int attempt,
                      const void *data, size_t len)
{
    if (len == 0)
        return 0; /* an absent log file reads as empty */
    return log_put(c, run, task, attempt, 0, data, len, 1);
}

int catalog_last_attempt(catalog *c, int64_t run, const char *task)
{
    int64_t args[] = {run};
    weft_err err = {0};
    json_t *rows = cat_rows(c, "SELECT attempts FROM tasks WHERE run_id = ?1 AND name = ?2",
                            args, 1, task, &err);
    int n = (int)json_integer_value(json_object_get(json_array_get(rows, 0), "attempts"));
    json_decref(rows);
    return n;
}

int catalog_attempt_running(catalog *c, int64_t run, const char *task, int attempt)
{
    int64_t args[] = {run, attempt};
    weft_err err = {0};
    json_t *rows = cat_rows(c, "SELECT a.state FROM tasks t JOIN attempts a ON a.run_id = "
                               "t.run_id AND a.idx = t.idx AND a.elem = t.elem WHERE "
                               "t.run_id = ?1 AND a.number = ?2 AND t.name = ?3",
                            args, 2, task, &err);
    const char *state = json_string_value(json_object_get(json_array_get(rows, 0), "state"));
    int running = !rows ? -1 : state && (!strcmp(state, "running") ||
                                         !strcmp(state, "dispatched"));
    json_decref(rows);
    return running;
}

int64_t catalog_log_size(catalog *c, int64_t run, const char *task, int attempt)
{
    char *path = cat_log_path(c, run, task, attempt);
    struct stat st;
    int64_t size = stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
    free(path);
    return size;
}

/* How much of buf (len bytes) is whole UTF-8 characters: a character cut at the end comes
 * with the next read. */
static size_t utf8_whole(const char *buf, size_t len)
{
    size_t p = len;
    while (p && len - p < 3 && ((unsigned char)buf[p - 1] & 0xC0) == 0x80)
        p--;
    if (!p)
        return len;
    unsigned char lead = (unsigned char)buf[p - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return len - (p - 1) >= need ? len : p - 1;
}

json_t *catalog_query_log_tail(catalog *c, int64_t run, const char *task, int attempt,
                               uint64_t offset, weft_err *err)
{
    if (!task || strchr(task, '/') || task[0] == '.') {
        err_set(err, WEFT_EINVAL, "no task '%s'", task ? task : "");
        return NULL;
    }
    char *path = cat_log_path(c, run, task, attempt);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(path);
    off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
    size_t want = size > (off_t)offset ? (size_t)(size - (off_t)offset) : 0;
    if (want > CATALOG_LOG_TAIL_MAX)
        want = CATALOG_LOG_TAIL_MAX;
    char *buf = xmalloc(want + 1);
    ssize_t n = want ? pread(fd, buf, want, (off_t)offset) : 0;
    if (fd >= 0)
        close(fd);
    size_t len = n > 0 ? (size_t)n : 0, keep = utf8_whole(buf, len);
    json_t *data = json_stringn(buf, keep);
    free(buf);
    if (!data)
        data = json_string("(log is not valid UTF-8)"), keep = len;
    return json_pack("{s:o, s:I, s:I}", "data", data, "next", (json_int_t)(offset + keep),
                     "size", (json_int_t)size);
}
