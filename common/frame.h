/* frame: length-prefixed frames over a byte stream (worker <-> executor pipes).
 *
 * A frame is a 4-byte big-endian length followed by that many bytes. A length above the
 * reader's maximum is a protocol error: the stream cannot be trusted after it. The blocking
 * functions serve the executor; framebuf reassembles frames from the worker's async reads. */
#ifndef WEFT_FRAME_H
#define WEFT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX (64u << 20) /* 64 MiB: the largest frame either side accepts */

/* Accumulates stream bytes and yields whole frames. */
typedef struct framebuf {
    uint8_t *data;
    size_t len, cap, off;
    size_t max;
} framebuf;

/* Writes one frame to fd (in one write when the stream takes it whole), retrying on EINTR
 * and short writes. 0 or -errno. */
int frame_write(int fd, const void *data, size_t len);
/* Reads the next frame from fd through fb (whose maximum bounds it): reads as much as is
 * there at a time, so frames that arrived together cost one read. Returns 0 and points
 * *frame and *len at it (valid until the next call), 1 on clean end of stream before any
 * byte of a frame, WEFT_EPROTO on a truncated frame or one longer than the maximum, or
 * -errno. */
int frame_read(int fd, framebuf *fb, const uint8_t **frame, size_t *len);

void framebuf_init(framebuf *fb, size_t max);
void framebuf_free(framebuf *fb);
void framebuf_feed(framebuf *fb, const void *data, size_t n);
/* Returns 1 and points *frame and *len at the next whole frame (valid until the next call),
 * 0 when more bytes are needed, WEFT_EPROTO when the next frame exceeds the maximum. */
int framebuf_next(framebuf *fb, const uint8_t **frame, size_t *len);

#endif
