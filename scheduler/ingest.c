/* ingest: workflow paths to artifacts. See ingest.h. */
#include "scheduler/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"

/* store_dir_blobs' callback: a directory's file was uploaded for the project. */
typedef struct blob_check {
    ingest_ctx *ic;
    const char *missing;
} blob_check;

static int uploaded_blob(void *ud, const char *hex)
{
    blob_check *b = ud;
    if (catalog_has_upload(b->ic->cat, b->ic->project, hex) > 0)
        return 0;
    b->missing = hex;
    return 1;
}

/* A remote client's path: the blob it uploaded for it, checked to be its project's. */
static int from_upload(ingest_ctx *ic, const char *path, int is_dir, json_t **ref, char *why,
                       size_t n)
{
    const json_t *u = json_object_get(ic->uploaded, path);
    const char *hex = json_string_value(json_object_get(u, "artifact"));
    const char *kind = json_string_value(json_object_get(u, "kind"));
    if (!u) {
        json_array_append_new(ic->missing, json_pack("{s:s, s:b}", "path", path, "dir", is_dir));
        snprintf(why, n, "%s is a path on the client's machine, which a remote client uploads "
                 "(weft submit and weft retry do); the scheduler does not read its own disk "
                 "for it", path);
        return -1;
    }
    if (!hex || !kind || strcmp(kind, is_dir ? "dir" : "file") != 0) {
        snprintf(why, n, "%s: the upload named for it is not a %s", path,
                 is_dir ? "directory" : "file");
        return -1;
    }
    if (catalog_has_upload(ic->cat, ic->project, hex) <= 0) {
        snprintf(why, n, "%s: blob %.16s was not uploaded for project %s", path, hex,
                 ic->project);
        return -1;
    }
    weft_err err = {0};
    if (store_ref_of(ic->store, hex, is_dir, path, ref, &err) < 0) {
        snprintf(why, n, "%s: %s", path, err.msg);
        return -1;
    }
    blob_check b = {ic, NULL};
    if (is_dir && store_dir_blobs(ic->store, *ref, uploaded_blob, &b, &err) != 0) {
        snprintf(why, n, "%s: %s", path,
                 b.missing ? "a file of the directory was not uploaded for its project"
                           : err.msg);
        json_decref(*ref);
        *ref = NULL;
        return -1;
    }
    json_object_set(ic->pinned, path, *ref);
    return 0;
}

int ingest_path(void *ud, const char *path, int is_dir, json_t **ref, char *why, size_t n)
{
    ingest_ctx *ic = ud;
    json_t *have = json_object_get(ic->pinned, path);
    if (have) {
        *ref = json_deep_copy(have);
        return 0;
    }
    if (ic->pinned_only) {
        snprintf(why, n, "%s was not recorded with the run", path);
        return -1;
    }
    if (ic->remote)
        return from_upload(ic, path, is_dir, ref, why, n);
    char *abs = path[0] == '/' || !ic->cwd ? xstrdup(path) : xasprintf("%s/%s", ic->cwd, path);
    weft_err err = {0};
    int rc = store_put_path(ic->store, abs, is_dir, ref, &err);
    if (rc)
        snprintf(why, n, "%s", err.msg);
    else
        json_object_set(ic->pinned, path, *ref);
    free(abs);
    return rc;
}
