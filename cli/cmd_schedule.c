/* weft schedule: a workflow's schedule.
 *
 *   weft schedule next FILE [-n N] [--after TIME] [--json]
 *       the next N (default 10) fire times of FILE's schedule after TIME (RFC 3339 with its
 *       offset; default now), in the schedule's time zone, with their offsets
 *
 * The times come from the same function the scheduler fires by (common/cron.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/cron.h"

static int schedule_next(cli_opts *o)
{
    if (o->nargs != 2) {
        fprintf(stderr, "weft: schedule next takes a workflow file\n");
        return EXIT_USAGE;
    }
    int64_t after = (int64_t)time(NULL);
    if (o->after && cron_parse_time(o->after, &after) < 0) {
        fprintf(stderr, "weft: --after takes an RFC 3339 time with its offset, such as "
                        "2026-03-29T00:00:00Z, not '%s'\n", o->after);
        return EXIT_USAGE;
    }
    int rc = EXIT_OK;
    dag *g = cli_compile(o, o->args[1], &rc);
    if (!g)
        return rc;
    if (!g->schedule) {
        fprintf(stderr, "weft: %s has no schedule\n", o->args[1]);
        dag_free(g);
        return EXIT_USAGE;
    }
    const char *zone = json_string_value(json_object_get(g->schedule, "timezone"));
    json_t *fires = json_array();
    char buf[64];
    uint32_t n = o->count ? o->count : 10;
    for (uint32_t i = 0; i < n && (after = cron_schedule_next(g->schedule, after)) >= 0; i++)
        json_array_append_new(fires, json_string(cron_format(after, zone, buf, sizeof buf)));
    if (o->json) {
        json_t *j = json_pack("{s:s, s:O, s:O}", "workflow", g->name, "schedule", g->schedule,
                              "fires", fires);
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(j);
    } else {
        size_t i;
        json_t *f;
        json_array_foreach(fires, i, f)
            puts(json_string_value(f));
        if (!json_array_size(fires))
            fprintf(stderr, "weft: the schedule of %s never fires after that\n", o->args[1]);
    }
    json_decref(fires);
    dag_free(g);
    return EXIT_OK;
}

int cmd_schedule(cli_opts *o)
{
    const char *sub = o->nargs ? o->args[0] : "";
    if (!strcmp(sub, "next"))
        return schedule_next(o);
    fprintf(stderr, "weft: schedule takes next FILE [-n N] [--after TIME]\n");
    return EXIT_USAGE;
}
