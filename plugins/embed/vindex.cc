// vindex: see vindex.h. Every FAISS call is inside a try: a FaissException (or any other)
// becomes an error message, never an exception crossing into C.
#include "plugins/embed/vindex.h"

#include <cstdio>
#include <cstring>
#include <exception>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/index_io.h>

struct vindex {
    faiss::Index *index;
};

static void set_err(char *err, size_t n, const char *what, const std::exception &e)
{
    const char *msg = e.what();
    const char *line = std::strstr(msg, "Error: ");  // FAISS: "Error in f() at file:line: Error: 'x' failed"
    std::snprintf(err, n, "%s: %s", what, line ? line + 7 : msg);
}

vindex *vindex_build(const vindex_params *p, size_t dim, const float *x, size_t n, char *err,
                     size_t errn)
{
    faiss::Index *index = nullptr;
    auto d = (faiss::Index::idx_t)dim;
    try {
        if (std::strcmp(p->method, "exact") == 0) {
            index = new faiss::IndexFlatIP(d);
        } else if (std::strcmp(p->method, "hnsw") == 0) {
            auto *h = new faiss::IndexHNSWFlat((int)dim, (int)p->m, faiss::METRIC_INNER_PRODUCT);
            h->hnsw.efConstruction = (int)p->ef_construction;
            index = h;
        } else if (std::strcmp(p->method, "ivf") == 0) {
            auto *ivf = new faiss::IndexIVFFlat(new faiss::IndexFlatIP(d), (size_t)d, p->nlist,
                                                faiss::METRIC_INNER_PRODUCT);
            ivf->own_fields = true; /* the quantizer goes with the index */
            index = ivf;
            ivf->train((faiss::Index::idx_t)n, x);
        } else {
            std::snprintf(err, errn, "method must be exact, hnsw or ivf, not '%s'", p->method);
            return nullptr;
        }
        index->add((faiss::Index::idx_t)n, x);
    } catch (const std::exception &e) {
        set_err(err, errn, "faiss cannot build the index", e);
        delete index;
        return nullptr;
    }
    return new vindex{index};
}

int vindex_save(const vindex *v, FILE *f, char *err, size_t errn)
{
    try {
        faiss::write_index(v->index, f);
    } catch (const std::exception &e) {
        set_err(err, errn, "faiss cannot write the index", e);
        return -1;
    }
    return 0;
}

vindex *vindex_load(FILE *f, char *err, size_t errn)
{
    try {
        return new vindex{faiss::read_index(f)};
    } catch (const std::exception &e) {
        set_err(err, errn, "faiss cannot read the index", e);
        return nullptr;
    }
}

void vindex_set_search(vindex *v, size_t ef_search, size_t nprobe)
{
    if (auto *h = dynamic_cast<faiss::IndexHNSW *>(v->index))
        h->hnsw.efSearch = (int)ef_search;
    if (auto *ivf = dynamic_cast<faiss::IndexIVF *>(v->index))
        ivf->nprobe = nprobe < ivf->nlist ? nprobe : ivf->nlist;
}

int vindex_search(const vindex *v, const float *q, size_t nq, size_t k, float *scores,
                  int64_t *labels, char *err, size_t errn)
{
    try {
        v->index->search((faiss::Index::idx_t)nq, q, (faiss::Index::idx_t)k, scores, labels);
    } catch (const std::exception &e) {
        set_err(err, errn, "faiss cannot search", e);
        return -1;
    }
    return 0;
}

size_t vindex_count(const vindex *v)
{
    return (size_t)v->index->ntotal;
}

size_t vindex_dim(const vindex *v)
{
    return (size_t)v->index->d;
}

void vindex_free(vindex *v)
{
    if (!v)
        return;
    delete v->index;
    delete v;
}
