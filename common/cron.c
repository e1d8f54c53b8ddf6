/* cron: when a schedule fires. See cron.h. */
#define _DEFAULT_SOURCE /* tm_gmtoff */
#include "common/cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/units.h"
#include "common/xmem.h"

#define SEARCH_DAYS (8 * 366)

/* ---- parsing ---- */

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

typedef struct field {
    const char *what;
    int lo, hi;
    const char *const *names; /* NULL, or the names of lo.. */
    int name_base;
} field;

/* A number or a name at *p; advances *p. -1 when there is none. */
static int value_at(const char **p, const field *f)
{
    if (isdigit((unsigned char)**p)) {
        int v = 0;
        while (isdigit((unsigned char)**p) && v < 1000)
            v = v * 10 + (*(*p)++ - '0');
        return v;
    }
    for (int i = 0; f->names && i < (f->name_base ? 12 : 7); i++)
        if (!strncasecmp(*p, f->names[i], 3)) {
            *p += 3;
            return i + f->name_base;
        }
    return -1;
}

/* One comma-separated item of a field: sets its bits. */
static int parse_item(const char *s, const field *f, uint64_t *bits, char *why, size_t n)
{
    const char *p = s;
    int a = f->lo, b = f->hi, step = 1;
    if (*p == '*') {
        p++;
    } else {
        if ((a = value_at(&p, f)) < 0)
            goto bad;
        b = a;
        if (*p == '-') {
            p++;
            if ((b = value_at(&p, f)) < 0)
                goto bad;
        } else if (*p == '/') {
            b = f->hi; /* N/STEP: from N to the field's end */
        }
    }
    if (*p == '/') {
        p++;
        if ((step = value_at(&p, &(field){0})) < 1)
            goto bad;
    }
    if (*p)
        goto bad;
    if (a < f->lo || b > f->hi || a > b) {
        snprintf(why, n, "%s: '%s' is outside %d-%d (or backwards)", f->what, s, f->lo, f->hi);
        return -1;
    }
    for (int v = a; v <= b; v += step)
        *bits |= 1ull << v;
    return 0;
bad:
    snprintf(why, n, "%s: '%s' is not a value, a range or a step", f->what, s);
    return -1;
}

static int parse_field(const char *text, const field *f, uint64_t *bits, char *why, size_t n)
{
    char *copy = xstrdup(text), *save = NULL;
    int rc = 0;
    *bits = 0;
    if (!*text || text[strlen(text) - 1] == ',' || strstr(text, ",,")) {
        snprintf(why, n, "%s: an empty item in '%s'", f->what, text);
        rc = -1;
    }
    for (char *item = strtok_r(copy, ",", &save); !rc && item; item = strtok_r(NULL, ",", &save))
        rc = parse_item(item, f, bits, why, n);
    free(copy);
    return rc;
}

static const char *macro(const char *text)
{
    static const char *const m[][2] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(text, m[i][0]))
            return m[i][1];
    return NULL;
}

int cron_parse(const char *text, cron_expr *out, char *why, size_t n)
{
    memset(out, 0, sizeof *out);
    if (text[0] == '@' && !macro(text)) {
        snprintf(why, n, "unknown schedule '%s' (@hourly, @daily, @weekly, @monthly, @yearly)",
                 text);
        return -1;
    }
    char *copy = xstrdup(macro(text) ? macro(text) : text), *save = NULL, *f[6];
    int nf = 0;
    for (char *t = strtok_r(copy, " \t", &save); t && nf < 6; t = strtok_r(NULL, " \t", &save))
        f[nf++] = t;
    static const field fields[] = {{"minute", 0, 59, NULL, 0},
                                   {"hour", 0, 23, NULL, 0},
                                   {"day of month", 1, 31, NULL, 0},
                                   {"month", 1, 12, month_names, 1},
                                   {"day of week", 0, 7, day_names, 0}};
    uint64_t bits[5];
    int rc = 0;
    if (nf != 5) {
        snprintf(why, n, "a cron schedule has 5 fields (minute hour day-of-month month "
                 "day-of-week), not %d", nf);
        rc = -1;
    }
    for (int i = 0; !rc && i < 5; i++)
        rc = parse_field(f[i], &fields[i], &bits[i], why, n);
    if (!rc) {
        out->minutes = bits[0];
        out->hours = (uint32_t)bits[1];
        out->days = (uint32_t)bits[2];
        out->months = (uint16_t)bits[3];
        out->weekdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday */
        out->days_star = f[2][0] == '*';
        out->weekdays_star = f[4][0] == '*';
    }
    free(copy);
    return rc;
}

/* ---- civil dates (proleptic Gregorian, days since 1970-01-01) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* ---- zones ---- */

static int is_utc(const char *zone)
{
    return !zone || !*zone || !strcmp(zone, "UTC") || !strcmp(zone, "Etc/UTC");
}

int cron_zone_valid(const char *zone)
{
    if (is_utc(zone))
        return 1;
    size_t len = strlen(zone);
    if (len > 64 || zone[0] == '/' || strstr(zone, "..") ||
        strspn(zone, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") != len)
        return 0;
    const char *dir = getenv("TZDIR");
    char *path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    FILE *f = fopen(path, "rb");
    free(path);
    char magic[4] = {0};
    int ok = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
    if (f)
        fclose(f);
    return ok;
}

typedef struct zone_saved {
    char *tz;
    int had;
} zone_saved;

/* Makes zone the process's local time zone until zone_leave. */
static void zone_enter(const char *zone, zone_saved *z)
{
    const char *old = getenv("TZ");
    z->had = old != NULL;
    z->tz = old ? xstrdup(old) : NULL;
    setenv("TZ", is_utc(zone) ? "UTC0" : zone, 1);
    tzset();
}

static void zone_leave(zone_saved *z)
{
    if (z->had)
        setenv("TZ", z->tz, 1);
    else
        unsetenv("TZ");
    tzset();
    free(z->tz);
}

/* ---- next fire ---- */

/* A local time as a number that orders local times (to the minute). */
static int64_t key_of(int y, int m, int d, int h, int mi)
{
    return (((int64_t)days_from_civil(y, m, d) * 24 + h) * 60) + mi;
}

static int64_t key_at(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    localtime_r(&tt, &tm);
    return key_of(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/* The instant local time (y, m, d, h, mi) fires, if after `after`: its first occurrence; for
 * a time in a gap, the first instant after the gap. -1 when it is not after `after`. */
static int64_t instant_of(int y, int m, int d, int h, int mi, int64_t after)
{
    int64_t want = key_of(y, m, d, h, mi), lo = -1, hi = -1, best = -1;
    int exists = 0;
    for (int dst = 0; dst <= 1; dst++) {
        struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = h,
                        .tm_min = mi, .tm_isdst = dst};
        time_t u = mktime(&tm);
        if (u == (time_t)-1)
            continue;
        lo = lo < 0 || u < lo ? u : lo;
        hi = u > hi ? u : hi;
        if (key_at(u) != want)
            continue;
        exists = 1;
        if (best < 0 || u < best)
            best = u;
    }
    if (exists)
        return best > after ? best : -1;
    if (lo < 0)
        return -1;
    /* In a gap: local time runs forward through [lo, hi], so search it for the first
     * instant at or past the wanted time. */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (key_at(mid) >= want)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo > after ? lo : -1;
}

static int day_matches(const cron_expr *e, int64_t day, int m, int d)
{
    if (!(e->months >> m & 1))
        return 0;
    int wd = (int)(((day % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
    int dom = e->days >> d & 1, dow = e->weekdays >> wd & 1;
    if (!e->days_star && !e->weekdays_star)
        return dom || dow; /* Vixie cron: either restricted field */
    return dom && dow;
}

int64_t cron_next(const cron_expr *e, const char *zone, int64_t after_s)
{
    zone_saved z;
    zone_enter(zone, &z);
    int64_t from = key_at(after_s) + 1; /* the next local minute */
    int64_t first_day = from / (24 * 60), found = -1;
    for (int64_t day = first_day; found < 0 && day < first_day + SEARCH_DAYS; day++) {
        int y, m, d;
        civil_from_days(day, &y, &m, &d);
        if (!day_matches(e, day, m, d))
            continue;
        for (int h = 0; found < 0 && h < 24; h++) {
            if (!(e->hours >> h & 1))
                continue;
            for (int mi = 0; found < 0 && mi < 60; mi++)
                if (e->minutes >> mi & 1 && key_of(y, m, d, h, mi) >= from)
                    found = instant_of(y, m, d, h, mi, after_s);
        }
    }
    zone_leave(&z);
    return found;
}

int64_t cron_next_every(int64_t anchor_s, int64_t every_s, int64_t after_s)
{
    if (after_s < anchor_s)
        return anchor_s;
    return anchor_s + ((after_s - anchor_s) / every_s + 1) * every_s;
}

/* The first fire of schedule's expression or interval strictly after after_s, ignoring its
 * start (but an interval counts from it) and end. */
static int64_t unbounded_next(const json_t *schedule, int64_t after_s)
{
    const json_t *start = json_object_get(schedule, "start_s");
    const char *text = json_string_value(json_object_get(schedule, "cron"));
    int64_t every = json_integer_value(json_object_get(schedule, "every_s"));
    cron_expr e;
    char why[200];
    if (text && cron_parse(text, &e, why, sizeof why) == 0)
        return cron_next(&e, json_string_value(json_object_get(schedule, "timezone")), after_s);
    if (!text && every > 0)
        return cron_next_every(start ? json_integer_value(start) : 0, every, after_s);
    return -1;
}

int64_t cron_schedule_next(const json_t *schedule, int64_t after_s)
{
    const json_t *start = json_object_get(schedule, "start_s");
    const json_t *end = json_object_get(schedule, "end_s");
    if (start && after_s < json_integer_value(start) - 1)
        after_s = json_integer_value(start) - 1; /* the start itself may fire */
    int64_t t = unbounded_next(schedule, after_s);
    return t >= 0 && end && t > json_integer_value(end) ? -1 : t;
}

#define PREV_WINDOW_MAX (SEARCH_DAYS * 24 * 3600)

int64_t cron_schedule_prev(const json_t *schedule, int64_t before_s)
{
    int64_t every = json_integer_value(json_object_get(schedule, "every_s"));
    if (every > 0) { /* anchor + k * every, k of either sign */
        int64_t anchor = json_integer_value(json_object_get(schedule, "start_s"));
        int64_t k = (before_s - 1 - anchor) / every;
        if ((before_s - 1 - anchor) % every < 0)
            k--;
        return anchor + k * every;
    }
    /* Look back over a window four times longer each time, then walk forward from the
     * first fire in it to the last one before before_s. */
    for (int64_t w = 60; w <= PREV_WINDOW_MAX; w *= 4) {
        int64_t t = unbounded_next(schedule, before_s - w - 1);
        if (t < 0 || t >= before_s)
            continue;
        for (int64_t n; (n = unbounded_next(schedule, t)) >= 0 && n < before_s;)
            t = n;
        return t;
    }
    return -1;
}

/* ---- RFC 3339 ---- */

const char *cron_format(int64_t t, const char *zone, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (is_utc(zone)) {
        /* No zone to enter: tzset would read /etc/localtime twice, for every run. */
        gmtime_r(&tt, &tm);
    } else {
        zone_saved z;
        zone_enter(zone, &z);
        localtime_r(&tt, &tm);
        zone_leave(&z);
    }
    int off = (int)(tm.tm_gmtoff / 60); /* minutes; within a day */
    char tail[16] = "Z";
    if (!is_utc(zone) || off)
        snprintf(tail, sizeof tail, "%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60 % 100,
                 abs(off) % 60);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%s", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tail);
    return buf;
}

int cron_parse_time(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec = 0, used = 0, oh = 0, om = 0;
    char sep;
    if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &used) != 6 ||
        (sep != 'T' && sep != 't' && sep != ' '))
        return -1;
    const char *p = s + used;
    if (*p == ':') {
        int more = 0;
        if (sscanf(p, ":%2d%n", &sec, &more) != 1)
            return -1;
        p += more;
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        int more = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &more) != 2)
            return -1;
        p += 1 + more;
    } else {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
        oh > 23 || om > 59)
        return -1;
    int cy, cm, cd;
    civil_from_days(days_from_civil(y, mo, d), &cy, &cm, &cd);
    if (cd != d) /* 30 February */
        return -1;
    *out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec -
           sign * (oh * 3600 + om * 60);
    return 0;
}

int cron_parse_when(const char *s, int64_t now_s, int64_t *us)
{
    int64_t t, ms;
    if (cron_parse_time(s, &t) == 0) {
        *us = t * 1000000;
        return 0;
    }
    if (units_duration_ms(s, &ms) < 0)
        return -1;
    *us = now_s * 1000000 - ms * 1000;
    return 0;
}
