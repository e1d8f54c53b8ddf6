/* fsutil: small filesystem helpers shared by every binary. */
#ifndef WEFT_FSUTIL_H
#define WEFT_FSUTIL_H

#include <stddef.h>

#include "common/err.h"

/* Reads a whole file into a fresh NUL-terminated buffer (caller frees with free()). A file
 * larger than max bytes is refused with WEFT_ELIMIT and a message giving both sizes. */
int fs_read_file(const char *path, size_t max, char **out, size_t *len, weft_err *err);
/* Writes data to path atomically (temporary file, then rename). 0 or -errno. */
int fs_write_file(const char *path, const void *data, size_t len);
/* mkdir -p; 0 or -errno. */
int fs_mkdir_p(const char *path, unsigned mode);
/* Makes path (and missing parents) a directory private to this user: created 0700; an
 * existing one must be a real directory (not a symlink) owned by this user, and loses its
 * group and other permissions (logged). Refused with the reason otherwise. */
int fs_private_dir(const char *path, weft_err *err);
/* The umask every weft daemon runs with: what it creates is its user's alone. */
#define FS_DAEMON_UMASK 077
/* rm -rf of a directory we created (scratch space); best effort. */
void fs_remove_tree(const char *path);
/* The directory holding the running executable, e.g. "/opt/weft/bin" (caller frees). */
char *fs_exe_dir(void);
/* The path of a sibling binary of the running executable, e.g. weft-executor. Caller frees. */
char *fs_sibling_exe(const char *name);
/* The default plugin path: $WEFT_PLUGIN_PATH, or <exe dir>/../lib/weft/plugins.
 * Caller frees. */
char *fs_default_plugin_path(void);

#endif
