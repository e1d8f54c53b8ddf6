/* execio: what the executor measures around each attempt it runs: the end of the attempt's
 * log (the slot's file, empty as the attempt starts: worker/slotlog.h) and what the
 * attempt used (CPU time, peak memory). */
#ifndef WEFT_EXECIO_H
#define WEFT_EXECIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

/* Ends the attempt's log at fd: its last cap bytes into *out (malloc'd, or NULL when it is
 * empty; caller frees) and *len. Returns 1 when that is the whole log, which is then
 * emptied (the result carries it); 0 when it is longer, and stays for the worker to send. */
int execlog_finish(int fd, size_t cap, uint8_t **out, size_t *len);

/* What the executor and its waited-for children had used when an attempt started. */
typedef struct exec_usage {
    int clear_refs_fd; /* /proc/self/clear_refs (resets the peak resident size), or -1 */
    int status_fd;     /* /proc/self/status (VmHWM: the peak since the reset), or -1 */
    int statm_fd;      /* /proc/self/statm (the resident size now), or -1 */
    int err_fd;        /* where to say what went wrong */
    struct rusage self, kids; /* as the attempt started */
    long start_rss_kb; /* the resident size as it started (read after self), or -1 */
    int kids_known; /* kids is still what the last attempt ended with: none waited for since */
} exec_usage;

/* Children waited for outside an attempt: what they used is read again at the next. */
void exec_usage_waited(exec_usage *u);
/* Opens what the readings need. */
void exec_usage_open(exec_usage *u, int err_fd);
void exec_usage_close(exec_usage *u);
/* Marks an attempt's start: its peak resident size starts again from what the executor
 * holds now, and CPU time is counted from here. */
void exec_usage_start(exec_usage *u);
/* The attempt's CPU time (the executor's and its waited-for children's) and peak memory
 * (the executor's own resident peak since the mark, or a child's, when one waited for
 * since then held more than any before it). */
void exec_usage_end(exec_usage *u, uint64_t *cpu_us, uint64_t *peak_bytes);

#endif
