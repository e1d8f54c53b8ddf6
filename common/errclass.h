/* errclass: why an attempt failed (the classes of DESIGN.md's failure semantics).
 *
 * The numbers equal weft.proto's ErrorClass, so the two convert by cast. */
#ifndef WEFT_ERRCLASS_H
#define WEFT_ERRCLASS_H

#include <string.h>

enum errclass {
    ERRC_NONE = 0,
    ERRC_TRANSIENT = 1, /* the plugin said retry */
    ERRC_FATAL = 2,     /* the plugin said do not retry */
    ERRC_TIMEOUT = 3,   /* killed at its timeout */
    ERRC_CRASH = 4,     /* the executor died */
    ERRC_LOST = 5,      /* the worker went silent */
    ERRC_CANCELLED = 6, /* the run was cancelled */
    ERRC_UNSCHEDULABLE = 7, /* not started within its schedule_timeout */
    ERRC__COUNT
};

static inline const char *errclass_name(int c)
{
    static const char *const names[ERRC__COUNT] = {"none",  "transient", "fatal",
                                                   "timeout", "crash",   "lost",
                                                   "cancelled", "unschedulable"};
    return c >= 0 && c < ERRC__COUNT ? names[c] : "unknown";
}

/* The class named s, or -1. */
static inline int errclass_parse(const char *s)
{
    for (int c = 1; c < ERRC__COUNT; c++)
        if (strcmp(s, errclass_name(c)) == 0)
            return c;
    return -1;
}

#endif
