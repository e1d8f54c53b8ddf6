/* execio: what the executor keeps around each attempt it runs: the attempt's log file and
 * what the attempt used (CPU time, peak memory).
 *
 * Both are paid for every attempt, so each costs as few system calls as it can: a slot's
 * log file is reused from one attempt to the next rather than made and removed each time
 * (the file system serializes those across all the slots of a machine), and an attempt's
 * usage is counted from where the previous attempt's ended. */
#ifndef WEFT_EXECIO_H
#define WEFT_EXECIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

/* Opens the log file at path for an attempt, empty, appending. The file the slot's last
 * attempt wrote is reused only when no other process has it open for writing (the kernel
 * grants a write lease only then): a process an earlier attempt left running keeps writing
 * to its old file, which is replaced by a new one. Returns the descriptor, or -1 with
 * errno. */
int execlog_open(const char *path);

/* Ends the attempt's log at fd: its last cap bytes into *out (malloc'd, or NULL when it is
 * empty; caller frees) and *len. Returns 1 when that is the whole log, which is then
 * emptied (the result carries it); 0 when it is longer, and stays for the worker to send. */
int execlog_finish(int fd, size_t cap, uint8_t **out, size_t *len);

/* The executor's usage, as the last attempt ended. */
typedef struct exec_usage {
    int clear_refs_fd; /* /proc/self/clear_refs (resets the peak resident size), or -1 */
    int status_fd;     /* /proc/self/status (VmHWM, VmRSS), or -1 */
    int err_fd;        /* where to say what went wrong */
    int marked;        /* self and kids hold a reading */
    struct rusage self, kids;
} exec_usage;

/* Opens what the readings need and resets the peak resident size. */
void exec_usage_open(exec_usage *u, int err_fd);
void exec_usage_close(exec_usage *u);
/* Marks an attempt's start: the previous attempt's end, or a reading for the first. */
void exec_usage_start(exec_usage *u);
/* The attempt's CPU time (the executor's and its waited-for children's) and peak memory
 * (the executor's own resident peak since the mark, or a child's, when one waited for
 * since then held more than any before it). The peak is reset for the next attempt when
 * this one's was above what the executor holds now. */
void exec_usage_end(exec_usage *u, uint64_t *cpu_us, uint64_t *peak_bytes);

#endif
