/* log: stderr log sink. See log.h. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *log_component = "weft";
static enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_init(const char *component, enum log_level level)
{
    log_component = component;
    log_threshold = level;
}

int log_level_parse(const char *s)
{
    for (int i = 0; i <= LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < log_threshold)
        return;
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ %s %s: ", (long)tv.tv_usec / 1000,
                  log_component, level_names[level]);
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line per entry, whatever a peer or a plugin put in a name or a message: control
     * characters (a newline forging an entry, a terminal escape) are written as \xNN. */
    log_escape(msg, line + n, sizeof line - (size_t)n);
    fprintf(stderr, "%s\n", line);
}

void log_escape(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 9 < n; s++) {
        unsigned char ch = (unsigned char)*s, next = (unsigned char)s[1];
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(out + o, n - o, "\\x%02x", ch);
        else if (ch == 0xc2 && next >= 0x80 && next <= 0x9f) /* a C1 control in UTF-8 */
            o += (size_t)snprintf(out + o, n - o, "\\x%02x\\x%02x", ch, next), s++;
        else
            out[o++] = (char)ch;
    }
    if (n)
        out[o < n ? o : n - 1] = '\0';
}
