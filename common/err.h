/* err: weft's error codes and the error-with-message carrier used across modules.
 *
 * Functions return 0 or a negative WEFT_E* code. Calls whose failure a user must read
 * (parse, compile, load, catalogue) also take a weft_err, whose message names the thing
 * and the place. This module is not a logger: it only formats into the caller's buffer. */
#ifndef WEFT_ERR_H
#define WEFT_ERR_H

#include <stddef.h>

/* X(enum, value, name, message) */
#define WEFT_ERRNO_MAP(X)                                                \
    X(WEFT_EINVAL, -1, "EINVAL", "invalid argument or input")             \
    X(WEFT_ENOMEM, -2, "ENOMEM", "out of memory")                         \
    X(WEFT_EIO, -3, "EIO", "input/output error")                          \
    X(WEFT_ENOTFOUND, -4, "ENOTFOUND", "not found")                       \
    X(WEFT_EPROTO, -5, "EPROTO", "protocol error")                        \
    X(WEFT_ELIMIT, -6, "ELIMIT", "limit exceeded")                        \
    X(WEFT_EDB, -7, "EDB", "catalogue error")                             \
    X(WEFT_EBUSY, -8, "EBUSY", "resource busy")                           \
    X(WEFT_EUNREACH, -9, "EUNREACH", "cannot reach the scheduler")        \
    X(WEFT_EPLUGIN, -10, "EPLUGIN", "plugin refused")                     \
    X(WEFT_ECOMPILE, -11, "ECOMPILE", "workflow is invalid")                 \
    X(WEFT_ECORRUPT, -12, "ECORRUPT", "content does not match its hash")   \
    X(WEFT_EUNAVAIL, -13, "EUNAVAIL", "the catalogue cannot be written")     \
    X(WEFT_EDENIED, -14, "EDENIED", "not allowed")

enum weft_errcode {
#define X(e, v, n, m) e = v,
    WEFT_ERRNO_MAP(X)
#undef X
};

#define WEFT_ERR_MSG_MAX 256

typedef struct weft_err {
    int code;
    char msg[WEFT_ERR_MSG_MAX];
} weft_err;

/* Sets err (when not NULL) to code and the formatted message; returns code, so callers
 * write `return err_set(err, WEFT_EINVAL, "...")`. A message longer than the buffer is
 * truncated. */
int err_set(weft_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The symbolic name ("EINVAL") and default message of a code; "EUNKNOWN" for others. */
const char *err_name(int code);
const char *err_str(int code);

#endif
