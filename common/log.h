/* log: the process-wide log sink (one of the few globals weft allows).
 *
 * Lines go to stderr as "2026-11-23T10:00:00.123Z scheduler info: message". The level and
 * the component name are set once at start-up. Not for task logs: those go to files. */
#ifndef WEFT_LOG_H
#define WEFT_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3, LOG_OFF = 4 };

/* Sets the component name printed on each line (borrowed; must outlive the process's use). */
void log_init(const char *component, enum log_level level);
/* Parses "debug|info|warn|error|off"; returns -1 when unknown. */
int log_level_parse(const char *s);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Copies s into out (n bytes, NUL-terminated, truncated if need be) with every control
 * character written as \xNN. */
void log_escape(const char *s, char *out, size_t n);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
