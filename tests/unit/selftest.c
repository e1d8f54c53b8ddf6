/* weft-selftest NAME: runs one unit test (each is its own ctest case), or all without NAME. */
#include <stdio.h>
#include <string.h>

#include "tests/unit/selftest.h"

static const struct {
    const char *name;
    int (*fn)(void);
} tests[] = {
    {"units", test_units},     {"wtype", test_wtype}, {"maps", test_maps},
    {"arena", test_arena},
    {"frame", test_frame},     {"compile", test_compile}, {"core", test_core},
    {"core_clock", test_core_clock},
    {"core_restore", test_core_restore}, {"placement", test_placement},
    {"queueing", test_queueing},
    {"backoff", test_backoff}, {"retry", test_retry}, {"metrics", test_metrics},
    {"modelfile", test_modelfile}, {"embed", test_embed}, {"store", test_store},
    {"catvfs", test_catvfs}, {"rowids", test_rowids}, {"ckpt", test_ckpt}, {"getpid", test_getpid},
    {"stageword", test_stageword},
    {"auth", test_auth},
    {"cron", test_cron},
    {"s3", test_s3},
};

int main(int argc, char **argv)
{
    int failed = 0, ran = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
            continue;
        int f = tests[i].fn();
        printf("%-10s %s\n", tests[i].name, f ? "FAILED" : "ok");
        failed += f != 0;
        ran++;
    }
    if (!ran) {
        fprintf(stderr, "weft-selftest: no test named '%s'\n", argc > 1 ? argv[1] : "");
        return 2;
    }
    return failed ? 1 : 0;
}
