/* Unit tests: next-fire computation (common/cron.c) against a reference table, including the
 * daylight-saving nights of 2026 in Europe/Oslo and America/New_York (worked out from the
 * tz rules: Europe springs forward on 29 March at 01:00 UTC and falls back on 25 October at
 * 01:00 UTC; New York on 8 March at 07:00 UTC and 1 November at 06:00 UTC). */
#include <stdio.h>
#include <string.h>

#include "common/cron.h"
#include "tests/unit/selftest.h"

typedef struct fire_case {
    const char *expr, *zone, *after;
    const char *want[4]; /* the next fires, in the zone, as RFC 3339; NULL ends */
} fire_case;

static const fire_case cases[] = {
    /* Spring forward, Oslo: 02:30 does not exist; it fires once, at 03:00 (the first
     * instant after the gap), and the next day as usual. */
    {"30 2 * * *", "Europe/Oslo", "2026-03-28T12:00:00Z",
     {"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
    /* Every slot in the gap (02:00, 02:15, 02:30, 02:45) fires that once. */
    {"*/15 * * * *", "Europe/Oslo", "2026-03-29T00:40:00Z",
     {"2026-03-29T01:45:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:15:00+02:00"}},
    /* Fall back, Oslo: 02:30 happens twice; it fires at the first. */
    {"30 2 * * *", "Europe/Oslo", "2026-10-24T12:00:00Z",
     {"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
    /* ... and the repeated hour's slots are not fired again. */
    {"*/30 * * * *", "Europe/Oslo", "2026-10-25T00:10:00Z",
     {"2026-10-25T02:30:00+02:00", "2026-10-25T03:00:00+01:00"}},
    /* New York: the same on its own nights. */
    {"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
     {"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
    {"30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
     {"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
    /* Feb 29 and the 31st. */
    {"0 0 29 2 *", NULL, "2026-01-01T00:00:00Z",
     {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
    {"0 0 31 * *", NULL, "2026-04-01T00:00:00Z",
     {"2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}},
    /* Vixie's OR: the 13th or a Friday (6 Feb is a Friday, 13 Feb both). */
    {"0 0 13 * 5", NULL, "2026-02-01T00:00:00Z",
     {"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"}},
    /* A day-of-month starting with '*' means AND: a Monday on the 1st, 11th, 21st or 31st. */
    {"0 0 */10 * 1", NULL, "2026-01-01T00:00:00Z", {"2026-05-11T00:00:00Z"}},
    /* Steps across ranges: minutes 10, 25, 40; hours 8, 12, 16. */
    {"10-50/15 8-18/4 * * *", NULL, "2026-01-01T00:00:00Z",
     {"2026-01-01T08:10:00Z", "2026-01-01T08:25:00Z", "2026-01-01T08:40:00Z",
      "2026-01-01T12:10:00Z"}},
    {"5/20 * * * *", NULL, "2026-01-01T00:00:00Z",
     {"2026-01-01T00:05:00Z", "2026-01-01T00:25:00Z", "2026-01-01T00:45:00Z",
      "2026-01-01T01:05:00Z"}},
    /* Names, and Sunday as 7. 27 March 2026 is a Friday; 1 January 2027 too. */
    {"0 9 * jan-MAR MON-FRI", NULL, "2026-03-27T10:00:00Z",
     {"2026-03-30T09:00:00Z", "2026-03-31T09:00:00Z", "2027-01-01T09:00:00Z"}},
    {"0 12 * * 7", NULL, "2026-02-01T13:00:00Z", {"2026-02-08T12:00:00Z"}},
    /* Macros; "after" is strict. */
    {"@hourly", NULL, "2026-01-01T00:30:00Z", {"2026-01-01T01:00:00Z"}},
    {"@weekly", NULL, "2026-02-01T00:00:00Z", {"2026-02-08T00:00:00Z"}},
    {"@yearly", "Europe/Oslo", "2026-06-01T00:00:00Z", {"2027-01-01T00:00:00+01:00"}},
};

static int check_case(const fire_case *c)
{
    int fails = 0;
    cron_expr e;
    char why[200], got[64];
    int64_t t;
    CHECK(cron_parse(c->expr, &e, why, sizeof why) == 0);
    CHECK(cron_parse_time(c->after, &t) == 0);
    for (int i = 0; i < 4 && c->want[i]; i++) {
        t = cron_next(&e, c->zone, t);
        cron_format(t, c->zone, got, sizeof got);
        if (strcmp(got, c->want[i]) != 0) {
            fprintf(stderr, "  %s in %s after %s, fire %d: got %s, want %s\n", c->expr,
                    c->zone ? c->zone : "UTC", c->after, i + 1, got, c->want[i]);
            fails++;
        }
    }
    return fails;
}

static int test_bad(void)
{
    static const char *const bad[][2] = {
        {"61 * * * *", "minute: '61' is outside 0-59"},
        {"* * * *", "a cron schedule has 5 fields"},
        {"* * * * * *", "a cron schedule has 5 fields"},
        {"@sometimes", "unknown schedule '@sometimes'"},
        {"5-1 * * * *", "minute: '5-1' is outside 0-59 (or backwards)"},
        {"*/0 * * * *", "minute: '*/0' is not a value, a range or a step"},
        {"1,,2 * * * *", "minute: an empty item in '1,,2'"},
        {"* * * FOO *", "month: 'FOO' is not a value"},
        {"* * 0 * *", "day of month: '0' is outside 1-31"},
        {"* 24 * * *", "hour: '24' is outside 0-23"},
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cron_expr e;
        char why[200] = "";
        CHECK(cron_parse(bad[i][0], &e, why, sizeof why) < 0);
        if (!strstr(why, bad[i][1])) {
            fprintf(stderr, "  '%s': got '%s', want '%s'\n", bad[i][0], why, bad[i][1]);
            fails++;
        }
    }
    return fails;
}

static int test_misc(void)
{
    int fails = 0;
    cron_expr e;
    char why[200], buf[64];
    int64_t t;
    /* Never: 30 February. */
    CHECK(cron_parse("0 0 30 2 *", &e, why, sizeof why) == 0);
    CHECK(cron_next(&e, NULL, 0) == -1);
    /* Intervals, to the second, from their anchor. */
    CHECK(cron_parse_time("2026-01-01T00:07:00Z", &t) == 0);
    CHECK(cron_next_every(0, 900, t) == t + 8 * 60);
    CHECK(cron_next_every(t + 5, 3, t) == t + 5);
    CHECK(cron_next_every(t, 3, t) == t + 3);
    /* Times: offsets and their checks. */
    CHECK(cron_parse_time("2026-03-29T03:00:00+02:00", &t) == 0);
    CHECK_STR(cron_format(t, NULL, buf, sizeof buf), "2026-03-29T01:00:00Z");
    CHECK_STR(cron_format(t, "America/New_York", buf, sizeof buf), "2026-03-28T21:00:00-04:00");
    CHECK(cron_parse_time("2026-03-29 01:00Z", &t) == 0);
    CHECK(cron_parse_time("2026-02-30T00:00:00Z", &t) < 0);
    CHECK(cron_parse_time("2026-03-29T01:00:00", &t) < 0); /* no offset */
    CHECK(cron_parse_time("yesterday", &t) < 0);
    /* Zones. */
    CHECK(cron_zone_valid("Europe/Oslo") && cron_zone_valid("UTC") && cron_zone_valid(NULL));
    CHECK(!cron_zone_valid("Mars/Olympus") && !cron_zone_valid("../../etc/passwd") &&
          !cron_zone_valid("/etc/localtime"));
    return fails;
}

/* The previous fire: the start of a slot's data interval. */
static int test_prev(void)
{
    int fails = 0;
    int64_t t, want;
    json_t *daily = json_pack("{s:s, s:s}", "cron", "30 2 * * *", "timezone", "Europe/Oslo");
    /* Across spring-forward: 02:30 did not exist on 29 March, it fired at 03:00 local. */
    CHECK(cron_parse_time("2026-03-30T02:30:00+02:00", &t) == 0);
    CHECK(cron_parse_time("2026-03-29T03:00:00+02:00", &want) == 0);
    CHECK(cron_schedule_prev(daily, t) == want);
    CHECK(cron_schedule_next(daily, want) == t);
    json_decref(daily);
    json_t *sparse = json_pack("{s:s}", "cron", "* 0 * * *"); /* minutes of 00:xx only */
    CHECK(cron_parse_time("2026-01-02T00:00:00Z", &t) == 0);
    CHECK(cron_parse_time("2026-01-01T00:59:00Z", &want) == 0);
    CHECK(cron_schedule_prev(sparse, t) == want);
    json_decref(sparse);
    json_t *leap = json_pack("{s:s}", "cron", "0 0 29 2 *");
    CHECK(cron_parse_time("2028-02-29T00:00:00Z", &t) == 0);
    CHECK(cron_parse_time("2024-02-29T00:00:00Z", &want) == 0);
    CHECK(cron_schedule_prev(leap, t) == want);
    json_decref(leap);
    json_t *never = json_pack("{s:s}", "cron", "0 0 30 2 *");
    CHECK(cron_schedule_prev(never, t) == -1);
    json_decref(never);
    /* Intervals step back from their anchor, also past it. */
    json_t *every = json_pack("{s:i, s:i}", "every_s", 900, "start_s", 1000);
    CHECK(cron_schedule_prev(every, 1000) == 100);
    CHECK(cron_schedule_prev(every, 1901) == 1900);
    CHECK(cron_schedule_prev(every, 1900) == 1000);
    json_decref(every);
    return fails;
}

int test_cron(void)
{
    int fails = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fails += check_case(&cases[i]);
    return fails + test_bad() + test_misc() + test_prev();
}
