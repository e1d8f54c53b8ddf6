/* diag: positioned error list. See diag.h. */
#include "compiler/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"

struct diag_item {
    int line, col;
    size_t seq;
    char *msg;
    char *file; /* another file's error (diag_merge), or NULL: the list's own */
};

struct diag {
    char *file;
    struct diag_item *items;
    size_t n, cap, dropped;
};

diag *diag_new(const char *file)
{
    diag *d = xcalloc(1, sizeof *d);
    d->file = xstrdup(file);
    return d;
}

void diag_destroy(diag **dp)
{
    if (!dp || !*dp)
        return;
    for (size_t i = 0; i < (*dp)->n; i++) {
        free((*dp)->items[i].msg);
        free((*dp)->items[i].file);
    }
    free((*dp)->items);
    free((*dp)->file);
    free(*dp);
    *dp = NULL;
}

void diag_add(diag *d, int line, int col, const char *fmt, ...)
{
    if (d->n >= DIAG_MAX) {
        d->dropped++;
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    xgrow(&d->items, &d->cap, d->n + 1, sizeof *d->items);
    d->items[d->n] = (struct diag_item){line < 1 ? 1 : line, col < 1 ? 1 : col, d->n,
                                        xstrdup(buf), NULL};
    d->n++;
}

void diag_merge(diag *d, const diag *from)
{
    for (size_t i = 0; i < from->n; i++) {
        const struct diag_item *it = &from->items[i];
        if (d->n >= DIAG_MAX) {
            d->dropped++;
            continue;
        }
        xgrow(&d->items, &d->cap, d->n + 1, sizeof *d->items);
        d->items[d->n] = (struct diag_item){it->line, it->col, d->n, xstrdup(it->msg),
                                            xstrdup(it->file ? it->file : from->file)};
        d->n++;
    }
    d->dropped += from->dropped;
}

size_t diag_count(const diag *d)
{
    return d->n + d->dropped;
}

const char *diag_file(const diag *d)
{
    return d->file;
}

static int by_position(const void *a, const void *b)
{
    const struct diag_item *x = a, *y = b;
    if (!x->file != !y->file) /* the list's own file first */
        return x->file ? 1 : -1;
    if (x->file && strcmp(x->file, y->file))
        return strcmp(x->file, y->file);
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

char *diag_render(diag *d)
{
    if (d->n)
        qsort(d->items, d->n, sizeof *d->items, by_position);
    size_t cap = 64, len = 0;
    char *out = xmalloc(cap);
    out[0] = '\0';
    for (size_t i = 0; i <= d->n; i++) {
        char line[1400];
        if (i < d->n)
            snprintf(line, sizeof line, "%s:%d:%d: %s\n",
                     d->items[i].file ? d->items[i].file : d->file, d->items[i].line,
                     d->items[i].col, d->items[i].msg);
        else if (d->dropped)
            snprintf(line, sizeof line, "%s: %zu more errors not shown\n", d->file, d->dropped);
        else
            break;
        size_t l = strlen(line);
        xgrow(&out, &cap, len + l + 1, 1);
        memcpy(out + len, line, l + 1);
        len += l;
    }
    return out;
}
