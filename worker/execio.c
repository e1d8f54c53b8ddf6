/* execio: the end of an attempt's log and its usage, in the executor. See execio.h. */
#include "worker/execio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmem.h"

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

void exec_usage_open(exec_usage *u, int err_fd)
{
    memset(u, 0, sizeof *u);
    u->err_fd = err_fd;
    u->clear_refs_fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    u->status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    u->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
}

void exec_usage_close(exec_usage *u)
{
    if (u->clear_refs_fd >= 0)
        close(u->clear_refs_fd);
    if (u->status_fd >= 0)
        close(u->status_fd);
    if (u->statm_fd >= 0)
        close(u->statm_fd);
    u->clear_refs_fd = u->status_fd = u->statm_fd = -1;
}

static uint64_t cpu_us(const struct rusage *r)
{
    return (uint64_t)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1000000u +
           (uint64_t)(r->ru_utime.tv_usec + r->ru_stime.tv_usec);
}

/* The resident size in kB (statm's second field), or -1. */
static long resident_kb(const exec_usage *u)
{
    char statm[128];
    ssize_t n = u->statm_fd >= 0 ? pread(u->statm_fd, statm, sizeof statm - 1, 0) : -1;
    long pages;
    if (n <= 0)
        return -1;
    statm[n] = '\0';
    return sscanf(statm, "%*s %ld", &pages) == 1 ? pages * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

void exec_usage_start(exec_usage *u)
{
    getrusage(RUSAGE_SELF, &u->self);
    u->start_rss_kb = resident_kb(u);
    /* Its peak starts again from what the executor holds now: what the last attempt's
     * result and cleanup took is not this attempt's. ru_maxrss is at least VmHWM, and VmHWM
     * at least the resident size: when ru_maxrss is no higher, the peak is already what the
     * executor holds, and a reset would change nothing (no-op tasks, most of the time). */
    if (u->start_rss_kb < 0 || u->self.ru_maxrss > u->start_rss_kb) {
        if (u->clear_refs_fd >= 0 && pwrite(u->clear_refs_fd, "5", 1, 0) < 0)
            dprintf(u->err_fd, "weft-executor: cannot reset the peak memory size: %s\n",
                    strerror(errno));
        getrusage(RUSAGE_SELF, &u->self); /* its ru_maxrss after the reset */
    }
    if (!u->kids_known)
        getrusage(RUSAGE_CHILDREN, &u->kids);
}

void exec_usage_waited(exec_usage *u)
{
    u->kids_known = 0;
}

/* The value in kB of a /proc status field (name with its colon), or 0. */
static long status_kb(const char *status, const char *name)
{
    const char *at = strstr(status, name);
    return at ? strtol(at + strlen(name), NULL, 10) : 0;
}

/* VmHWM: the peak resident size since clear_refs reset it. */
static long status_peak_kb(const exec_usage *u)
{
    char status[4096];
    ssize_t n = u->status_fd >= 0 ? pread(u->status_fd, status, sizeof status - 1, 0) : -1;
    if (n <= 0)
        return 0;
    status[n] = '\0';
    return status_kb(status, "VmHWM:");
}

/* The attempt's peak resident size, given ru_maxrss at its end. ru_maxrss is the larger of
 * VmHWM and a floor that clear_refs does not reset: the peak of the process image the
 * executor was started from (raised again only when a process exits or execs, which the
 * executor does not while it serves). So when it was no higher than the resident size as
 * the attempt started, or it rose during the attempt, it is VmHWM now; else the floor may
 * hide VmHWM, read from /proc/self/status (five times the cost). */
static long peak_kb(const exec_usage *u, long maxrss_kb)
{
    if ((u->start_rss_kb >= 0 && u->self.ru_maxrss <= u->start_rss_kb) ||
        maxrss_kb > u->self.ru_maxrss)
        return maxrss_kb;
    return status_peak_kb(u);
}

void exec_usage_end(exec_usage *u, uint64_t *cpu, uint64_t *peak_bytes)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    *cpu = cpu_us(&self) - cpu_us(&u->self) + cpu_us(&kids) - cpu_us(&u->kids);
    long peak = peak_kb(u, self.ru_maxrss);
    int kid_peak = kids.ru_maxrss > u->kids.ru_maxrss && kids.ru_maxrss > peak;
    *peak_bytes = (uint64_t)(kid_peak ? kids.ru_maxrss : peak) * 1024u;
    u->kids = kids; /* the next attempt's start, unless a child is waited for before it */
    u->kids_known = 1;
}
