/* sched_download: pieces of a task's output blobs, for `weft get` from another machine.
 *
 * A client names the run, the task and the blob; it gets the piece only when it may see
 * the run and the blob is an artifact of the task's outputs or a file of such a directory,
 * so a client can read nothing else of the store. Blobs are read verified (store.h) and
 * sent in pieces of at most DOWNLOAD_CHUNK_MAX; the client checks the whole blob's hash. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/xmem.h"
#include "scheduler/sched_int.h"

#define DOWNLOAD_CHUNK_MAX (1u << 20)

typedef struct holds {
    store *store;
    const char *hex;
    int found;
} holds;

static int same_blob(void *ud, const char *hex)
{
    holds *h = ud;
    h->found |= !strcmp(hex, h->hex);
    return h->found;
}

static void check_ref(void *ud, const json_t *ref)
{
    holds *h = ud;
    const char *hex = artref_hash(ref);
    weft_err err = {0};
    if (!hex || h->found)
        return;
    if (!strcmp(hex, h->hex))
        h->found = 1;
    else if (artref_is_dir(ref))
        store_dir_blobs(h->store, ref, same_blob, h, &err);
}

void sched_on_download(sched *s, const zmq_msg_t *id, const auth_peer *peer,
                       const Weft__DownloadRequest *rq)
{
    if (!sched_may_see_run(s, id, peer, rq->run_id, "a download"))
        return;
    char msg[400];
    if (!hash_hex_valid(rq->hash)) {
        sched_reply(s, id, WEFT_EINVAL, "a download names a blob by its hash (64 hex digits)",
                    NULL, 0);
        return;
    }
    weft_err err = {0};
    /* The run's row and the one unit: not the run with every task and element. */
    json_t *r = catalog_query_run_unit(s->cat, (int64_t)rq->run_id, rq->task, &err);
    holds h = {.store = s->store, .hex = rq->hash};
    const json_t *outputs = json_object_get(catalog_run_unit(r, rq->task), "outputs");
    if (outputs)
        artref_each(outputs, check_ref, &h);
    if (!r || !h.found) {
        if (r)
            snprintf(msg, sizeof msg, "task '%.128s' of run %llu has no artifact %.16s...",
                     rq->task, (unsigned long long)rq->run_id, rq->hash);
        sched_reply(s, id, r ? WEFT_ENOTFOUND : err.code, r ? msg : err.msg, NULL, 0);
        json_decref(r);
        return;
    }
    json_decref(r);
    char *path = NULL;
    int fd = -1;
    struct stat st;
    if (s->store->ops->get(s->store, rq->hash, &path, &err) == 0)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0 || fstat(fd, &st) < 0) {
        sched_reply(s, id, err.code ? err.code : WEFT_EIO,
                    err.code ? err.msg : "cannot read the blob", NULL, 0);
        if (fd >= 0)
            close(fd);
        return;
    }
    uint64_t size = (uint64_t)st.st_size;
    size_t n = rq->offset < size ? (size_t)(size - rq->offset) : 0;
    if (n > DOWNLOAD_CHUNK_MAX)
        n = DOWNLOAD_CHUNK_MAX;
    char *buf = xmalloc(n + 1);
    ssize_t got = n ? pread(fd, buf, n, (off_t)rq->offset) : 0;
    close(fd);
    snprintf(msg, sizeof msg, "{\"size\": %llu}", (unsigned long long)size);
    if (got < 0 || (size_t)got != n)
        sched_reply(s, id, WEFT_EIO, "cannot read the blob", NULL, 0);
    else
        sched_reply_data(s, id, msg, buf, n);
    free(buf);
}
