/* vindex: vector indexes through FAISS (a C++ library; this is its C face).
 *
 *   exact  IndexFlatIP: brute-force inner products, batched through BLAS
 *   hnsw   IndexHNSWFlat over inner products: a navigable small-world graph (m links per
 *          node, ef_construction candidates while building, ef_search while searching)
 *   ivf    IndexIVFFlat over inner products: k-means cells (nlist of them, trained on the
 *          vectors themselves); a search scans the nprobe cells nearest the query
 *
 * Vectors are L2-normalized, so inner product is cosine similarity: higher is nearer. */
#ifndef WEFT_EMBED_VINDEX_H
#define WEFT_EMBED_VINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vindex vindex;

typedef struct vindex_params {
    const char *method;        /* exact, hnsw or ivf */
    size_t m, ef_construction; /* hnsw */
    size_t nlist;              /* ivf: cells, at most n */
} vindex_params;

/* Builds an index of x (n x dim). NULL with err on a bad method or a FAISS error. */
vindex *vindex_build(const vindex_params *p, size_t dim, const float *x, size_t n, char *err,
                     size_t errn);
/* Writes the index at f's position / reads one from it; 0 (or the index), or -1 (NULL)
 * with err. */
int vindex_save(const vindex *v, FILE *f, char *err, size_t errn);
vindex *vindex_load(FILE *f, char *err, size_t errn);
/* The search breadth: HNSW's ef_search, IVF's nprobe (each ignored by the others). */
void vindex_set_search(vindex *v, size_t ef_search, size_t nprobe);
/* The k nearest of each of nq queries: scores and labels (row numbers, -1 past the end)
 * are nq x k. 0, or -1 with err. */
int vindex_search(const vindex *v, const float *q, size_t nq, size_t k, float *scores,
                  int64_t *labels, char *err, size_t errn);
size_t vindex_count(const vindex *v);
size_t vindex_dim(const vindex *v);
void vindex_free(vindex *v);

#ifdef __cplusplus
}
#endif

#endif
