/* weft notifications [RUN] [--json]: the notifications queued for a run (or for every run
 * this client may see), newest first, with each delivery attempt and its outcome. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "common/cron.h"
#include "common/units.h"

static const char *when(const json_t *o, const char *k, char *buf, size_t n)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? cron_format(json_integer_value(v) / 1000000, NULL, buf, n)
                              : "-";
}

static void print_notification(const json_t *r)
{
    char created[64], done[64];
    printf("%-6lld %-6lld %-12s %-8s %-10s %-3lld %-21s %s\n",
           (long long)json_integer_value(json_object_get(r, "id")),
           (long long)json_integer_value(json_object_get(r, "run_id")), cli_str(r, "event"),
           cli_str(r, "type"), cli_str(r, "state"),
           (long long)json_integer_value(json_object_get(r, "attempts")),
           when(r, "created_us", created, sizeof created), when(r, "finished_us", done,
                                                                 sizeof done));
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(r, "attempt_list"), i, a) {
        char at[64];
        long long status = json_integer_value(json_object_get(a, "status"));
        printf("    attempt %lld at %s: %s%s", (long long)json_integer_value(json_object_get(a,
               "number")), when(a, "started_us", at, sizeof at),
               *cli_str(a, "error") ? cli_str(a, "error") : "delivered",
               status ? "" : "\n");
        if (status)
            printf(" (reply %lld)\n", status);
    }
}

int cmd_notifications(cli_opts *o)
{
    uint64_t run = 0;
    if (o->nargs > 1 || (o->nargs && units_uint(o->args[0], 1, INT64_MAX, &run) < 0)) {
        fprintf(stderr, "weft: notifications takes [RUN] (a run id)\n");
        return EXIT_USAGE;
    }
    source *s = NULL;
    int rc = source_open(o, &s);
    if (rc)
        return rc;
    weft_err err = {0};
    json_t *rows = source_query(s, WEFT__QUERY_KIND__QUERY_NOTIFICATIONS, run, NULL, 0, &err);
    source_close(&s);
    if (!rows)
        return cli_exit_for(&err);
    if (o->json) {
        cli_print_json(rows);
    } else {
        cli_for_terminal(rows);
        printf("%-6s %-6s %-12s %-8s %-10s %-3s %-21s %s\n", "ID", "RUN", "EVENT", "TARGET",
               "STATE", "TRY", "QUEUED", "ENDED");
        size_t i;
        const json_t *r;
        json_array_foreach(rows, i, r)
            print_notification(r);
    }
    json_decref(rows);
    return EXIT_OK;
}
