/* histo: a histogram of durations with fixed bucket bounds, as Prometheus exposes them
 * (cumulative buckets, a sum and a count). Pure; not thread-safe. */
#ifndef WEFT_HISTO_H
#define WEFT_HISTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define HISTO_MAX_BOUNDS 24

typedef struct histo {
    double bounds[HISTO_MAX_BOUNDS]; /* upper bounds, ascending (seconds) */
    size_t nbounds;
    uint64_t counts[HISTO_MAX_BOUNDS + 1]; /* per bucket; the last: above every bound */
    double sum;
    uint64_t count;
} histo;

/* Bounds for latencies from 100 µs to a minute. */
void histo_init_latency(histo *h);
/* Records one value (negative values count as 0). */
void histo_observe(histo *h, double v);
/* {"bounds": [...], "counts": [...] (per bucket, the last above every bound), "sum",
 * "count"}. New reference. */
json_t *histo_json(const histo *h);

#endif
