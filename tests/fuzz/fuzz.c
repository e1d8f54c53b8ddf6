/* fuzz: see fuzz.h. */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

const char *fuzz_path(int which, const void *data, size_t size)
{
    /* Mutable statics, against habit 6: libFuzzer calls the target with no context to
     * hang them on. Each is set once, when its file is made. */
    static int fds[2] = {-1, -1};
    static char paths[2][64];
    WEFT_ASSERT(which == 0 || which == 1);
    if (fds[which] < 0) {
        fds[which] = memfd_create(which ? "weft-fuzz-out" : "weft-fuzz-in", MFD_CLOEXEC);
        WEFT_ASSERT(fds[which] >= 0);
        snprintf(paths[which], sizeof paths[which], "/proc/self/fd/%d", fds[which]);
    }
    WEFT_ASSERT(ftruncate(fds[which], 0) == 0);
    WEFT_ASSERT(pwrite(fds[which], data, size, 0) == (ssize_t)size);
    return paths[which];
}
