/* frame: length-prefixed framing. See frame.h. */
#include "common/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/err.h"
#include "common/xmem.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int frame_write(int fd, const void *data, size_t len)
{
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    /* One write for both when it goes whole: the reader wakes once, for the whole frame. */
    struct iovec iov[2] = {{hdr, 4}, {(void *)data, len}};
    ssize_t w;
    do {
        w = writev(fd, iov, 2);
    } while (w < 0 && errno == EINTR);
    if (w < 0)
        return -errno;
    size_t done = (size_t)w;
    if (done < 4) {
        int rc = write_all(fd, hdr + done, 4 - done);
        if (rc < 0)
            return rc;
        done = 4;
    }
    return write_all(fd, (const uint8_t *)data + (done - 4), len - (done - 4));
}

/* Room for n more bytes at the end of fb's data: what was taken is dropped from the front
 * when nothing is left after it, or when it is past half the buffer. */
static void reserve(framebuf *fb, size_t n)
{
    if (fb->off && fb->off == fb->len) {
        fb->off = fb->len = 0;
    } else if (fb->off > fb->cap / 2) {
        memmove(fb->data, fb->data + fb->off, fb->len - fb->off);
        fb->len -= fb->off;
        fb->off = 0;
    }
    xgrow(&fb->data, &fb->cap, fb->len + n, 1);
}

#define READ_CHUNK (64u << 10)

int frame_read(int fd, framebuf *fb, const uint8_t **frame, size_t *len)
{
    for (;;) {
        int rc = framebuf_next(fb, frame, len);
        if (rc != 0)
            return rc == 1 ? 0 : rc;
        reserve(fb, READ_CHUNK);
        ssize_t r = read(fd, fb->data + fb->len, fb->cap - fb->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return fb->len == fb->off ? 1 : WEFT_EPROTO;
        fb->len += (size_t)r;
    }
}

void framebuf_init(framebuf *fb, size_t max)
{
    memset(fb, 0, sizeof *fb);
    fb->max = max;
}

void framebuf_free(framebuf *fb)
{
    free(fb->data);
    memset(fb, 0, sizeof *fb);
}

void framebuf_feed(framebuf *fb, const void *data, size_t n)
{
    reserve(fb, n);
    memcpy(fb->data + fb->len, data, n);
    fb->len += n;
}

int framebuf_next(framebuf *fb, const uint8_t **frame, size_t *len)
{
    size_t avail = fb->len - fb->off;
    if (avail < 4)
        return 0;
    const uint8_t *h = fb->data + fb->off;
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (n > fb->max)
        return WEFT_EPROTO;
    if (avail < 4 + n)
        return 0;
    *frame = h + 4;
    *len = n;
    fb->off += 4 + n;
    return 1;
}
