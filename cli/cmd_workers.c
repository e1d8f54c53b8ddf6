/* cmd_workers: weft workers, the registered workers with what they offer and hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/resource.h"

/* "used/offered" of the resource name in w, as a workflow writes amounts; "-" when w
 * does not offer it. */
static const char *held(const json_t *w, const char *name, char *buf, size_t n)
{
    const json_t *cap = json_object_get(json_object_get(w, "capacity"), name),
                 *used = json_object_get(json_object_get(w, "used"), name);
    if (!cap) {
        snprintf(buf, n, "-");
        return buf;
    }
    char a[32], b[32];
    if (!strcmp(name, "cpu") || !strcmp(name, "gpu")) {
        snprintf(buf, n, "%s/%s",
                 res_format(name, (uint64_t)(json_number_value(used) * 1000 + 0.5), a, sizeof a),
                 res_format(name, (uint64_t)(json_number_value(cap) * 1000 + 0.5), b, sizeof b));
        return buf;
    }
    snprintf(buf, n, "%s/%s", res_format(name, (uint64_t)json_integer_value(used), a, sizeof a),
             res_format(name, (uint64_t)json_integer_value(cap), b, sizeof b));
    return buf;
}

/* The worker's other resources and labels, "name used/offered, ..., k=v, ...". */
static void extras(const json_t *w, char *buf, size_t n)
{
    size_t off = 0;
    const char *name;
    json_t *v;
    buf[0] = '\0';
    json_object_foreach(json_object_get(w, "capacity"), name, v) {
        if (off >= n)
            return;
        if (!strcmp(name, "cpu") || !strcmp(name, "mem") || !strcmp(name, "gpu"))
            continue;
        char h[80];
        off += (size_t)snprintf(buf + off, n - off, "%s%s %s", off ? ", " : "", name,
                                held(w, name, h, sizeof h));
    }
    size_t i;
    json_array_foreach(json_object_get(w, "labels"), i, v) {
        if (off >= n)
            return;
        off += (size_t)snprintf(buf + off, n - off, "%s%s", off ? ", " : "",
                                json_string_value(v));
    }
}

static int print_workers(const json_t *ws, const cli_opts *o)
{
    (void)o;
    printf("%-20s %-7s %-9s %-13s %-9s %-8s %s\n", "WORKER", "SLOTS", "CPU", "MEM", "GPU",
           "SEEN", "RESOURCES, LABELS");
    size_t i;
    json_t *w;
    json_array_foreach(ws, i, w) {
        char slots[24], cpu[48], mem[64], gpu[32], seen[24], more[512];
        snprintf(slots, sizeof slots, "%lld/%lld",
                 (long long)(json_integer_value(json_object_get(w, "slots")) -
                             json_integer_value(json_object_get(w, "free_slots"))),
                 (long long)json_integer_value(json_object_get(w, "slots")));
        long long ago = ((long long)time(NULL) * 1000000 -
                         (long long)json_integer_value(json_object_get(w, "last_seen_us"))) /
                        1000000;
        snprintf(seen, sizeof seen, "%llds ago", ago < 0 ? 0 : ago);
        extras(w, more, sizeof more);
        printf("%-20s %-7s %-9s %-13s %-9s %-8s %s\n", cli_str(w, "name"), slots,
               held(w, "cpu", cpu, sizeof cpu), held(w, "mem", mem, sizeof mem),
               held(w, "gpu", gpu, sizeof gpu), seen, more);
    }
    return EXIT_OK;
}

int cmd_workers(cli_opts *o)
{
    if (o->nargs) {
        fprintf(stderr, "weft: workers takes no arguments\n");
        return EXIT_USAGE;
    }
    return cli_show(o, WEFT__QUERY_KIND__QUERY_WORKERS, 0, NULL, print_workers);
}
