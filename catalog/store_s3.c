/* store_s3: the S3-compatible backend of the artifact store. See store.h and s3.h.
 *
 * Blob HASH is the object PREFIX/HA/SH... (the local layout), written once: a put first asks
 * whether the object is there (HEAD) and sends nothing when it is. A blob up to the part
 * size (WEFT_S3_PART_SIZE, 64M by default, at least 5M) goes in one PUT; a larger one as a
 * multipart upload, aborted when a part cannot be sent. Every body's SHA-256 is signed
 * (s3.h). A get downloads the blob into a local cache (a local store: WEFT_S3_CACHE, else
 * $TMPDIR/weft-s3-UID), resuming a partial download, and hands out its local path once the
 * content matches the hash; a damaged object is reported as WEFT_ECORRUPT and never cached.
 * Listing is ListObjectsV2; removal re-reads the object's Last-Modified first and keeps it
 * when it was written again since it was listed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "catalog/s3.h"
#include "catalog/store_int.h"
#include "common/units.h"
#include "common/xmem.h"

#define PART_DEFAULT (64ull << 20)
#define PART_MIN (5ull << 20)
#define PARTS_MAX 10000

typedef struct s3_store {
    s3_client *c;
    store *cache;   /* downloaded blobs */
    uint64_t part;  /* multipart part size */
} s3_store;

static s3_store *impl(store *s)
{
    return s->impl;
}

/* Blob hex's key under the prefix: "ha/sh...". */
static void blob_key(const char *hex, char key[HASH_HEX_LEN + 2])
{
    snprintf(key, HASH_HEX_LEN + 2, "%.2s/%s", hex, hex + 2);
}

static int failed(weft_err *err, const char *what, const char *hex, const s3_response *r)
{
    char why[400];
    s3_describe(r, why, sizeof why);
    return err_set(err, r->status == 404 ? WEFT_ENOTFOUND : WEFT_EIO,
                   "S3 store: %s %.16s...: %s", what, hex, why);
}

/* HEAD of blob hex: 1 present (its Last-Modified in *modified_us), 0 absent, or an error. */
static int head(store *s, const char *hex, int64_t *modified_us, weft_err *err)
{
    char key[HASH_HEX_LEN + 2];
    blob_key(hex, key);
    s3_request rq = {.method = "HEAD", .key = key, .body_fd = -1, .out_fd = -1};
    s3_response r;
    if (s3_do(impl(s)->c, &rq, &r, err) < 0)
        return err->code;
    int rc = r.status == 200 ? 1 : r.status == 404 ? 0 : failed(err, "asking for", hex, &r);
    if (modified_us)
        *modified_us = r.modified_us;
    s3_response_free(&r);
    return rc;
}

static int s3_has(store *s, const char *hex)
{
    weft_err err = {0};
    return hash_hex_valid(hex) && head(s, hex, NULL, &err) == 1;
}

/* ---- put ---- */

static int put_whole(store *s, const char *hex, int fd, uint64_t size, weft_err *err)
{
    char key[HASH_HEX_LEN + 2];
    blob_key(hex, key);
    s3_request rq = {.method = "PUT", .key = key, .body_fd = fd, .body_len = size, .out_fd = -1};
    s3_response r;
    if (s3_do(impl(s)->c, &rq, &r, err) < 0)
        return err->code;
    int rc = r.status == 200 ? 0 : failed(err, "storing", hex, &r);
    s3_response_free(&r);
    return rc;
}

/* Sends the parts of a multipart upload; fills the completion's XML. */
static int put_parts(store *s, const char *hex, const char *id, int fd, uint64_t size,
                     char **xml, weft_err *err)
{
    char key[HASH_HEX_LEN + 2], query[600];
    blob_key(hex, key);
    size_t cap = 0, len = 0;
    char *doc = NULL;
    uint64_t part = impl(s)->part;
    int rc = 0;
    for (unsigned n = 1; rc == 0 && (uint64_t)(n - 1) * part < size; n++) {
        uint64_t off = (uint64_t)(n - 1) * part;
        snprintf(query, sizeof query, "partNumber=%u&uploadId=%s", n, id);
        s3_request rq = {.method = "PUT", .key = key, .query = query, .body_fd = fd,
                         .body_off = (off_t)off, .body_len = size - off < part ? size - off : part,
                         .out_fd = -1};
        s3_response r;
        if (s3_do(impl(s)->c, &rq, &r, err) < 0)
            return err->code;
        if (r.status != 200 || !r.etag[0]) {
            rc = failed(err, "sending a part of", hex, &r);
        } else {
            char item[300];
            int k = snprintf(item, sizeof item, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag>"
                             "</Part>", n, r.etag);
            xgrow(&doc, &cap, len + (size_t)k + 1, 1);
            memcpy(doc + len, item, (size_t)k + 1);
            len += (size_t)k;
        }
        s3_response_free(&r);
    }
    *xml = rc ? NULL : xasprintf("<CompleteMultipartUpload>%s</CompleteMultipartUpload>", doc);
    free(doc);
    return rc;
}

static int put_multipart(store *s, const char *hex, int fd, uint64_t size, weft_err *err)
{
    char key[HASH_HEX_LEN + 2], id[400], query[600];
    blob_key(hex, key);
    s3_client *c = impl(s)->c;
    s3_request start = {.method = "POST", .key = key, .query = "uploads", .body_fd = -1,
                        .out_fd = -1};
    s3_response r;
    if (s3_do(c, &start, &r, err) < 0)
        return err->code;
    size_t pos = 0;
    int rc = r.status == 200 && s3_xml_next(r.body, "UploadId", &pos, id, sizeof id) == 0
                 ? 0 : failed(err, "starting the upload of", hex, &r);
    s3_response_free(&r);
    if (rc)
        return rc;
    char *escaped = curl_easy_escape(NULL, id, 0), *xml = NULL;
    snprintf(query, sizeof query, "uploadId=%s", escaped);
    rc = put_parts(s, hex, escaped, fd, size, &xml, err);
    if (rc == 0) {
        s3_request done = {.method = "POST", .key = key, .query = query, .body_fd = -1,
                           .body_mem = xml, .body_mem_len = strlen(xml), .out_fd = -1};
        if (s3_do(c, &done, &r, err) < 0)
            rc = err->code;
        else if (r.status != 200 || !r.body || strstr(r.body, "<Error>"))
            rc = failed(err, "completing the upload of", hex, &r);
        s3_response_free(&r);
    }
    if (rc) { /* the parts sent so far go */
        s3_request abort = {.method = "DELETE", .key = key, .query = query, .body_fd = -1,
                            .out_fd = -1};
        weft_err ignored = {0};
        if (s3_do(c, &abort, &r, &ignored) == 0)
            s3_response_free(&r);
    }
    free(xml);
    curl_free(escaped);
    return rc;
}

/* Sends the file at fd (size bytes, whose hash is hex) unless the store holds it. */
static int upload(store *s, const char *hex, int fd, uint64_t size, weft_err *err)
{
    int there = head(s, hex, NULL, err);
    if (there != 0)
        return there < 0 ? there : 0;
    return size <= impl(s)->part ? put_whole(s, hex, fd, size, err)
                                 : put_multipart(s, hex, fd, size, err);
}

static int s3_put(store *s, const char *path, char hex[HASH_HEX_LEN + 1], uint64_t *size,
                  weft_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(err, WEFT_EIO, "cannot read %s: %s", path, strerror(errno));
    uint64_t n = 0;
    int rc = store_copy_hash(fd, -1, hex, &n);
    rc = rc < 0 ? err_set(err, WEFT_EIO, "cannot read %s: %s", path, strerror(-rc))
                : upload(s, hex, fd, n, err);
    if (size)
        *size = n;
    close(fd);
    return rc;
}

static int s3_adopt(store *s, const char *path, const char *hex, weft_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return err_set(err, WEFT_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    int rc = upload(s, hex, fd, (uint64_t)st.st_size, err);
    close(fd);
    if (rc == 0)
        unlink(path);
    return rc;
}

/* ---- get ---- */

static int s3_get(store *s, const char *hex, char **out, weft_err *err)
{
    store *cache = impl(s)->cache;
    if (!hash_hex_valid(hex))
        return err_set(err, WEFT_EINVAL, "'%.80s' is not a blob's hash", hex);
    if (store_has(cache, hex) && cache->ops->get(cache, hex, out, err) == 0)
        return 0;
    char name[HASH_HEX_LEN + 24], key[HASH_HEX_LEN + 2];
    snprintf(name, sizeof name, "get-%s.%d", hex, (int)getpid());
    blob_key(hex, key);
    char *partial = store_partial_path(cache, name);
    int fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0600), rc;
    s3_request rq = {.method = "GET", .key = key, .body_fd = -1, .out_fd = fd};
    s3_response r = {0};
    if (fd < 0)
        rc = err_set(err, WEFT_EIO, "S3 store: cannot write %s: %s", partial, strerror(errno));
    else if (s3_do(impl(s)->c, &rq, &r, err) < 0)
        rc = err->code;
    else
        rc = r.status / 100 == 2 ? 0 : failed(err, "reading", hex, &r);
    s3_response_free(&r);
    char got[HASH_HEX_LEN + 1];
    if (rc == 0 && (lseek(fd, 0, SEEK_SET) < 0 || store_copy_hash(fd, -1, got, NULL) < 0))
        rc = err_set(err, WEFT_EIO, "S3 store: cannot read back %s", partial);
    else if (rc == 0 && strcmp(got, hex) != 0)
        rc = err_set(err, WEFT_ECORRUPT, "artifact %.16s... in the S3 store is damaged: its "
                     "content hashes to %.16s...", hex, got);
    if (fd >= 0)
        close(fd);
    if (rc == 0 && (rc = store_adopt(cache, partial, hex, err)) == 0)
        rc = cache->ops->get(cache, hex, out, err);
    if (rc)
        unlink(partial);
    free(partial);
    return rc;
}

static int s3_open_blob(store *s, const char *hex, int *fd, uint64_t *size, weft_err *err)
{
    char *path;
    int rc = s3_get(s, hex, &path, err);
    if (rc)
        return rc;
    rc = store_open_blob(impl(s)->cache, hex, fd, size, err);
    free(path);
    return rc;
}

/* ---- listing and removal ---- */

static int64_t iso_us(const char *t)
{
    struct tm tm = {0};
    if (sscanf(t, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000000;
}

/* Calls fn for the blobs of one page; *token: the next page's, "" at the end. */
static int list_page(store *s, char *token, size_t tn, store_entry_fn fn, void *ud,
                     weft_err *err)
{
    s3_client *c = impl(s)->c;
    char *pre = curl_easy_escape(NULL, s3_prefix(c), 0), *tok = curl_easy_escape(NULL, token, 0);
    char *query = *token ? xasprintf("continuation-token=%s&list-type=2&prefix=%s", tok, pre)
                         : xasprintf("list-type=2&prefix=%s", pre);
    curl_free(pre);
    curl_free(tok);
    s3_request rq = {.method = "GET", .key = "", .query = query, .body_fd = -1, .out_fd = -1};
    s3_response r;
    int rc = s3_do(c, &rq, &r, err);
    free(query);
    if (rc < 0)
        return rc;
    if (r.status != 200) {
        rc = failed(err, "listing", "the store", &r);
        s3_response_free(&r);
        return rc;
    }
    size_t pos = 0, plen = strlen(s3_prefix(c));
    char item[2048];
    while (rc == 0 && s3_xml_next(r.body, "Contents", &pos, item, sizeof item) == 0) {
        char key[1024] = "", size[32] = "0", when[64] = "", hex[HASH_HEX_LEN + 1];
        size_t p = 0;
        s3_xml_next(item, "Key", &p, key, sizeof key);
        p = 0;
        s3_xml_next(item, "Size", &p, size, sizeof size);
        p = 0;
        s3_xml_next(item, "LastModified", &p, when, sizeof when);
        const char *k = key + plen;
        if (strlen(key) != plen + HASH_HEX_LEN + 1 || k[2] != '/')
            continue;
        snprintf(hex, sizeof hex, "%.2s%s", k, k + 3);
        if (!hash_hex_valid(hex))
            continue;
        store_entry e = {STORE_BLOB, hex, strtoull(size, NULL, 10), iso_us(when)};
        rc = fn(ud, &e);
    }
    char truncated[16] = "false";
    pos = 0;
    s3_xml_next(r.body, "IsTruncated", &pos, truncated, sizeof truncated);
    pos = 0;
    if (strcmp(truncated, "true") != 0 ||
        s3_xml_next(r.body, "NextContinuationToken", &pos, token, tn) < 0)
        token[0] = '\0';
    s3_response_free(&r);
    return rc;
}

static int s3_list(store *s, store_entry_fn fn, void *ud, weft_err *err)
{
    char token[1024] = "";
    int rc;
    do
        rc = list_page(s, token, sizeof token, fn, ud, err);
    while (rc == 0 && token[0]);
    return rc;
}

static int s3_remove(store *s, const store_entry *e, int *kept, weft_err *err)
{
    *kept = 0;
    if (e->kind != STORE_BLOB || !hash_hex_valid(e->name))
        return err_set(err, WEFT_EINVAL, "S3 store: no entry '%.80s'", e->name);
    int64_t modified = 0;
    int there = head(s, e->name, &modified, err);
    if (there <= 0)
        return there;
    if (modified > e->mtime_us) {
        *kept = 1;
        return 0;
    }
    char key[HASH_HEX_LEN + 2];
    blob_key(e->name, key);
    s3_request rq = {.method = "DELETE", .key = key, .body_fd = -1, .out_fd = -1};
    s3_response r;
    if (s3_do(impl(s)->c, &rq, &r, err) < 0)
        return err->code;
    int rc = r.status / 100 == 2 || r.status == 404 ? 0 : failed(err, "removing", e->name, &r);
    s3_response_free(&r);
    store_entry local = {STORE_BLOB, e->name, 0, INT64_MAX};
    weft_err ignored = {0};
    int k;
    store *cache = impl(s)->cache;
    if (rc == 0 && store_has(cache, e->name))
        cache->ops->remove(cache, &local, &k, &ignored);
    return rc;
}

static void s3_store_close(store *s)
{
    s3_store *i = impl(s);
    s3_close(&i->c);
    store_close(&i->cache);
    free(i);
    free(s->location);
    free(s->root);
    free(s);
}

static const store_ops s3_ops = {
    .name = "s3",
    .put = s3_put,
    .get = s3_get,
    .list = s3_list,
    .remove = s3_remove,
    .has = s3_has,
    .adopt = s3_adopt,
    .open_blob = s3_open_blob,
    .close = s3_store_close,
};

int store_s3_open(const char *location, store **out, weft_err *err)
{
    s3_store *i = xcalloc(1, sizeof *i);
    i->part = PART_DEFAULT;
    const char *part = getenv("WEFT_S3_PART_SIZE");
    if (part && *part && (units_size_bytes(part, &i->part) < 0 || i->part < PART_MIN)) {
        free(i);
        return err_set(err, WEFT_EINVAL, "WEFT_S3_PART_SIZE is a size of at least 5M, not "
                       "'%s'", part);
    }
    const char *dir = getenv("WEFT_S3_CACHE"), *tmp = getenv("TMPDIR");
    char *cache = dir && *dir ? xstrdup(dir)
                              : xasprintf("%s/weft-s3-%d", tmp && *tmp ? tmp : "/tmp",
                                          (int)getuid());
    int rc = s3_open(location, &i->c, err);
    if (rc == 0)
        rc = store_open(cache, &i->cache, err);
    if (rc < 0) {
        s3_close(&i->c);
        free(i);
        free(cache);
        return rc;
    }
    store *s = xcalloc(1, sizeof *s);
    s->ops = &s3_ops;
    s->impl = i;
    s->root = cache;
    s->location = xstrdup(location);
    *out = s;
    return 0;
}
