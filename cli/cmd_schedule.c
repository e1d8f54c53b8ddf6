/* weft schedule and weft backfill: a workflow's schedule.
 *
 *   weft schedule next FILE [-n N] [--after TIME] [--json]
 *       the next N (default 10) fire times of FILE's schedule after TIME (RFC 3339 with its
 *       offset; default now), in the schedule's time zone, with their offsets
 *   weft schedule add FILE [-p k=v]... [-l k=v]... [--name N] [--project P]
 *       the scheduler fires FILE's schedule from now on (each slot a run)
 *   weft schedule ls [--all]        schedules and backfills (--all: removed ones too)
 *   weft schedule pause|resume|rm NAME
 *   weft backfill FILE --from T1 --to T2 [--max-active N] [--rerun] [--name N]
 *       runs every slot of FILE's schedule in [T1, T2], skipping slots that succeeded
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

/* A time in a schedule's zone for people ("-" for none). */
static const char *when(const json_t *row, const char *k, char *buf, size_t n)
{
    const json_t *v = json_object_get(row, k);
    if (!json_is_integer(v))
        return "-";
    return cron_format(json_integer_value(v),
                       cli_str(json_object_get(row, "timing"), "timezone"), buf, n);
}

static void print_schedule(const json_t *r)
{
    char next[64], last[64], run[32] = "-";
    const json_t *timing = json_object_get(r, "timing");
    char every[32];
    const char *spec = cli_str(timing, "cron");
    if (!*spec) {
        snprintf(every, sizeof every, "every %llds",
                 (long long)json_integer_value(json_object_get(timing, "every_s")));
        spec = every;
    }
    if (json_is_integer(json_object_get(r, "last_run")))
        snprintf(run, sizeof run, "%lld",
                 (long long)json_integer_value(json_object_get(r, "last_run")));
    printf("%-24s %-8s %-9s %-20s %-25s %-25s %-6s %-9s %lld/%lld\n", cli_str(r, "name"),
           cli_str(r, "kind"), cli_str(r, "state"), spec, when(r, "next_s", next, sizeof next),
           when(r, "last_slot_s", last, sizeof last), run,
           *cli_str(r, "last_state") ? cli_str(r, "last_state") : "-",
           (long long)json_integer_value(json_object_get(r, "running")),
           (long long)json_integer_value(json_object_get(r, "queued")));
    if (*cli_str(r, "last_error"))
        printf("    a slot could not start: %s\n", cli_str(r, "last_error"));
}

static json_t *ask(const cli_opts *o, Weft__ScheduleRequest *rq, int *rc)
{
    Weft__Envelope env = WEFT__ENVELOPE__INIT;
    env.body_case = WEFT__ENVELOPE__BODY_SCHEDULE;
    env.schedule = rq;
    return cli_ask(o, &env, rc);
}

static int schedule_ls(const cli_opts *o)
{
    Weft__ScheduleRequest rq = WEFT__SCHEDULE_REQUEST__INIT;
    rq.op = WEFT__SCHEDULE_OP__SCHEDULE_LIST;
    rq.all = o->all;
    int rc;
    json_t *rows = ask(o, &rq, &rc);
    if (!rows)
        return rc;
    if (o->json) {
        cli_print_json(rows);
    } else {
        printf("%-24s %-8s %-9s %-20s %-25s %-25s %-6s %-9s %s\n", "NAME", "KIND", "STATE",
               "WHEN", "NEXT", "LAST SLOT", "RUN", "ITS STATE", "RUNNING/QUEUED");
        size_t i;
        json_t *r;
        cli_for_terminal(rows);
        json_array_foreach(rows, i, r)
            print_schedule(r);
    }
    json_decref(rows);
    return EXIT_OK;
}

static int schedule_change(const cli_opts *o, Weft__ScheduleOp op)
{
    if (o->nargs != 2) {
        fprintf(stderr, "weft: schedule %s takes a schedule's name\n", o->args[0]);
        return EXIT_USAGE;
    }
    Weft__ScheduleRequest rq = WEFT__SCHEDULE_REQUEST__INIT;
    rq.op = op;
    rq.name = o->args[1];
    int rc;
    json_t *row = ask(o, &rq, &rc);
    if (!row)
        return rc;
    if (o->json)
        cli_print_json(row);
    else
        printf("schedule %s: %s\n", cli_str(row, "name"), cli_str(row, "state"));
    json_decref(row);
    return EXIT_OK;
}

/* Registers the schedule or backfill how describes, of FILE (args[file]). */
static int register_file(cli_opts *o, size_t file, Weft__SubmitRequest *how)
{
    source *s = NULL;
    uint64_t run = 0;
    json_t *answer = NULL;
    how->schedule_name = (char *)(o->name ? o->name : "");
    int rc = cli_open_scheduler(o, &s);
    if (!rc)
        rc = cli_submit(s, o, o->args[file], how, &run, &answer);
    source_close(&s);
    if (rc)
        return rc;
    char next[64];
    if (o->json)
        cli_print_json(answer);
    else if (!strcmp(how->mode, "schedule"))
        printf("schedule %s added; next fire %s\n", cli_str(answer, "name"),
               when(answer, "next_s", next, sizeof next));
    else
        printf("backfill %s: %lld slots, %lld queued, %lld succeeded or running (weft list "
               "--schedule %s)\n", cli_str(answer, "name"),
               (long long)json_integer_value(json_object_get(answer, "slots")),
               (long long)json_integer_value(json_object_get(answer, "queued")),
               (long long)json_integer_value(json_object_get(answer, "skipped")),
               cli_str(answer, "name"));
    json_decref(answer);
    return EXIT_OK;
}

static int schedule_add(cli_opts *o)
{
    if (o->nargs != 2) {
        fprintf(stderr, "weft: schedule add takes a workflow file\n");
        return EXIT_USAGE;
    }
    Weft__SubmitRequest how = WEFT__SUBMIT_REQUEST__INIT;
    how.mode = "schedule";
    return register_file(o, 1, &how);
}

int cmd_backfill(cli_opts *o)
{
    Weft__SubmitRequest how = WEFT__SUBMIT_REQUEST__INIT;
    if (o->nargs != 1 || !o->from || !o->to) {
        fprintf(stderr, "weft: backfill takes a workflow file, --from TIME and --to TIME\n");
        return EXIT_USAGE;
    }
    if (cron_parse_time(o->from, &how.from_s) < 0 || cron_parse_time(o->to, &how.to_s) < 0) {
        fprintf(stderr, "weft: --from and --to take RFC 3339 times with their offset, such as "
                        "2026-03-29T00:00:00Z\n");
        return EXIT_USAGE;
    }
    how.mode = "backfill";
    how.max_active = o->max_active;
    how.rerun = o->rerun;
    return register_file(o, 0, &how);
}

int cmd_schedule(cli_opts *o)
{
    const char *sub = o->nargs ? o->args[0] : "";
    if (!strcmp(sub, "next"))
        return schedule_next(o);
    if (!strcmp(sub, "add"))
        return schedule_add(o);
    if (!strcmp(sub, "ls"))
        return schedule_ls(o);
    if (!strcmp(sub, "pause"))
        return schedule_change(o, WEFT__SCHEDULE_OP__SCHEDULE_PAUSE);
    if (!strcmp(sub, "resume"))
        return schedule_change(o, WEFT__SCHEDULE_OP__SCHEDULE_RESUME);
    if (!strcmp(sub, "rm"))
        return schedule_change(o, WEFT__SCHEDULE_OP__SCHEDULE_REMOVE);
    fprintf(stderr, "weft: schedule takes next, add, ls, pause, resume or rm\n");
    return EXIT_USAGE;
}
