/* fuzz_glove: the glove backend's vectors file (plugins/embed/glove.c), which embed.encode
 * and embed.search map from the `glove` file they are given, then look words up in.
 *
 * Checked besides memory safety: a refused file says why; in an accepted one, looking up
 * its own first words and a few it lacks ends, with -1 or an index within the vocabulary,
 * and so does encoding texts made of them. */
#include <stdlib.h>
#include <string.h>

#include "plugins/embed/glove.h"
#include "tests/fuzz/fuzz.h"

#define MAX_WORDS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256] = "";
    glove *g = glove_open(fuzz_path(0, data, size), why, sizeof why);
    if (!g) {
        WEFT_ASSERT(why[0] != '\0');
        return 0;
    }
    size_t dim = glove_dim(g);
    WEFT_ASSERT(dim > 0 && strncmp(glove_name(g), "glove-", 6) == 0);
    /* The file's own words, found through the layout glove.h documents. */
    glove_header h;
    memcpy(&h, data, sizeof h);
    size_t offsets = sizeof h + 4 * ((size_t)h.count * h.dim + h.count + h.dim + h.nslots);
    const char *pool = (const char *)data + offsets + 4 * (size_t)h.count;
    float *v = xcalloc(dim, sizeof *v);
    for (uint32_t i = 0; i < h.count && i < MAX_WORDS; i++) {
        uint32_t off;
        memcpy(&off, data + offsets + 4 * (size_t)i, sizeof off);
        const char *w = pool + off;
        long k = glove_lookup(g, w, strlen(w));
        WEFT_ASSERT(k >= -1 && k < (long)h.count);
        glove_encode(g, w, strlen(w), v);
    }
    static const char *const texts[] = {"the", "The quick brown fox; unknownword 42!", ""};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        long k = glove_lookup(g, texts[i], strlen(texts[i]));
        WEFT_ASSERT(k >= -1 && k < (long)h.count);
        glove_encode(g, texts[i], strlen(texts[i]), v);
    }
    free(v);
    glove_close(g);
    return 0;
}
