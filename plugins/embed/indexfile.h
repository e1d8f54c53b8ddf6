/* indexfile: the vector index artifact embed.index writes and embed.search reads.
 *
 *     weft-index 1\n
 *     {"method":"hnsw","backend":"hashing","dim":384,"count":N,"ef_search":64,...}\n
 *     ["chunk id", ...]\n             (row i of the index is chunk ids[i])
 *     <the FAISS index, as faiss::write_index writes it>
 *
 * The metadata carries the encoder, so queries are encoded as the corpus was. */
#ifndef WEFT_EMBED_INDEXFILE_H
#define WEFT_EMBED_INDEXFILE_H

#include <jansson.h>

#include "plugins/embed/embed.h"
#include "plugins/embed/vindex.h"

typedef struct indexfile {
    json_t *meta;   /* owned */
    json_t *ids;    /* owned: array of strings */
    encoder enc;
    vindex *index;
} indexfile;

/* Writes meta, ids and the index to path; 0, or -1 with err. */
int indexfile_write(const char *path, json_t *meta, json_t *ids, const vindex *v, char *err,
                    size_t n);
/* Reads and checks one (name is for messages); 0, or -1 with err. */
int indexfile_read(const char *path, const char *name, indexfile *f, char *err, size_t n);
void indexfile_free(indexfile *f);

#endif
