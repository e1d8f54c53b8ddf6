/* cgroup: a control group per attempt that has a budget, where the machine lets the worker
 * make them. The attempt's whole process tree (its executor and everything it starts) is
 * held to its memory budget (swap included, where the kernel accounts it), its cpu budget
 * (a CFS quota: 0.5 is half of one core's time) and a bound on its processes; its peak
 * memory, CPU time and OOM kills are read back when it ends, and what it left running is
 * killed.
 *
 * cgroup v2 is used where the unified hierarchy offers the memory, cpu and pids controllers
 * below the worker's own group; else cgroup v1's memory, cpu and pids hierarchies (cpuacct
 * too, for CPU time, where mounted). Each group lives in the worker's own, as
 * weft-worker-PID/a<attempt id>; an executor between attempts waits in weft-worker-PID/idle.
 *
 * The paths and file names are the kernel's (Documentation/admin-guide/cgroup-v2.rst and
 * cgroup-v1/memory.rst). */
#ifndef WEFT_CGROUP_H
#define WEFT_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define CG_PIDS_DEFAULT 4096 /* processes and threads an attempt may have at once */

typedef struct cg_host cg_host;
typedef struct cg_attempt cg_attempt;

/* What an attempt used, read from its group. */
typedef struct cg_usage {
    uint64_t peak_bytes; /* 0 when the kernel does not keep it */
    uint64_t cpu_us;     /* 0 when no cpuacct (v1) is mounted */
    int cpu_known;       /* cpu_us was read */
    uint64_t oom_kills;  /* processes an OOM killer ended after the group reached its
                            memory budget */
} cg_usage;

/* Finds where this process may make groups and makes the worker's own there, its attempts
 * bounded to pids_max processes each. NULL with why in err when it cannot (not root, no
 * such controller, a v2 group that holds processes itself). */
cg_host *cg_host_open(uint32_t pids_max, weft_err *err);
/* "cgroup v2" or "cgroup v1". */
const char *cg_host_kind(const cg_host *h);
/* Removes the worker's groups (their executors must have left them) and frees h. */
void cg_host_close(cg_host **h);

/* Makes attempt id's group with its budgets (mem_bytes 0 or cpu_milli 0: none). NULL with
 * why in err. */
cg_attempt *cg_attempt_new(cg_host *h, uint64_t id, uint64_t mem_bytes, uint32_t cpu_milli,
                           weft_err *err);
/* Moves process pid (an idle executor) into the group. */
int cg_attempt_enter(cg_attempt *a, pid_t pid, weft_err *err);
/* What the group's processes have used so far. */
void cg_attempt_usage(const cg_attempt *a, cg_usage *u);
/* Ends the group: pid (its executor, 0 when it is gone) goes back to the idle group, what
 * else is left in it is killed, and the group is removed (later, while its processes are
 * still exiting). Frees *a. */
void cg_attempt_end(cg_attempt **a, pid_t pid);

#endif
