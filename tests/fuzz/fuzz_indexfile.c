/* fuzz_indexfile: the vector index file (plugins/embed/indexfile.c), which embed.search and
 * `weft search` read: its magic, the metadata line with the encoder, the id list, and the
 * checks that bind them to the index.
 *
 * The index itself is FAISS's serialization, read by faiss::read_index: FAISS's code, not
 * weft's, and not built for coverage here. A stand-in for vindex.h takes its place: it
 * reads "COUNT DIM\n" and nothing more, so an input is a weft index file whose FAISS part
 * is that line.
 *
 * Checked besides memory safety: a refused file says why; an accepted one has an id per
 * row and the dimension its encoder records, and that encoder passes encoder_check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/embed/indexfile.h"
#include "tests/fuzz/fuzz.h"

/* encoder.c calls the host only from task code, which never runs here. */
const weft_host *weft__host;

struct vindex {
    size_t count, dim;
};

vindex *vindex_load(FILE *f, char *err, size_t errn)
{
    vindex v;
    int end = 0;
    if (fscanf(f, "%zu %zu%*1[\n]%n", &v.count, &v.dim, &end) != 2 || !end || fgetc(f) != EOF) {
        snprintf(err, errn, "read_index: not an index");
        return NULL;
    }
    vindex *p = xmalloc(sizeof *p);
    *p = v;
    return p;
}

int vindex_save(const vindex *v, FILE *f, char *err, size_t errn)
{
    if (fprintf(f, "%zu %zu\n", v->count, v->dim) < 0) {
        snprintf(err, errn, "write_index: failed");
        return -1;
    }
    return 0;
}

size_t vindex_count(const vindex *v)
{
    return v->count;
}

size_t vindex_dim(const vindex *v)
{
    return v->dim;
}

void vindex_free(vindex *v)
{
    free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    indexfile x;
    char err[512] = "";
    if (indexfile_read(fuzz_path(0, data, size), "fuzz.index", &x, err, sizeof err) < 0) {
        WEFT_ASSERT(err[0] != '\0' && !x.meta && !x.ids && !x.index);
        return 0;
    }
    char why[256];
    WEFT_ASSERT(encoder_check(&x.enc, why, sizeof why) == 0);
    WEFT_ASSERT(vindex_count(x.index) == json_array_size(x.ids));
    WEFT_ASSERT(vindex_dim(x.index) == x.enc.dim);
    json_t *back = json_object();
    encoder_to_json(&x.enc, back);
    encoder e;
    WEFT_ASSERT(encoder_from_json(back, &e, why, sizeof why) == 0 && encoder_same(&e, &x.enc));
    json_decref(back);
    indexfile_free(&x);
    return 0;
}
