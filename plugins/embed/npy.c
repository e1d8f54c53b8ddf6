/* npy: see npy.h. The header is a Python dict literal padded with spaces to a multiple of
 * 64 bytes, ending in a newline. */
#include "plugins/embed/npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char magic[] = "\x93NUMPY";

int npy_write(FILE *f, const float *data, size_t rows, size_t cols)
{
    char dict[128];
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                       cols);
    size_t total = 10 + (size_t)len + 1, padded = (total + 63) / 64 * 64;
    size_t hlen = padded - 10;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)len, f) != (size_t)len)
        return -1;
    for (size_t i = 10 + (size_t)len; i < padded - 1; i++)
        fputc(' ', f);
    fputc('\n', f);
    return fwrite(data, sizeof *data, rows * cols, f) == rows * cols ? 0 : -1;
}

static int bad(char *why, size_t n, const char *what)
{
    snprintf(why, n, "%s", what);
    return -1;
}

static int parse_header(const char *h, size_t *rows, size_t *cols, char *why, size_t n)
{
    if (!strstr(h, "'descr': '<f4'"))
        return bad(why, n, "not a float32 (<f4) array");
    if (!strstr(h, "'fortran_order': False"))
        return bad(why, n, "a Fortran-order array");
    const char *shape = strstr(h, "'shape': (");
    unsigned long long r, c;
    if (!shape || sscanf(shape + 10, "%llu, %llu)", &r, &c) != 2)
        return bad(why, n, "not a 2-D array");
    *rows = (size_t)r;
    *cols = (size_t)c;
    return 0;
}

int npy_read(const char *path, float **data, size_t *rows, size_t *cols, char *why, size_t n)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, n, "%s", strerror(errno));
        return -1;
    }
    unsigned char pre[10];
    char header[65536];
    int rc = 0;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, magic, 6) != 0 || pre[6] != 1)
        rc = bad(why, n, "not a version 1 .npy file");
    size_t hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (rc == 0 && fread(header, 1, hlen, f) != hlen)
        rc = bad(why, n, "a truncated header");
    header[rc == 0 ? hlen : 0] = '\0';
    if (rc == 0)
        rc = parse_header(header, rows, cols, why, n);
    if (rc == 0 && *cols && *rows > SIZE_MAX / sizeof(float) / *cols)
        rc = bad(why, n, "too large a shape");
    /* The shape comes from the file: allocate no more than the file holds. */
    struct stat st;
    long at = rc == 0 ? ftell(f) : -1;
    if (rc == 0 && (fstat(fileno(f), &st) != 0 || at < 0 || st.st_size < at ||
                    (uint64_t)(st.st_size - at) != (uint64_t)*rows * *cols * sizeof(float)))
        rc = bad(why, n, "the data does not match the shape");
    if (rc == 0) {
        size_t count = *rows * *cols;
        *data = malloc((count ? count : 1) * sizeof **data);
        if (fread(*data, sizeof **data, count, f) != count || fgetc(f) != EOF)
            rc = bad(why, n, "the data does not match the shape");
    }
    fclose(f);
    if (rc < 0) {
        free(*data);
        *data = NULL;
    }
    return rc;
}
