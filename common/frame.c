/* frame: length-prefixed framing. See frame.h. */
#include "common/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

/* Returns bytes read (< n only at end of stream) or -errno. */
static ssize_t read_all(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int frame_write(int fd, const void *data, size_t len)
{
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    int rc = write_all(fd, hdr, 4);
    return rc < 0 ? rc : write_all(fd, data, len);
}

int frame_read(int fd, uint8_t **out, size_t *len, size_t max)
{
    uint8_t hdr[4];
    ssize_t r = read_all(fd, hdr, 4);
    if (r < 0)
        return (int)r;
    if (r == 0)
        return 1;
    if (r < 4)
        return WEFT_EPROTO;
    size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    if (n > max)
        return WEFT_EPROTO;
    uint8_t *buf = xmalloc(n);
    r = read_all(fd, buf, n);
    if (r < 0 || (size_t)r < n) {
        free(buf);
        return r < 0 ? (int)r : WEFT_EPROTO;
    }
    *out = buf;
    *len = n;
    return 0;
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
    if (fb->off && fb->off == fb->len) {
        fb->off = fb->len = 0;
    } else if (fb->off > fb->cap / 2) {
        memmove(fb->data, fb->data + fb->off, fb->len - fb->off);
        fb->len -= fb->off;
        fb->off = 0;
    }
    xgrow(&fb->data, &fb->cap, fb->len + n, 1);
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
