/* slotlog: a slot's log file, which each attempt of the slot writes in turn (its executor's
 * stdout and stderr). Reused rather than made and removed for each attempt, which the file
 * system serializes across all the slots of a machine. */
#ifndef WEFT_SLOTLOG_H
#define WEFT_SLOTLOG_H

/* Makes the slot's log file at path empty for the next attempt, before its executor is
 * given it (unless the executor holds it, emptied, with no process it started left to
 * write to it: ExecResult.log_held; a descriptor passed over a socket to a process it did
 * not start is the one writer that misses). The file is emptied only when no other
 * process has it open for writing (the kernel grants a write lease only then); else it is
 * removed, and the executor makes a new one: a process an earlier attempt left running
 * keeps writing to the old file, never into the next attempt's log. 0, or -errno (the
 * file is then removed if it could be). */
int slotlog_reset(const char *path);

/* What slotlog_reset needs of the process: SIGIO caught (a lease broken while held). */
void slotlog_init(void);

#endif
