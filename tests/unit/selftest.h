/* selftest: the tiny harness behind weft-selftest. Each test is a function returning the
 * number of failed checks; CHECK prints the failing expression with its place. */
#ifndef WEFT_SELFTEST_H
#define WEFT_SELFTEST_H

#include <stdio.h>
#include <string.h>

#define CHECK(e)                                                                   \
    do {                                                                           \
        if (!(e)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #e); \
            fails++;                                                               \
        }                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                  \
    do {                                                                                 \
        const char *a_ = (a), *b_ = (b);                                                 \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                         \
            fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, \
                    b_ ? b_ : "(null)", a_ ? a_ : "(null)");                             \
            fails++;                                                                     \
        }                                                                                \
    } while (0)

int test_units(void);
int test_wtype(void);
int test_maps(void);
int test_arena(void);
int test_frame(void);
int test_compile(void);
int test_core(void);
int test_core_clock(void);
int test_core_restore(void);
int test_backoff(void);
int test_placement(void);
int test_queueing(void);
int test_retry(void);
int test_metrics(void);
int test_modelfile(void);
int test_embed(void);
int test_store(void);
int test_auth(void);
int test_cron(void);
int test_s3(void);
int test_catvfs(void);
int test_rowids(void);
int test_ckpt(void);
int test_getpid(void);
int test_stageword(void);

#endif
