/* fuzz_frame: the executor frames, length-prefixed protobuf messages on the pipes between a
 * worker and its executors: the worker's reassembly of frames from async reads (framebuf),
 * the executor's blocking reader (frame_read), and the ExecRequest and ExecResult in them.
 *
 * An input is a control byte (the frame limit: below 0x80 that many bytes, else 64 KiB),
 * a seed for the sizes of the reads the worker's loop sees, and the stream. The large limit
 * stands in for FRAME_MAX, which no input reaches either.
 *
 * Checked besides memory safety: both readers yield the same frames and stop at the same
 * place, for any split of the stream into reads: a frame over the limit is a protocol
 * error in both, a truncated last frame makes frame_read fail where framebuf keeps the
 * partial frame, and a stream that ends between frames is a clean end for frame_read. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/frame.h"
#include "common/xmem.h"
#include "tests/fuzz/fuzz.h"
#include "weft.pb-c.h"

#define MAX_FRAMES 64

typedef struct frames {
    const uint8_t *at[MAX_FRAMES]; /* into the input, for framebuf's frames */
    uint8_t *own[MAX_FRAMES];      /* frame_read's buffers */
    size_t len[MAX_FRAMES];
    size_t n;
    int end; /* framebuf: 0 more bytes needed, WEFT_EPROTO; frame_read: 1 clean end, or < 0 */
} frames;

/* Decodes a frame as each side does: the executor reads requests, the worker results. */
static void decode(const uint8_t *p, size_t n)
{
    Weft__ExecRequest *rq = weft__exec_request__unpack(NULL, n, p);
    if (rq)
        weft__exec_request__free_unpacked(rq, NULL);
    Weft__ExecResult *res = weft__exec_result__unpack(NULL, n, p);
    if (res)
        weft__exec_result__free_unpacked(res, NULL);
}

static size_t next_read(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return 1 + (*seed >> 16) % 23;
}

/* The worker's side: feeds the stream in reads of varying size, taking whole frames after
 * each read. Frames point into the input (the same bytes framebuf copied). */
static void by_framebuf(const uint8_t *s, size_t n, size_t max, uint32_t seed, frames *out,
                        size_t *left)
{
    framebuf fb;
    framebuf_init(&fb, max);
    size_t fed = 0, taken = 0;
    out->end = 0;
    while (fed < n && out->end == 0 && out->n < MAX_FRAMES) {
        size_t r = next_read(&seed);
        r = r < n - fed ? r : n - fed;
        framebuf_feed(&fb, s + fed, r);
        fed += r;
        const uint8_t *f;
        size_t len;
        int rc = 0;
        while (out->n < MAX_FRAMES && (rc = framebuf_next(&fb, &f, &len)) == 1) {
            WEFT_ASSERT(memcmp(f, s + taken + 4, len) == 0);
            out->at[out->n] = s + taken + 4;
            out->len[out->n++] = len;
            taken += 4 + len;
            decode(f, len);
        }
        if (out->n < MAX_FRAMES && rc < 0)
            out->end = rc;
    }
    *left = n - taken;
    framebuf_free(&fb);
}

/* The executor's side: blocking reads of the same stream from a file. */
static void by_frame_read(const uint8_t *s, size_t n, size_t max, frames *out)
{
    int fd = open(fuzz_path(0, s, n), O_RDONLY | O_CLOEXEC);
    WEFT_ASSERT(fd >= 0);
    framebuf fb;
    framebuf_init(&fb, max);
    out->end = 0;
    while (out->n < MAX_FRAMES && out->end == 0) {
        const uint8_t *f;
        size_t len;
        int rc = frame_read(fd, &fb, &f, &len);
        if (rc != 0) {
            out->end = rc;
            break;
        }
        out->own[out->n] = xmalloc(len ? len : 1);
        memcpy(out->own[out->n], f, len);
        out->len[out->n++] = len;
    }
    framebuf_free(&fb);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t max = data[0] < 0x80 ? data[0] : 1u << 16;
    uint32_t seed = data[1];
    const uint8_t *s = data + 2;
    size_t n = size - 2, left;
    frames a = {0}, b = {0};
    by_framebuf(s, n, max, seed, &a, &left);
    by_frame_read(s, n, max, &b);
    WEFT_ASSERT(a.n == b.n);
    for (size_t i = 0; i < a.n; i++)
        WEFT_ASSERT(a.len[i] == b.len[i] && memcmp(a.at[i], b.own[i], a.len[i]) == 0);
    if (a.n < MAX_FRAMES) {
        if (a.end == WEFT_EPROTO)
            WEFT_ASSERT(b.end == WEFT_EPROTO);
        else if (left > 0)
            WEFT_ASSERT(b.end == WEFT_EPROTO); /* a truncated frame */
        else
            WEFT_ASSERT(b.end == 1);
    }
    for (size_t i = 0; i < b.n; i++)
        free(b.own[i]);
    return 0;
}
