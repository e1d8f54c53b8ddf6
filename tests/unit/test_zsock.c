/* Unit tests for common/zsock.c's getpid, which libzmq and everything else in the process
 * call in place of glibc's: the process's id, the same from every thread, and a child of
 * fork(2) its own, not its parent's. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/zsock.h"
#include "tests/unit/selftest.h"

static void *thread_pid(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)getpid();
}

int test_getpid(void)
{
    int fails = 0;
    /* The one the dynamic linker gives every library is zsock's (this file refers to zsock,
     * so it is linked), not glibc's. */
    void *volatile linked = (void *)zsock_new;
    CHECK(linked != NULL);
    CHECK(dlsym(RTLD_DEFAULT, "getpid") == (void *)getpid);
    CHECK(dlsym(RTLD_NEXT, "getpid") != (void *)getpid);
    pid_t me = (pid_t)syscall(SYS_getpid);
    CHECK(getpid() == me);
    pthread_t t;
    void *seen = NULL;
    CHECK(pthread_create(&t, NULL, thread_pid, NULL) == 0 && pthread_join(t, &seen) == 0);
    CHECK((pid_t)(intptr_t)seen == me);
    pid_t child = fork();
    if (child == 0)
        _exit(getpid() == (pid_t)syscall(SYS_getpid) && getpid() != me ? 0 : 1);
    int status = -1;
    CHECK(child > 0 && waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(getpid() == me);
    return fails;
}
