/* err: error codes and messages. See err.h. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(weft_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

const char *err_name(int code)
{
    switch (code) {
#define X(e, v, n, m) \
    case v:           \
        return n;
        WEFT_ERRNO_MAP(X)
#undef X
    }
    return "EUNKNOWN";
}

const char *err_str(int code)
{
    switch (code) {
#define X(e, v, n, m) \
    case v:           \
        return m;
        WEFT_ERRNO_MAP(X)
#undef X
    }
    return "unknown error";
}
