/* slotlog: a slot's log file. See slotlog.h. */
#include "worker/slotlog.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

int slotlog_reset(const char *path)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    /* Granted only while this is the one open file for writing it; held no longer than
     * the check (an open by another process meanwhile waits for the release). */
    int rc = 0;
    if (fcntl(fd, F_SETLEASE, F_WRLCK) == 0) {
        fcntl(fd, F_SETLEASE, F_UNLCK);
        if (ftruncate(fd, 0) < 0)
            rc = -errno;
    } else {
        rc = -EBUSY;
    }
    close(fd);
    if (rc < 0 && unlink(path) == 0 && rc == -EBUSY)
        rc = 0;
    return rc;
}

static void on_sigio(int sig)
{
    (void)sig; /* a lease broken during slotlog_reset's check */
}

void slotlog_init(void)
{
    /* A handler, not SIG_IGN: what the worker's children execute gets SIGIO's default. */
    signal(SIGIO, on_sigio);
}
