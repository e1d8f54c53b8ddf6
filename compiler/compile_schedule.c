/* compile_schedule: a workflow's `schedule:` (and the `timezone:` beside a cron string),
 * checked and normalized into dag.schedule for the daemon and `weft schedule next`:
 * {"cron" | "every_s", "timezone", "start_s", "end_s", "catchup", "max_active_runs"}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cron.h"
#include "common/units.h"
#include "compiler/compile_int.h"

#define MAX_ACTIVE_RUNS_MAX 1000

static void compile_cron(cc *c, const ynode *n, json_t *out)
{
    cron_expr e;
    char why[200];
    if (!cc_expect(c, n, YN_SCALAR, "'cron'"))
        return;
    if (cron_parse(n->text, &e, why, sizeof why) < 0)
        diag_add(c->d, n->line, n->col, "schedule: %s", why);
    else
        json_object_set_new(out, "cron", json_string(n->text));
}

static void compile_every(cc *c, const ynode *n, json_t *out)
{
    int64_t ms;
    if (!cc_expect(c, n, YN_SCALAR, "'every'"))
        return;
    if (units_duration_ms(n->text, &ms) < 0 || ms < 1000 || ms % 1000)
        diag_add(c->d, n->line, n->col, "schedule: every: '%s' is not a duration of whole "
                 "seconds, at least 1s (such as 15m)", n->text);
    else
        json_object_set_new(out, "every_s", json_integer(ms / 1000));
}

static void compile_zone(cc *c, const ynode *n, json_t *out)
{
    if (!cc_expect(c, n, YN_SCALAR, "'timezone'"))
        return;
    if (!cron_zone_valid(n->text))
        diag_add(c->d, n->line, n->col, "schedule: unknown time zone '%s' (an IANA name such "
                 "as Europe/Oslo, or UTC)", n->text);
    else
        json_object_set_new(out, "timezone", json_string(n->text));
}

static void compile_time(cc *c, const ynode *n, const char *key, json_t *out)
{
    int64_t t;
    if (!cc_expect(c, n, YN_SCALAR, key))
        return;
    if (cron_parse_time(n->text, &t) < 0)
        diag_add(c->d, n->line, n->col, "schedule: %s: '%s' is not an RFC 3339 time with its "
                 "offset (such as 2026-01-01T00:00:00Z)", key, n->text);
    else
        json_object_set_new(out, !strcmp(key, "start") ? "start_s" : "end_s",
                            json_integer(t));
}

static void compile_policy(cc *c, const ynode *map, json_t *out)
{
    const ynode *n = ytree_get(map, "catchup");
    const char *catchup = "last";
    if (n && cc_expect(c, n, YN_SCALAR, "'catchup'")) {
        if (strcmp(n->text, "none") && strcmp(n->text, "last") && strcmp(n->text, "all"))
            diag_add(c->d, n->line, n->col, "schedule: catchup is none, last or all, not '%s'",
                     n->text);
        else
            catchup = n->text;
    }
    json_object_set_new(out, "catchup", json_string(catchup));
    long long active = 1;
    if ((n = ytree_get(map, "max_active_runs")) != NULL)
        cc_get_int(c, n, "'max_active_runs'", 1, MAX_ACTIVE_RUNS_MAX, &active);
    json_object_set_new(out, "max_active_runs", json_integer(active));
}

json_t *compile_schedule_vars(const json_t *schedule, int64_t time_s, int fired)
{
    int64_t end = time_s, start;
    if (schedule && !fired) {
        int64_t last = cron_schedule_prev(schedule, time_s + 1);
        end = last >= 0 ? last : time_s;
    }
    start = schedule ? cron_schedule_prev(schedule, end) : end;
    if (start < 0)
        start = end;
    const char *zone = schedule ? json_string_value(json_object_get(schedule, "timezone")) : NULL;
    char t[64], s[64], e[64];
    cron_format(time_s, zone, t, sizeof t);
    return json_pack("{s:s, s:s%, s:s, s:s}", "time", t, "date", t, (size_t)10,
                     "interval_start", cron_format(start, zone, s, sizeof s), "interval_end",
                     cron_format(end, zone, e, sizeof e));
}

void cc_compile_schedule(cc *c, const ynode *sn, const ynode *tzn)
{
    static const char *const known[] = {"cron", "every", "timezone", "start", "end",
                                        "catchup", "max_active_runs", NULL};
    if (!sn) {
        if (tzn)
            diag_add(c->d, tzn->line, tzn->col, "'timezone' applies to a 'schedule', and the "
                     "workflow has none");
        return;
    }
    json_t *out = json_pack("{s:s}", "timezone", "UTC");
    if (sn->kind == YN_SCALAR) {
        compile_cron(c, sn, out);
        if (tzn)
            compile_zone(c, tzn, out);
        compile_policy(c, &(ynode){.kind = YN_MAP}, out);
    } else if (cc_expect(c, sn, YN_MAP, "'schedule'")) {
        cc_check_keys(c, sn, "'schedule'", known);
        const ynode *cron = ytree_get(sn, "cron"), *every = ytree_get(sn, "every");
        if (!cron == !every)
            diag_add(c->d, sn->line, sn->col, "schedule: give either 'cron' or 'every'");
        if (cron)
            compile_cron(c, cron, out);
        if (every)
            compile_every(c, every, out);
        if (tzn)
            diag_add(c->d, tzn->line, tzn->col, "give 'timezone' inside 'schedule'");
        const ynode *n;
        if ((n = ytree_get(sn, "timezone")) != NULL)
            compile_zone(c, n, out);
        if ((n = ytree_get(sn, "start")) != NULL)
            compile_time(c, n, "start", out);
        if ((n = ytree_get(sn, "end")) != NULL)
            compile_time(c, n, "end", out);
        json_t *s = json_object_get(out, "start_s"), *e = json_object_get(out, "end_s");
        if (s && e && json_integer_value(e) <= json_integer_value(s))
            diag_add(c->d, sn->line, sn->col, "schedule: 'end' is not after 'start'");
        compile_policy(c, sn, out);
    }
    c->g->schedule = out;
}
