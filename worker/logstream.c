/* logstream: streaming a running attempt's log. See logstream.h. */
#include "worker/logstream.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmem.h"

/* Whether a secret's value holds a line break (then no cut is safe). */
static int secret_spans_lines(const secret_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (strchr(s->values[i], '\n'))
            return 1;
    return 0;
}

/* The next chunk of the file at ls->in (masked; caller frees), or NULL. */
static char *next_chunk(logstream *ls, int fd, const secret_set *secrets, int final,
                        size_t *len)
{
    char *buf = xmalloc(LOGSTREAM_CHUNK);
    ssize_t n = pread(fd, buf, LOGSTREAM_CHUNK, (off_t)ls->in);
    size_t take = n > 0 ? (size_t)n : 0;
    if (take && secrets && secrets->n && !(final && take < LOGSTREAM_CHUNK)) {
        while (take && buf[take - 1] != '\n')
            take--; /* whole lines: else wait for the line's end */
        if (!take && n == LOGSTREAM_CHUNK)
            ls->stopped = 1; /* a line longer than a chunk could hide a secret's cut */
    }
    if (!take) {
        free(buf);
        return NULL;
    }
    ls->in += take;
    if (!secrets || !secrets->n) {
        *len = take;
        return buf;
    }
    char *masked = secrets_mask(secrets, buf, take, len);
    free(buf);
    return masked;
}

void logstream_pump(logstream *ls, const char *path, const secret_set *secrets,
                    uint64_t attempt_id, const char *nonce, int final, logstream_send_fn send,
                    void *ud)
{
    if (!path || ls->stopped || (secrets && secret_spans_lines(secrets)))
        return; /* (no path: an attempt refused before it had a log) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    for (int i = 0; i < (final ? INT32_MAX : LOGSTREAM_MAX_CHUNKS); i++) {
        size_t len;
        char *data = next_chunk(ls, fd, secrets, final, &len);
        if (!data)
            break;
        Weft__LogChunk c = WEFT__LOG_CHUNK__INIT;
        c.attempt_id = attempt_id;
        c.offset = ls->out;
        c.data.data = (uint8_t *)data;
        c.data.len = len;
        c.nonce = (char *)(nonce ? nonce : "");
        Weft__Envelope env = WEFT__ENVELOPE__INIT;
        env.body_case = WEFT__ENVELOPE__BODY_LOG_CHUNK;
        env.log_chunk = &c;
        send(ud, &env);
        ls->out += len;
        free(data);
    }
    close(fd);
}
