/* ingest: workflow paths to artifacts. See ingest.h. */
#include "scheduler/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmem.h"

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
