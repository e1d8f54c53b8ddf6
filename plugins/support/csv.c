/* csv: see csv.h. */
#include "plugins/support/csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int csv_open(csv_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->f = fopen(path, "r");
    if (!r->f) {
        snprintf(r->err, sizeof r->err, "%s", strerror(errno));
        return -1;
    }
    r->next_line = 1;
    return 0;
}

void csv_close(csv_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    free(r->offs);
    free(r->fields);
    memset(r, 0, sizeof *r);
}

int csv_rewind(csv_reader *r)
{
    r->next_line = 1;
    return fseek(r->f, 0, SEEK_SET);
}

static int put(csv_reader *r, char c)
{
    if (r->len == r->cap) {
        if (r->cap >= CSV_RECORD_MAX) {
            snprintf(r->err, sizeof r->err, "line %zu: a record longer than %u MiB", r->line,
                     CSV_RECORD_MAX >> 20);
            return -1;
        }
        r->cap = r->cap ? 2 * r->cap : 4096;
        r->buf = realloc(r->buf, r->cap);
    }
    r->buf[r->len++] = c;
    return 0;
}

static int end_field(csv_reader *r)
{
    if (r->nfields == r->capfields) {
        if (r->capfields >= CSV_FIELDS_MAX) {
            snprintf(r->err, sizeof r->err, "line %zu: more than %u fields", r->line,
                     CSV_FIELDS_MAX);
            return -1;
        }
        r->capfields = r->capfields ? 2 * r->capfields : 64;
        r->offs = realloc(r->offs, r->capfields * sizeof *r->offs);
        r->fields = realloc(r->fields, r->capfields * sizeof *r->fields);
    }
    r->offs[r->nfields++] = r->len;
    return 0;
}

static int read_record(csv_reader *r, int *blank)
{
    r->len = 0;
    r->nfields = 0;
    r->line = r->next_line;
    /* cr: the last byte put is a CR read outside quotes, dropped at the record's end (CRLF) */
    int c = getc_unlocked(r->f), quoted = 0, started = 0, quoted_any = 0, cr = 0;
    if (c == EOF)
        return ferror(r->f) ? (snprintf(r->err, sizeof r->err, "%s", strerror(errno)), -1) : 0;
    size_t start = 0;
    for (;; c = getc_unlocked(r->f)) {
        if (c == '\0') {
            /* Fields are C strings: a NUL would cut one short without a word. */
            snprintf(r->err, sizeof r->err, "line %zu: a NUL byte (not a text file)",
                     r->next_line);
            return -1;
        }
        if (quoted) {
            if (c == EOF) {
                snprintf(r->err, sizeof r->err, "line %zu: a quoted field is not closed",
                         r->line);
                return -1;
            }
            if (c == '"') {
                int d = getc_unlocked(r->f);
                if (d != '"') {
                    quoted = 0;
                    ungetc(d, r->f);
                    continue;
                }
            }
            if (c == '\n')
                r->next_line++;
            if (put(r, (char)c) < 0)
                return -1;
            continue;
        }
        if (c == '"' && !started) {
            quoted = started = quoted_any = 1;
            continue;
        }
        if (c == ',' || c == '\n' || c == EOF) {
            if (cr && c != ',')
                r->len--;
            if (end_field(r) < 0)
                return -1;
            r->offs[r->nfields - 1] = start;
            if (put(r, '\0') < 0)
                return -1;
            start = r->len;
            started = cr = 0;
            if (c != ',')
                break;
            continue;
        }
        started = 1;
        cr = c == '\r';
        if (put(r, (char)c) < 0)
            return -1;
    }
    r->next_line++;
    *blank = r->nfields == 1 && r->len == 1 && !quoted_any;
    for (size_t i = 0; i < r->nfields; i++)
        r->fields[i] = r->buf + r->offs[i];
    return 1;
}

int csv_next(csv_reader *r)
{
    int rc, blank;
    while ((rc = read_record(r, &blank)) == 1 && blank) {
    }
    return rc;
}

long csv_find(char *const *header, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(header[i], name))
            return (long)i;
    return -1;
}

void csv_write(FILE *f, char *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = fields[i];
        if (i)
            fputc(',', f);
        if (!strpbrk(s, ",\"\r\n") && (*s || n > 1)) { /* a lone "" is not a blank line */
            fputs(s, f);
            continue;
        }
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    }
    fputc('\n', f);
}

int csv_is_null(const char *s)
{
    return !*s || !strcasecmp(s, "NA") || !strcasecmp(s, "N/A") || !strcasecmp(s, "NaN") ||
           !strcasecmp(s, "null");
}

int csv_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}
