/* marks: the catalogue's high-water marks. See marks.h. */
#include "catalog/marks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/xmem.h"

#define MARKS_HEADER "weft catalog marks 1\n"
#define MARKS_MAX 4096

/* One "name value" line's value, or -1 when the line is missing or not a number. */
static int64_t field(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, n) != 0 || p[n] != ' ')
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(p + n + 1, &end, 10);
        if (errno || end == p + n + 1 || (*end != '\n' && *end != '\0') || v < 0)
            return -1;
        return v;
    }
    return -1;
}

int marks_read(const char *dir, catalog_marks *m, int *found, weft_err *err)
{
    memset(m, 0, sizeof *m);
    *found = 0;
    char *path = xasprintf("%s/catalog.marks", dir), *text = NULL;
    size_t len;
    weft_err rerr = {0};
    int rc = fs_read_file(path, MARKS_MAX, &text, &len, &rerr);
    if (rc == WEFT_ENOTFOUND) {
        free(path);
        return 0;
    }
    if (rc == 0 && strncmp(text, MARKS_HEADER, strlen(MARKS_HEADER)) == 0) {
        m->run = field(text, "run");
        m->attempt = field(text, "attempt");
        m->run_floor = field(text, "run_floor");
        m->attempt_floor = field(text, "attempt_floor");
        if (m->run >= 0 && m->attempt >= 0 && m->run_floor >= 0 && m->attempt_floor >= 0) {
            *found = 1;
            free(text);
            free(path);
            return 0;
        }
    }
    if (rc == 0)
        err_set(err, WEFT_ECORRUPT, "%s is not a weft catalogue marks file (damaged?); move it "
                "aside only if catalog.db is known to be complete", path);
    else
        err_set(err, rc, "%s", rerr.msg);
    free(text);
    free(path);
    return err->code;
}

/* Every value has 19 digits' room, so the file keeps its size (under one disk sector) and
 * an update rewrites it in place: no metadata changes. A rename over it, once per committed
 * run, would have the file system flush the new file and free the old one's block. */
int marks_write(const char *dir, const catalog_marks *m)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, MARKS_HEADER "run %19lld\nattempt %19lld\n"
                     "run_floor %19lld\nattempt_floor %19lld\n", (long long)m->run,
                     (long long)m->attempt, (long long)m->run_floor, (long long)m->attempt_floor);
    char *path = xasprintf("%s/catalog.marks", dir);
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    int rc = 1;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == n)
        rc = pwrite(fd, buf, (size_t)n, 0) == n ? 0 : -errno;
    if (fd >= 0)
        close(fd);
    if (rc > 0) /* missing, or written in another width: replaced whole */
        rc = fs_write_file(path, buf, (size_t)n);
    free(path);
    return rc;
}
