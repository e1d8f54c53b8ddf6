/* stageword: the staging words shared by a worker and an executor. See stageword.h. */
#include "worker/stageword.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(__atomic_always_lock_free(sizeof(stageword), 0),
               "the words are shared between processes");

#define SIZE (STAGE_WORDS * sizeof(stageword))

stageword *stageword_new(int *fd)
{
    *fd = memfd_create("weft-staging", MFD_CLOEXEC);
    if (*fd < 0)
        return NULL;
    void *p = ftruncate(*fd, SIZE) == 0
              ? mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0) : MAP_FAILED;
    if (p != MAP_FAILED)
        return p; /* a new memfd reads as zeros */
    int e = errno;
    close(*fd);
    *fd = -1;
    errno = e;
    return NULL;
}

stageword *stageword_map(int fd)
{
    struct stat st;
    void *p = MAP_FAILED;
    int ok = fstat(fd, &st) == 0;
    if (ok && st.st_size < (off_t)SIZE) {
        errno = EINVAL; /* a shorter file would fault when read */
        ok = 0;
    }
    if (ok)
        p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    errno = e;
    return p == MAP_FAILED ? NULL : p;
}

void stageword_free(stageword *w)
{
    if (w)
        munmap((void *)w, SIZE);
}

int stageword_take(stageword *w, uint32_t i, uint64_t token)
{
    return atomic_compare_exchange_strong(&w[i], &token, 0);
}
