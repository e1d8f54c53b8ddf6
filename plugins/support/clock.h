/* clock: elapsed-time measurement for the plugins' logged figures (rows/s, build time). */
#ifndef WEFT_PLUGIN_CLOCK_H
#define WEFT_PLUGIN_CLOCK_H

#include <time.h>

/* Seconds on the monotonic clock; only differences mean anything. */
static inline double plugin_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
