/* cgroup: a control group per attempt that has a budget. See cgroup.h. */
#include "worker/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/xmem.h"

#define CPU_PERIOD_US 100000u
#define CPU_QUOTA_MIN_US 1000u /* the kernel's smallest quota */
#define CG_FILE_MAX 4096
#define KILL_PASSES 8
#define PROCS_MAX (1u << 20) /* bytes of a group's cgroup.procs read at once */

/* The controllers a group uses, each in its own hierarchy under v1 (some may share one). */
enum ctl { CTL_MEMORY, CTL_CPU, CTL_PIDS, CTL_CPUACCT, CTL__N };
static const char *const CTL_NAME[CTL__N] = {"memory", "cpu", "pids", "cpuacct"};

struct cg_host {
    int v2;
    char *dir[CTL__N];  /* the worker's group per controller; v2: the same one for all.
                           NULL: cpuacct not mounted (v1) */
    uint32_t pids_max;
    char **doomed;      /* attempt groups to remove once their killed processes are gone */
    size_t ndoomed, capdoomed;
};

struct cg_attempt {
    cg_host *h;
    uint64_t mem_bytes;
    char *dir[CTL__N];  /* as the host's, one level down */
};

/* 1 when dir[i] is set and no earlier controller has the same directory: each directory is
 * made, joined and removed once. */
static int first_of(char *const *dir, int i)
{
    if (!dir[i])
        return 0;
    for (int j = 0; j < i; j++)
        if (dir[j] && !strcmp(dir[j], dir[i]))
            return 0;
    return 1;
}

/* ---- files ---- */

static int put(const char *dir, const char *file, const char *value, weft_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : write(fd, value, strlen(value));
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (n == (ssize_t)strlen(value))
        return 0;
    return err_set(err, WEFT_EIO, "cannot write '%s' to %s: %s", value, path, strerror(e));
}

/* Reads dir/file (its first n - 1 bytes) into buf, NUL-terminated. -1 when it cannot. */
static int slurp(const char *dir, const char *file, char *buf, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    ssize_t r = 1;
    while (len < n - 1 && (r = read(fd, buf + len, n - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    buf[len] = '\0';
    return r < 0 ? -1 : 0;
}

/* The number dir/file holds, or with key, the one on its line "key N". 0 or -1. */
static int get_u64(const char *dir, const char *file, const char *key, uint64_t *out)
{
    char buf[CG_FILE_MAX];
    if (slurp(dir, file, buf, sizeof buf) < 0)
        return -1;
    const char *p = buf;
    if (key) {
        size_t kl = strlen(key);
        while (p && !(!strncmp(p, key, kl) && p[kl] == ' '))
            p = (p = strchr(p, '\n')) ? p + 1 : NULL;
        if (!p)
            return -1;
        p += kl + 1;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p || errno)
        return -1;
    *out = v;
    return 0;
}

/* ---- where the groups go ---- */

/* The directory where the hierarchy mounted with super options or type cgroup2 (opts NULL)
 * shows this process's group: the mount point joined with the group's path below the
 * mount's root. controller: the v1 controller looked for, NULL for v2. */
static char *own_group(const char *controller, weft_err *err)
{
    char line[4096], path[PATH_MAX] = "";
    int found = 0;
    FILE *f = fopen("/proc/self/cgroup", "re");
    while (f && !found && fgets(line, sizeof line, f)) {
        /* "ID:CONTROLLERS:PATH"; v2's line is "0::PATH" */
        char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;
        if (!p)
            continue;
        *p++ = '\0';
        p[strcspn(p, "\n")] = '\0';
        char *ctls = c + 1;
        if (!controller) {
            found = !*ctls;
        } else {
            for (char *save, *t = strtok_r(ctls, ",", &save); t; t = strtok_r(NULL, ",", &save))
                found |= !strcmp(t, controller);
        }
        if (found)
            snprintf(path, sizeof path, "%s", p);
    }
    if (f)
        fclose(f);
    if (!found) {
        err_set(err, WEFT_ENOTFOUND, "this process is in no %s%s group",
                controller ? "cgroup v1 " : "cgroup v2", controller ? controller : "");
        return NULL;
    }
    f = fopen("/proc/self/mountinfo", "re");
    char *dir = NULL;
    while (f && !dir && fgets(line, sizeof line, f)) {
        /* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS" */
        char root[PATH_MAX], mnt[PATH_MAX], type[64], opts[1024];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
            sscanf(dash + 3, "%63s %*s %1023s", type, opts) != 2)
            continue;
        int match = 0;
        if (!controller) {
            match = !strcmp(type, "cgroup2");
        } else if (!strcmp(type, "cgroup")) {
            for (char *save, *t = strtok_r(opts, ",", &save); t; t = strtok_r(NULL, ",", &save))
                match |= !strcmp(t, controller);
        }
        size_t rl = strcmp(root, "/") ? strlen(root) : 0;
        if (match && !strncmp(path, root, rl) && (path[rl] == '/' || !path[rl]))
            dir = xasprintf("%s%s", mnt, path + rl);
    }
    if (f)
        fclose(f);
    if (!dir)
        err_set(err, WEFT_ENOTFOUND, "no %s%s hierarchy is mounted where this process's group "
                "is", controller ? "cgroup v1 " : "cgroup v2", controller ? controller : "");
    return dir;
}

/* 1 when word is one of the space-separated words of text. */
static int has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
        if ((p == text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
            return 1;
    return 0;
}

/* 1 when every one of memory, cpu and pids is in dir/cgroup.controllers (v2). */
static int v2_has_controllers(const char *dir)
{
    char buf[CG_FILE_MAX];
    if (slurp(dir, "cgroup.controllers", buf, sizeof buf) < 0)
        return 0;
    for (int i = CTL_MEMORY; i <= CTL_PIDS; i++)
        if (!has_word(buf, CTL_NAME[i]))
            return 0;
    return 1;
}

/* ---- removing groups ---- */

/* Kills every process in group dir (a few passes: one may be forking). 1 when it is empty. */
static int kill_members(const char *dir)
{
    weft_err ignored = {0};
    if (put(dir, "cgroup.kill", "1", &ignored) == 0) /* v2 (Linux 5.14): the whole subtree */
        return 1;
    char *buf = xmalloc(PROCS_MAX);
    int empty = 0;
    for (int pass = 0; pass < KILL_PASSES && !empty; pass++) {
        empty = slurp(dir, "cgroup.procs", buf, PROCS_MAX) < 0 || !buf[0];
        /* Whole lines only: a pid cut short by the buffer's end is not one to kill. */
        for (char *p = buf, *nl; !empty && (nl = strchr(p, '\n')); p = nl + 1) {
            long pid = strtol(p, NULL, 10);
            if (pid > 0) /* never 0 or -1: those name groups of processes */
                kill((pid_t)pid, SIGKILL);
        }
    }
    free(buf);
    return empty;
}

/* Kills what is in group dir and removes it, waiting up to a second for the killed to go. */
static void remove_group(const char *dir)
{
    for (int tries = 0; tries < 100; tries++) {
        kill_members(dir);
        if (rmdir(dir) == 0 || errno != EBUSY)
            return;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
}

/* Removes the groups of h that could not be removed before. */
static void sweep(cg_host *h)
{
    size_t kept = 0;
    for (size_t i = 0; i < h->ndoomed; i++) {
        if (rmdir(h->doomed[i]) < 0 && errno == EBUSY) {
            kill_members(h->doomed[i]);
            h->doomed[kept++] = h->doomed[i];
        } else {
            free(h->doomed[i]);
        }
    }
    h->ndoomed = kept;
}

/* Takes dir off the groups to remove later. */
static void forget_doomed(cg_host *h, const char *dir)
{
    for (size_t i = 0; i < h->ndoomed; i++)
        if (!strcmp(h->doomed[i], dir)) {
            free(h->doomed[i]);
            h->doomed[i] = h->doomed[--h->ndoomed];
            return;
        }
}

static void doom(cg_host *h, const char *dir)
{
    kill_members(dir);
    if (rmdir(dir) == 0 || errno != EBUSY)
        return;
    if (h->ndoomed == h->capdoomed)
        h->doomed = xrealloc(h->doomed, (h->capdoomed = h->capdoomed * 2 + 8) * sizeof(char *));
    h->doomed[h->ndoomed++] = xstrdup(dir);
}

/* Removes what a worker that is gone left in parent: its weft-worker-PID group, the groups
 * inside it and whatever still runs there. */
static void clear_dead_workers(const char *parent)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        long pid;
        char rest;
        if (sscanf(e->d_name, "weft-worker-%ld%c", &pid, &rest) != 1 ||
            (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)))
            continue;
        char *dir = xasprintf("%s/%s", parent, e->d_name);
        char *idle = xasprintf("%s/idle", dir), buf[64];
        /* Executors waiting there belong to a live worker (one in another pid namespace):
         * a dead worker's died with it. */
        int live = pid != (long)getpid() && slurp(idle, "cgroup.procs", buf, sizeof buf) == 0 &&
                   buf[0];
        free(idle);
        DIR *sub = live ? NULL : opendir(dir);
        struct dirent *g;
        while (sub && (g = readdir(sub))) {
            if (g->d_type != DT_DIR || g->d_name[0] == '.')
                continue;
            char *child = xasprintf("%s/%s", dir, g->d_name);
            remove_group(child);
            free(child);
        }
        if (sub) {
            closedir(sub);
            remove_group(dir);
        }
        free(dir);
    }
    if (d)
        closedir(d);
}

/* ---- the worker's groups ---- */

static const char V2_CONTROLLERS[] = "+memory +cpu +pids";

/* Makes the worker's group in parent (and its idle group); v2 enables the controllers for
 * the groups below each. */
static char *worker_group_name(const char *parent)
{
    return xasprintf("%s/weft-worker-%ld", parent, (long)getpid());
}

/* v2: turns the controllers on for the groups below parent. A group other than the root
 * that holds processes cannot: the worker then moves itself into a leaf of its own group
 * (PARENT/weft-worker-PID/worker, left behind when it exits and cleared by the next worker
 * started there), which works when the worker was alone in its group (systemd's
 * Delegate=yes). */
static int v2_enable(const char *parent, weft_err *err)
{
    weft_err busy = {0};
    if (put(parent, "cgroup.subtree_control", V2_CONTROLLERS, &busy) == 0)
        return 0;
    char *dir = worker_group_name(parent), *leaf = xasprintf("%s/worker", dir), pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    int rc = -1;
    if ((mkdir(dir, 0755) == 0 || errno == EEXIST) &&
        (mkdir(leaf, 0755) == 0 || errno == EEXIST) && put(leaf, "cgroup.procs", pid, err) == 0) {
        rc = put(parent, "cgroup.subtree_control", V2_CONTROLLERS, err);
        if (rc < 0) {
            weft_err ignored = {0};
            put(parent, "cgroup.procs", pid, &ignored);
            rmdir(leaf);
            rmdir(dir);
            err_set(err, WEFT_EIO, "%s holds other processes than this worker, so its groups "
                    "cannot have controllers (run the worker in a group of its own: systemd's "
                    "Delegate=yes)", parent);
        }
    } else if (!err->code) {
        err_set(err, WEFT_EIO, "%s", busy.msg);
    }
    free(leaf);
    free(dir);
    return rc;
}

static char *make_worker_group(const char *parent, int v2, weft_err *err)
{
    clear_dead_workers(parent); /* first: a group of this pid is then an earlier worker's */
    if (v2 && v2_enable(parent, err) < 0)
        return NULL;
    char *dir = worker_group_name(parent);
    char *idle = xasprintf("%s/idle", dir);
    int rc = 0;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        rc = err_set(err, WEFT_EIO, "cannot make %s: %s", dir, strerror(errno));
    else if (mkdir(idle, 0755) < 0 && errno != EEXIST)
        rc = err_set(err, WEFT_EIO, "cannot make %s: %s", idle, strerror(errno));
    else if (v2)
        rc = put(dir, "cgroup.subtree_control", V2_CONTROLLERS, err);
    free(idle);
    if (rc < 0) {
        rmdir(dir);
        free(dir);
        return NULL;
    }
    return dir;
}

static int open_v2(cg_host *h, weft_err *err)
{
    weft_err quiet = {0};
    char *own = own_group(NULL, &quiet);
    if (!own || !v2_has_controllers(own)) {
        free(own);
        return err_set(err, WEFT_ENOTFOUND, "cgroup v2 offers no memory, cpu and pids here");
    }
    char *dir = make_worker_group(own, 1, err);
    free(own);
    if (!dir)
        return err->code;
    h->v2 = 1;
    for (int i = 0; i < CTL__N; i++)
        h->dir[i] = xstrdup(dir);
    free(dir);
    return 0;
}

static int open_v1(cg_host *h, weft_err *err)
{
    for (int i = 0; i < CTL__N; i++) {
        weft_err why = {0};
        char *own = own_group(CTL_NAME[i], &why);
        if (!own && i == CTL_CPUACCT) /* optional: CPU time then comes from the executor */
            return 0;
        if (!own)
            return err_set(err, why.code, "%s", why.msg);
        char *mine = worker_group_name(own);
        for (int j = 0; j < i && !h->dir[i]; j++)
            if (h->dir[j] && !strcmp(h->dir[j], mine)) /* co-mounted with an earlier one */
                h->dir[i] = xstrdup(mine);
        free(mine);
        if (!h->dir[i])
            h->dir[i] = make_worker_group(own, 0, err);
        free(own);
        if (!h->dir[i])
            return err->code;
    }
    return 0;
}

cg_host *cg_host_open(uint32_t pids_max, weft_err *err)
{
    cg_host *h = xcalloc(1, sizeof *h);
    h->pids_max = pids_max ? pids_max : CG_PIDS_DEFAULT;
    weft_err v2err = {0};
    if (open_v2(h, &v2err) == 0)
        return h;
    if (open_v1(h, err) == 0)
        return h;
    char *why = xasprintf("%s; %s", v2err.msg, err->msg);
    err_set(err, err->code, "%s", why);
    free(why);
    cg_host_close(&h);
    return NULL;
}

const char *cg_host_kind(const cg_host *h)
{
    return h->v2 ? "cgroup v2" : "cgroup v1";
}

void cg_host_close(cg_host **hp)
{
    cg_host *h = *hp;
    if (!h)
        return;
    for (int tries = 0; h->ndoomed && tries < 100; tries++) {
        sweep(h);
        if (h->ndoomed)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    for (size_t i = 0; i < h->ndoomed; i++)
        free(h->doomed[i]);
    free(h->doomed);
    for (int i = 0; i < CTL__N; i++) {
        if (first_of(h->dir, i)) {
            char *idle = xasprintf("%s/idle", h->dir[i]);
            remove_group(idle);
            free(idle);
            /* Not killed: under v2 this worker may be in it (v2_enable). */
            rmdir(h->dir[i]);
        }
    }
    for (int i = 0; i < CTL__N; i++)
        free(h->dir[i]);
    free(h);
    *hp = NULL;
}

/* ---- an attempt's group ---- */

static int set_budgets(cg_attempt *a, uint64_t mem_bytes, uint32_t cpu_milli, weft_err *err)
{
    const cg_host *h = a->h;
    char v[64];
    if (mem_bytes) {
        snprintf(v, sizeof v, "%llu", (unsigned long long)mem_bytes);
        if (put(a->dir[CTL_MEMORY], h->v2 ? "memory.max" : "memory.limit_in_bytes", v, err))
            return err->code;
        /* Swap counts too where the kernel accounts it (else the files are absent). */
        weft_err ignored = {0};
        if (h->v2)
            put(a->dir[CTL_MEMORY], "memory.swap.max", "0", &ignored);
        else
            put(a->dir[CTL_MEMORY], "memory.memsw.limit_in_bytes", v, &ignored);
    }
    if (cpu_milli) {
        uint64_t quota = (uint64_t)cpu_milli * CPU_PERIOD_US / 1000u;
        if (quota < CPU_QUOTA_MIN_US)
            quota = CPU_QUOTA_MIN_US;
        if (h->v2) {
            snprintf(v, sizeof v, "%llu %u", (unsigned long long)quota, CPU_PERIOD_US);
            if (put(a->dir[CTL_CPU], "cpu.max", v, err))
                return err->code;
        } else {
            snprintf(v, sizeof v, "%u", CPU_PERIOD_US);
            if (put(a->dir[CTL_CPU], "cpu.cfs_period_us", v, err))
                return err->code;
            snprintf(v, sizeof v, "%llu", (unsigned long long)quota);
            if (put(a->dir[CTL_CPU], "cpu.cfs_quota_us", v, err))
                return err->code;
        }
    }
    snprintf(v, sizeof v, "%u", h->pids_max);
    return put(a->dir[CTL_PIDS], "pids.max", v, err);
}

cg_attempt *cg_attempt_new(cg_host *h, uint64_t id, uint64_t mem_bytes, uint32_t cpu_milli,
                           weft_err *err)
{
    sweep(h);
    cg_attempt *a = xcalloc(1, sizeof *a);
    a->h = h;
    a->mem_bytes = mem_bytes;
    for (int i = 0; i < CTL__N; i++) {
        if (!h->dir[i])
            continue;
        a->dir[i] = xasprintf("%s/a%llu", h->dir[i], (unsigned long long)id);
        if (!first_of(a->dir, i))
            continue;
        int rc = mkdir(a->dir[i], 0755);
        if (rc < 0 && errno == EEXIST) {
            /* Left by an earlier attempt of the same id (a scheduler that rolled back a
             * turn sends it again): its processes are not this one's. */
            forget_doomed(h, a->dir[i]);
            remove_group(a->dir[i]);
            rc = mkdir(a->dir[i], 0755);
        }
        if (rc < 0) {
            err_set(err, WEFT_EIO, "cannot make %s: %s", a->dir[i], strerror(errno));
            cg_attempt_end(&a, 0);
            return NULL;
        }
    }
    if (set_budgets(a, mem_bytes, cpu_milli, err) < 0)
        cg_attempt_end(&a, 0);
    return a;
}

int cg_attempt_enter(cg_attempt *a, pid_t pid, weft_err *err)
{
    char v[32];
    snprintf(v, sizeof v, "%ld", (long)pid);
    for (int i = 0; i < CTL__N; i++)
        if (first_of(a->dir, i) && put(a->dir[i], "cgroup.procs", v, err) < 0)
            return err->code;
    return 0;
}

void cg_attempt_usage(const cg_attempt *a, cg_usage *u)
{
    *u = (cg_usage){0};
    const char *mem = a->dir[CTL_MEMORY];
    uint64_t hit = 0; /* v2: OOMs of the group at its own limit (else the machine's) */
    if (a->h->v2) {
        get_u64(mem, "memory.peak", NULL, &u->peak_bytes);
        if (get_u64(mem, "memory.events", "oom", &hit) == 0 && hit)
            get_u64(mem, "memory.events", "oom_kill", &u->oom_kills);
        u->cpu_known = get_u64(a->dir[CTL_CPU], "cpu.stat", "usage_usec", &u->cpu_us) == 0;
        return;
    }
    get_u64(mem, "memory.max_usage_in_bytes", NULL, &u->peak_bytes);
    /* v1 keeps no count of its own limit's OOMs (memory.failcnt stays 0 with memsw): its
     * peak came within a mebibyte of the limit. */
    if (a->mem_bytes && u->peak_bytes + (1u << 20) >= a->mem_bytes)
        get_u64(mem, "memory.oom_control", "oom_kill", &u->oom_kills);
    uint64_t ns;
    if (a->dir[CTL_CPUACCT] && get_u64(a->dir[CTL_CPUACCT], "cpuacct.usage", NULL, &ns) == 0) {
        u->cpu_us = ns / 1000u;
        u->cpu_known = 1;
    }
}

void cg_attempt_end(cg_attempt **ap, pid_t pid)
{
    cg_attempt *a = *ap;
    if (!a)
        return;
    char v[32];
    snprintf(v, sizeof v, "%ld", (long)pid);
    for (int i = 0; i < CTL__N; i++) {
        if (!first_of(a->dir, i))
            continue;
        weft_err ignored = {0};
        char *idle = xasprintf("%s/idle", a->h->dir[i]);
        if (pid > 0)
            put(idle, "cgroup.procs", v, &ignored); /* fails when it has exited: fine */
        free(idle);
        doom(a->h, a->dir[i]);
    }
    for (int i = 0; i < CTL__N; i++)
        free(a->dir[i]);
    free(a);
    *ap = NULL;
}
