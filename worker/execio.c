/* execio: an attempt's log file and usage, in the executor. See execio.h. */
#include "worker/execio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmem.h"

#define LOG_FLAGS (O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC)

int execlog_open(const char *path)
{
    int fd = open(path, LOG_FLAGS);
    if (fd >= 0) {
        /* Granted only while this is the one open file for writing it. Held for no
         * longer than the check: an open by another process meanwhile waits for the
         * release (and the lease break's SIGIO is caught). */
        if (fcntl(fd, F_SETLEASE, F_WRLCK) == 0) {
            fcntl(fd, F_SETLEASE, F_UNLCK);
            if (ftruncate(fd, 0) == 0)
                return fd;
        }
        close(fd);
        unlink(path);
    }
    return open(path, LOG_FLAGS | O_CREAT | O_TRUNC, 0600);
}

int execlog_finish(int fd, size_t cap, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return 0;
    if (st.st_size == 0)
        return 1;
    off_t start = st.st_size > (off_t)cap ? st.st_size - (off_t)cap : 0;
    size_t n = (size_t)(st.st_size - start);
    uint8_t *buf = xmalloc(n);
    ssize_t r = pread(fd, buf, n, start);
    if (r > 0) {
        *out = buf;
        *len = (size_t)r;
    } else {
        free(buf);
    }
    int whole = st.st_size < (off_t)cap && (size_t)st.st_size == *len;
    /* Its blocks are freed now rather than when the slot's next attempt starts. */
    if (whole && ftruncate(fd, 0) < 0)
        whole = 0;
    return whole;
}

static void on_sigio(int sig)
{
    (void)sig; /* a lease broken during execlog_open's check */
}

void exec_usage_open(exec_usage *u, int err_fd)
{
    memset(u, 0, sizeof *u);
    u->err_fd = err_fd;
    u->clear_refs_fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    u->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (u->clear_refs_fd >= 0 && pwrite(u->clear_refs_fd, "5", 1, 0) < 0)
        dprintf(err_fd, "weft-executor: cannot reset the peak memory size: %s\n",
                strerror(errno));
    /* A handler, not SIG_IGN: what a task executes gets SIGIO's default again. */
    signal(SIGIO, on_sigio);
}

void exec_usage_close(exec_usage *u)
{
    if (u->clear_refs_fd >= 0)
        close(u->clear_refs_fd);
    if (u->status_fd >= 0)
        close(u->status_fd);
    u->clear_refs_fd = u->status_fd = -1;
}

static uint64_t cpu_us(const struct rusage *r)
{
    return (uint64_t)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1000000u +
           (uint64_t)(r->ru_utime.tv_usec + r->ru_stime.tv_usec);
}

void exec_usage_start(exec_usage *u)
{
    if (u->marked)
        return; /* between attempts the executor only reads the next request */
    getrusage(RUSAGE_SELF, &u->self);
    getrusage(RUSAGE_CHILDREN, &u->kids);
    u->marked = 1;
}

/* The value in kB of a /proc status field (name with its colon), or 0. */
static long status_kb(const char *status, const char *name)
{
    const char *at = strstr(status, name);
    return at ? strtol(at + strlen(name), NULL, 10) : 0;
}

void exec_usage_end(exec_usage *u, uint64_t *cpu, uint64_t *peak_bytes)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    *cpu = cpu_us(&self) - cpu_us(&u->self) + cpu_us(&kids) - cpu_us(&u->kids);
    /* VmHWM, which clear_refs resets (ru_maxrss never falls below what the worker held
     * when it started the executor). */
    long peak_kb = 0, now_kb = 0;
    char status[4096];
    ssize_t n = u->status_fd >= 0 ? pread(u->status_fd, status, sizeof status - 1, 0) : -1;
    if (n > 0) {
        status[n] = '\0';
        peak_kb = status_kb(status, "VmHWM:");
        now_kb = status_kb(status, "VmRSS:");
    }
    int kid_peak = kids.ru_maxrss > u->kids.ru_maxrss && kids.ru_maxrss > peak_kb;
    *peak_bytes = (uint64_t)(kid_peak ? kids.ru_maxrss : peak_kb) * 1024u;
    /* The next attempt's peak starts from what the executor holds now. */
    if (peak_kb > now_kb && u->clear_refs_fd >= 0 && pwrite(u->clear_refs_fd, "5", 1, 0) < 0)
        dprintf(u->err_fd, "weft-executor: cannot reset the peak memory size: %s\n",
                strerror(errno));
    u->self = self;
    u->kids = kids;
}
