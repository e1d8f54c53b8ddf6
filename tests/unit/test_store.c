/* Unit tests for catalog/store.c: a blob verified once by a process is not rehashed on the
 * next read, and a blob changed in place after that is still caught (its ctime moved); a
 * held blob is present until released, and written by store_put_data_unsynced; a small
 * file's reference is made without storing it, and a larger one is refused, named. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/store.h"
#include "common/fsutil.h"
#include "common/hash.h"
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

    /* Held: present to has, verify and ref_of (with its size) before any file exists. */
    const char *text = "held bytes";
    char hex[HASH_HEX_LEN + 1];
    hash_hex(text, 10, hex);
    json_t *href = json_pack("{s:s, s:s}", "artifact", hex, "kind", "file"), *of = NULL;
    CHECK(!store_has(s, hex));
    store_hold(s, hex, 10);
    CHECK(store_has(s, hex));
    CHECK(store_verify(s, href, &err) == 0);
    CHECK(store_ref_of(s, hex, 0, "/x/held.txt", &of, &err) == 0);
    CHECK(json_integer_value(json_object_get(of, "size")) == 10);
    CHECK_STR(json_string_value(json_object_get(of, "name")), "held.txt");
    /* Written while held (the hold does not stop the write), then released: a file. */
    CHECK(store_put_data_unsynced(s, text, 10, hex, &err) == 0);
    store_release_held(s);
    CHECK(store_has(s, hex));
    CHECK(store_verify(s, href, &err) == 0);
    CHECK(store_put_data_unsynced(s, text, 10, "not a hash", &err) == WEFT_EINVAL);
    json_decref(of);
    json_decref(href);

    /* A small file's reference, as store_put_path would make it, without storing it. */
    char *small = xasprintf("%s/small.csv", dir), *data = NULL;
    size_t len = 0;
    CHECK(write_text(small, "a,b\n1,2\n") == 0);
    json_t *sref = NULL;
    CHECK(store_ref_small_file(small, 64, &sref, &data, &len, &err) == 0);
    CHECK(len == 8 && data && memcmp(data, "a,b\n1,2\n", 8) == 0);
    CHECK_STR(json_string_value(json_object_get(sref, "name")), "small.csv");
    CHECK(!store_has(s, artref_hash(sref)));
    CHECK(store_ref_small_file(small, 4, &sref, &data, &len, &err) == WEFT_ELIMIT);
    CHECK(strstr(err.msg, "small.csv: not a regular file of at most 4 bytes") != NULL);
    json_decref(sref);
    free(data);
    free(small);

    json_decref(ref);
    free(path);
    free(again);
    store_close(&s);
    fs_remove_tree(dir);
    free(root);
    free(src);
    return fails;
}
