/* Unit tests for catalog/store.c: a blob verified once by a process is not rehashed on the
 * next read, and a blob changed in place after that is still caught (its ctime moved). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/store.h"
#include "common/fsutil.h"
#include "common/xmem.h"
#include "tests/unit/selftest.h"

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int bad = !f || fputs(text, f) < 0;
    return (f && fclose(f) != 0) || bad ? -1 : 0;
}

int test_store(void)
{
    int fails = 0;
    char dir[] = "/tmp/weft-store-test.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *root = xasprintf("%s/store", dir), *src = xasprintf("%s/in.txt", dir);
    store *s = NULL;
    weft_err err = {0};
    json_t *ref = NULL;
    char *path = NULL, *again = NULL;
    CHECK(store_open(root, &s, &err) == 0);
    CHECK(write_text(src, "the same bytes\n") == 0);
    CHECK(store_put_path(s, src, 0, &ref, &err) == 0);
    CHECK(store_materialize(s, ref, dir, &path, &err) == 0);
    CHECK(store_materialize(s, ref, dir, &again, &err) == 0); /* remembered: not rehashed */
    CHECK_STR(again, path);

    /* Damage it in place with bytes of the same length and put its mtime back: the
     * ctime still moves, so this process hashes it again and quarantines it. */
    struct stat before;
    CHECK(stat(path, &before) == 0);
    sleep(1);
    CHECK(chmod(path, 0644) == 0 && write_text(path, "the evil bytes\n") == 0);
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    CHECK(utimensat(AT_FDCWD, path, times, 0) == 0);
    char *bad = NULL;
    CHECK(store_materialize(s, ref, dir, &bad, &err) == WEFT_ECORRUPT);
    CHECK(bad == NULL);
    CHECK(access(path, F_OK) != 0); /* moved to corrupt/ */

    json_decref(ref);
    free(path);
    free(again);
    store_close(&s);
    fs_remove_tree(dir);
    free(root);
    free(src);
    return fails;
}
