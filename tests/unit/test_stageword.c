/* Unit tests for worker/stageword.c: the words through which a worker and an executor hand
 * over a staged attempt. A token swaps for 0 once, from either process; a token taken back
 * (and its request left in the pipe) never claims a later one in the same word; and a
 * descriptor that is no page of words is refused. */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/selftest.h"
#include "worker/stageword.h"

int test_stageword(void)
{
    int fails = 0;
    int fd;
    stageword *w = stageword_new(&fd);
    CHECK(w != NULL && fd >= 0);
    if (!w)
        return fails;
    for (int i = 0; i < STAGE_WORDS; i++)
        CHECK(atomic_load(&w[i]) == 0);
    /* Staged with token 7: a wrong token does not take it; the right one does, once. */
    atomic_store(&w[0], 7);
    CHECK(!stageword_take(w, 0, 8));
    CHECK(stageword_take(w, 0, 7));
    CHECK(!stageword_take(w, 0, 7));
    /* The same word, staged again with a new token after the worker took token 9 back: the
     * request of 9, still in the pipe, cannot claim the attempt of 10. */
    atomic_store(&w[0], 9);
    CHECK(stageword_take(w, 0, 9)); /* the worker's retraction */
    atomic_store(&w[0], 10);
    CHECK(!stageword_take(w, 0, 9)); /* the stale request */
    CHECK(atomic_load(&w[0]) == 10);
    /* Another process, mapping the memfd as an executor does, claims token 11 in word 1. */
    atomic_store(&w[1], 11);
    pid_t child = fork();
    if (child == 0) {
        stageword *e = stageword_map(dup(fd));
        _exit(e && stageword_take(e, 1, 11) && !stageword_take(e, 0, 9) ? 0 : 1);
    }
    int status = -1;
    CHECK(child > 0 && waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(atomic_load(&w[1]) == 0);
    CHECK(!stageword_take(w, 1, 11)); /* the executor had it */
    CHECK(atomic_load(&w[0]) == 10);
    stageword_free(w);
    close(fd);
    /* A file shorter than the words (it would fault when read), and no file at all. */
    int short_fd = memfd_create("short", MFD_CLOEXEC);
    errno = 0;
    CHECK(short_fd >= 0 && stageword_map(short_fd) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(stageword_map(999) == NULL && errno == EBADF);
    return fails;
}
