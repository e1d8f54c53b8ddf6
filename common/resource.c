/* resource: see resource.h. */
#include "common/resource.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/units.h"
#include "common/xmem.h"

int res_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= RES_NAME_MAX || !islower((unsigned char)name[0]))
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!islower(ch) && !isdigit(ch) && ch != '_' && ch != '.' && ch != '-')
            return 0;
    }
    return 1;
}

/* "2", "0.5", "1.25", "0.125": thousandths, of at most max wholes. */
static int parse_milli(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t whole = 0, frac = 0;
    int digits = 0, fd = 0;
    for (; isdigit((unsigned char)*s); s++, digits++)
        if ((whole = whole * 10 + (uint64_t)(*s - '0')) > max)
            return WEFT_EINVAL;
    if (*s == '.') {
        for (s++; isdigit((unsigned char)*s); s++, fd++) {
            if (fd < 3)
                frac = frac * 10 + (uint64_t)(*s - '0');
            else if (*s != '0')
                return WEFT_EINVAL; /* finer than a thousandth */
        }
    }
    if (*s || !digits)
        return WEFT_EINVAL;
    for (int i = fd < 3 ? fd : 3; i < 3; i++)
        frac *= 10;
    *out = whole * 1000 + frac;
    return *out > max * 1000 ? WEFT_EINVAL : 0;
}

int res_parse(const char *name, const char *text, uint64_t *out)
{
    if (!strcmp(name, "cpu"))
        return parse_milli(text, RES_CPU_MAX, out);
    if (!strcmp(name, "gpu")) {
        /* Whole devices, or a share of one: 0.5 yes, 1.5 no. */
        int rc = parse_milli(text, RES_GPU_MAX, out);
        return rc ? rc : *out > 1000 && *out % 1000 ? WEFT_EINVAL : 0;
    }
    if (!strcmp(name, "mem"))
        return units_size_bytes(text, out);
    return units_uint(text, 0, UINT64_C(1) << 53, out);
}

char *res_format(const char *name, uint64_t amount, char *buf, size_t n)
{
    if (!strcmp(name, "cpu") || !strcmp(name, "gpu")) {
        int len = snprintf(buf, n, "%llu.%03llu", (unsigned long long)(amount / 1000),
                           (unsigned long long)(amount % 1000));
        while (len > 0 && (size_t)len < n && buf[len - 1] == '0')
            buf[--len] = '\0';
        if (len > 0 && (size_t)len < n && buf[len - 1] == '.')
            buf[--len] = '\0';
        return buf;
    }
    if (!strcmp(name, "mem")) {
        static const char units[] = "KMGT";
        int u = -1;
        while (u < 3 && amount >= 1024 && amount % 1024 == 0) {
            amount /= 1024;
            u++;
        }
        if (u >= 0)
            snprintf(buf, n, "%llu%c", (unsigned long long)amount, units[u]);
        else
            snprintf(buf, n, "%llu", (unsigned long long)amount);
        return buf;
    }
    snprintf(buf, n, "%llu", (unsigned long long)amount);
    return buf;
}

size_t res_index(const res_amount *v, size_t n, const char *name)
{
    size_t i = 0;
    while (i < n && strcmp(v[i].name, name))
        i++;
    return i;
}

uint64_t res_get(const res_amount *v, size_t n, const char *name)
{
    size_t i = res_index(v, n, name);
    return i < n ? v[i].amount : 0;
}

int res_has_name(const res_amount *v, size_t n, const char *name)
{
    return res_index(v, n, name) < n;
}

int res_set(res_amount **v, size_t *n, const char *name, uint64_t amount)
{
    size_t i = res_index(*v, *n, name);
    if (i < *n) {
        (*v)[i].amount = amount;
        return 0;
    }
    if (*n >= RES_MAX)
        return -1;
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[*n] = (res_amount){xstrdup(name), amount};
    (*n)++;
    return 0;
}

void res_free(res_amount **v, size_t *n)
{
    for (size_t i = 0; *v && i < *n; i++)
        free((*v)[i].name);
    free(*v);
    *v = NULL;
    *n = 0;
}

int res_has_label(char *const *labels, size_t n, const char *label)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(labels[i], label))
            return 1;
    return 0;
}

int res_label_ok(const char *label)
{
    const char *eq = strchr(label, '=');
    if (!eq || (size_t)(eq - label) >= RES_NAME_MAX || strlen(eq + 1) == 0 ||
        strlen(eq + 1) >= RES_VALUE_MAX)
        return WEFT_EINVAL;
    char key[RES_NAME_MAX];
    memcpy(key, label, (size_t)(eq - label));
    key[eq - label] = '\0';
    if (!res_name_ok(key))
        return WEFT_EINVAL;
    for (const char *p = eq + 1; *p; p++)
        if (!isgraph((unsigned char)*p))
            return WEFT_EINVAL;
    return 0;
}
