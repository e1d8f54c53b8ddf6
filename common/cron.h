/* cron: when a schedule fires. A pure function of (expression, zone, instant).
 *
 * An expression is 5 cron fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or
 * JAN-DEC, day of week 0-7 or SUN-SAT, 7 being Sunday too), each a list of `*`, `N`, `N-M`,
 * `*` or `N-M` with `/STEP`, or `N/STEP` (N to the field's end); or one of @hourly, @daily
 * (@midnight), @weekly, @monthly, @yearly (@annually). Vixie cron's rule for days: when both
 * the day-of-month and day-of-week fields are restricted (neither starts with `*`), a day
 * matches if either does; otherwise both must.
 *
 * Times are evaluated in an IANA time zone (UTC by default) with the system's tz database.
 * Across daylight-saving transitions: a local time that does not exist (the hour skipped in
 * spring) fires once, at the first instant after the gap (every slot in the gap fires that
 * once); a local time that occurs twice (the hour repeated in autumn) fires once, at its
 * first occurrence. Resolution is a minute.
 *
 * An interval schedule (every: 15m) fires at anchor + k * interval, to the second.
 *
 * Zones are applied by setting TZ for the duration of a call: the functions are not
 * thread-safe (weft's scheduler and CLI call them from one thread). */
#ifndef WEFT_CRON_H
#define WEFT_CRON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct cron_expr {
    uint64_t minutes;  /* bit m: minute m */
    uint32_t hours;    /* bit h */
    uint32_t days;     /* bit d (1-31) */
    uint16_t months;   /* bit m (1-12) */
    uint8_t weekdays;  /* bit d (0-6, Sunday 0) */
    uint8_t days_star, weekdays_star; /* the field started with '*' */
} cron_expr;

/* Parses text; 0, or -1 with why. */
int cron_parse(const char *text, cron_expr *out, char *why, size_t n);
/* Whether zone names a time zone of the tz database ("UTC" always does). */
int cron_zone_valid(const char *zone);
/* The first fire instant strictly after after_s (Unix seconds) in zone (NULL: UTC), or -1
 * when there is none in the next 8 years (30 February). */
int64_t cron_next(const cron_expr *e, const char *zone, int64_t after_s);
/* The first instant anchor + k * every_s strictly after after_s. */
int64_t cron_next_every(int64_t anchor_s, int64_t every_s, int64_t after_s);
/* The first fire of a workflow's schedule (dag.schedule: {"cron" | "every_s", "timezone",
 * "start_s", "end_s"}) strictly after after_s, not before its start nor after its end (an
 * interval schedule counts from its start, else from the Unix epoch); -1 when none. */
int64_t cron_schedule_next(const json_t *schedule, int64_t after_s);
/* The last fire of a schedule's expression or interval strictly before before_s, ignoring
 * its start and end (the beginning of the data interval that ends at a fire); -1 when none
 * in the 8 years before. */
int64_t cron_schedule_prev(const json_t *schedule, int64_t before_s);
/* t as RFC 3339 in zone (NULL: UTC), with its offset ("2026-03-29T03:00:00+02:00", UTC as
 * "Z"); returns buf. */
const char *cron_format(int64_t t, const char *zone, char *buf, size_t n);
/* Parses an RFC 3339 time ("2026-03-29T01:00:00Z", "...+02:00"; seconds optional) into
 * Unix seconds: 0, or -1. */
int cron_parse_time(const char *s, int64_t *out);
/* A time as a person gives it to a filter: RFC 3339, or a duration before now_s ("90m")
 * into Unix microseconds: 0, or -1. */
int cron_parse_when(const char *s, int64_t now_s, int64_t *us);

#endif
