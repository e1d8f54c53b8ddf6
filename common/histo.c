/* histo: see histo.h. */
#include "common/histo.h"

#include <string.h>

static const double latency_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                        5,      10,      30,     60};

void histo_init_latency(histo *h)
{
    memset(h, 0, sizeof *h);
    h->nbounds = sizeof latency_bounds / sizeof latency_bounds[0];
    memcpy(h->bounds, latency_bounds, sizeof latency_bounds);
}

void histo_observe(histo *h, double v)
{
    if (!(v > 0))
        v = 0;
    size_t i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

json_t *histo_json(const histo *h)
{
    json_t *bounds = json_array(), *counts = json_array();
    for (size_t i = 0; i < h->nbounds; i++)
        json_array_append_new(bounds, json_real(h->bounds[i]));
    for (size_t i = 0; i <= h->nbounds; i++)
        json_array_append_new(counts, json_integer((json_int_t)h->counts[i]));
    return json_pack("{s:o, s:o, s:f, s:I}", "bounds", bounds, "counts", counts, "sum", h->sum,
                     "count", (json_int_t)h->count);
}
