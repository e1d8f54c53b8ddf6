/* units: duration and size parsing. See units.h. */
#include "common/units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

static int read_uint(const char **p, uint64_t *out)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return WEFT_EINVAL;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*s); s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return WEFT_EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = v;
    return 0;
}

int units_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v;
    if (!s || read_uint(&s, &v) < 0 || *s || v < lo || v > hi)
        return WEFT_EINVAL;
    *out = v;
    return 0;
}

int units_duration_ms(const char *s, int64_t *out_ms)
{
    static const struct {
        const char *name;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    uint64_t total = 0;
    uint64_t prev_unit = UINT64_MAX;
    if (!s || !*s)
        return WEFT_EINVAL;
    while (*s) {
        uint64_t v;
        if (read_uint(&s, &v) < 0)
            return WEFT_EINVAL;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t len = strlen(units[i].name);
            if (strncmp(s, units[i].name, len) == 0 && len > best_len) {
                best = i;
                best_len = len;
            }
        }
        if (!best_len || units[best].ms >= prev_unit)
            return WEFT_EINVAL;
        prev_unit = units[best].ms;
        if (v > (UINT64_MAX / 2 - total) / units[best].ms)
            return WEFT_EINVAL;
        total += v * units[best].ms;
        s += best_len;
    }
    if (total > (uint64_t)INT64_MAX)
        return WEFT_EINVAL;
    *out_ms = (int64_t)total;
    return 0;
}

int units_size_bytes(const char *s, uint64_t *out_bytes)
{
    uint64_t v;
    if (!s || read_uint(&s, &v) < 0)
        return WEFT_EINVAL;
    uint64_t mult = 1;
    switch (toupper((unsigned char)*s)) {
    case 'K': mult = 1ULL << 10; s++; break;
    case 'M': mult = 1ULL << 20; s++; break;
    case 'G': mult = 1ULL << 30; s++; break;
    case 'T': mult = 1ULL << 40; s++; break;
    default: break;
    }
    if (mult > 1 && *s == 'i')
        s++;
    if (*s == 'B')
        s++;
    if (*s)
        return WEFT_EINVAL;
    if (v > UINT64_MAX / mult)
        return WEFT_EINVAL;
    *out_bytes = v * mult;
    return 0;
}

char *units_format_ms(int64_t ms, char *buf, size_t n)
{
    if (ms < 1000)
        snprintf(buf, n, "%lldms", (long long)ms);
    else if (ms < 60000)
        snprintf(buf, n, "%.1fs", (double)ms / 1000.0);
    else if (ms < 3600000)
        snprintf(buf, n, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
    else
        snprintf(buf, n, "%lldh%02lldm", (long long)(ms / 3600000),
                 (long long)(ms / 60000 % 60));
    return buf;
}

char *units_format_bytes(uint64_t bytes, char *buf, size_t n)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof unit / sizeof *unit) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%llu B", (unsigned long long)bytes);
    else
        snprintf(buf, n, "%.1f %s", v, unit[u]);
    return buf;
}
