/* fuzz_npy: the .npy reader (plugins/embed/npy.c), which embed.index runs on the vectors it
 * is given.
 *
 * Checked besides memory safety: a refused file says why; an accepted matrix written again
 * with npy_write reads back with the same shape and the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/embed/npy.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *m, *back;
    size_t rows, cols, rows2, cols2;
    char why[256] = "";
    if (npy_read(fuzz_path(0, data, size), &m, &rows, &cols, why, sizeof why) < 0) {
        WEFT_ASSERT(why[0] != '\0' && !m);
        return 0;
    }
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    WEFT_ASSERT(f && npy_write(f, m, rows, cols) == 0 && fclose(f) == 0);
    WEFT_ASSERT(npy_read(fuzz_path(1, text, len), &back, &rows2, &cols2, why, sizeof why) == 0);
    WEFT_ASSERT(rows2 == rows && cols2 == cols && memcmp(back, m, rows * cols * sizeof *m) == 0);
    free(text);
    free(back);
    free(m);
    return 0;
}
