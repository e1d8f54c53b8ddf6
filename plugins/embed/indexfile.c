/* indexfile: see indexfile.h. */
#include "plugins/embed/indexfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "weft-index 1\n"

int indexfile_write(const char *path, json_t *meta, json_t *ids, const vindex *v, char *err,
                    size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, n, "cannot write the index: %s", strerror(errno));
        return -1;
    }
    int rc = fputs(MAGIC, f) < 0 || json_dumpf(meta, f, JSON_COMPACT) != 0 || fputc('\n', f) < 0 ||
             json_dumpf(ids, f, JSON_COMPACT) != 0 || fputc('\n', f) < 0 ? -1 : 0;
    if (rc < 0)
        snprintf(err, n, "cannot write the index: %s", strerror(errno));
    else
        rc = vindex_save(v, f, err, n);
    if (fclose(f) != 0 && rc == 0) {
        snprintf(err, n, "cannot write the index: %s", strerror(errno));
        rc = -1;
    }
    return rc;
}

static int refuse(char *err, size_t n, const char *name, const char *why)
{
    snprintf(err, n, "%s is not a usable weft index: %s", name, why);
    return -1;
}

/* One JSON line of f. */
static json_t *json_line(FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = getline(&line, &cap, f);
    json_t *v = len > 0 ? json_loadb(line, (size_t)len, 0, NULL) : NULL;
    free(line);
    return v;
}

int indexfile_read(const char *path, const char *name, indexfile *x, char *err, size_t n)
{
    memset(x, 0, sizeof *x);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, n, "cannot open %s: %s", name, strerror(errno));
        return -1;
    }
    char magic[sizeof MAGIC] = "";
    int rc = 0;
    if (!fgets(magic, sizeof magic, f) || strcmp(magic, MAGIC) != 0)
        rc = refuse(err, n, name, "it does not start with 'weft-index 1' (indexes come from "
                                  "embed.index)");
    if (rc == 0 && (!(x->meta = json_line(f)) || !(x->ids = json_line(f)) ||
                    !json_is_array(x->ids)))
        rc = refuse(err, n, name, "its metadata or id list is malformed");
    char why[256];
    if (rc == 0 && encoder_from_json(x->meta, &x->enc, why, sizeof why) < 0)
        rc = refuse(err, n, name, why);
    if (rc == 0 && !(x->index = vindex_load(f, err, n)))
        rc = -1;
    if (rc == 0 && (vindex_count(x->index) != json_array_size(x->ids) ||
                    vindex_dim(x->index) != x->enc.dim))
        rc = refuse(err, n, name, "its FAISS index does not match its ids and dimension");
    fclose(f);
    if (rc < 0)
        indexfile_free(x);
    return rc;
}

void indexfile_free(indexfile *x)
{
    json_decref(x->meta);
    json_decref(x->ids);
    vindex_free(x->index);
    memset(x, 0, sizeof *x);
}
