/* catvfs: an SQLite VFS that writes a WAL's frames in one call. See catvfs.h. */
#include "catalog/catvfs.h"

#include <stddef.h>
#include <string.h>

#include <sqlite3.h>

/* Below 128 KiB: the default VFS makes at most 0x1ffff bytes of one write in one call (and
 * takes a second call that makes none for a disk full). 30 frames of 4 KiB pages. */
#define WAL_BUFFER (124 * 1024)
#define VFS_NAME "weft-wal"

/* A WAL file: the default VFS's file follows this struct in the same allocation. */
typedef struct walfile {
    sqlite3_file base;
    sqlite3_file *real;
    unsigned char *buf; /* writes not yet made, which follow one another */
    int len;
    sqlite3_int64 off; /* where buf[0] goes in the file */
} walfile;

#define REAL_AT ((sizeof(walfile) + 7) & ~(size_t)7)

static sqlite3_vfs *root;

static int flush(walfile *w)
{
    if (!w->len)
        return SQLITE_OK;
    int rc = w->real->pMethods->xWrite(w->real, w->buf, w->len, w->off);
    w->len = 0;
    return rc;
}

static int wal_close(sqlite3_file *f)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    int closed = w->real->pMethods->xClose(w->real);
    sqlite3_free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

static int wal_read(sqlite3_file *f, void *data, int amt, sqlite3_int64 off)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, data, amt, off);
}

/* Appends to the buffer what follows it; anything else (a frame written again in place,
 * a new WAL's header) goes out after what the buffer holds, in order. */
static int wal_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
    walfile *w = (walfile *)f;
    int rc = SQLITE_OK;
    if (w->len && (off != w->off + w->len || w->len + amt > WAL_BUFFER))
        rc = flush(w);
    if (rc != SQLITE_OK)
        return rc;
    if (amt > WAL_BUFFER)
        return w->real->pMethods->xWrite(w->real, data, amt, off);
    if (!w->buf && !(w->buf = sqlite3_malloc(WAL_BUFFER)))
        return w->real->pMethods->xWrite(w->real, data, amt, off);
    if (!w->len)
        w->off = off;
    memcpy(w->buf + w->len, data, (size_t)amt);
    w->len += amt;
    return SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wal_size(sqlite3_file *f, sqlite3_int64 *size)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

static int wal_lock(sqlite3_file *f, int level)
{
    sqlite3_file *r = ((walfile *)f)->real;
    return r->pMethods->xLock(r, level);
}

static int wal_unlock(sqlite3_file *f, int level)
{
    sqlite3_file *r = ((walfile *)f)->real;
    return r->pMethods->xUnlock(r, level);
}

static int wal_reserved(sqlite3_file *f, int *out)
{
    sqlite3_file *r = ((walfile *)f)->real;
    return r->pMethods->xCheckReservedLock(r, out);
}

static int wal_control(sqlite3_file *f, int op, void *arg)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}

static int wal_sector(sqlite3_file *f)
{
    sqlite3_file *r = ((walfile *)f)->real;
    return r->pMethods->xSectorSize(r);
}

static int wal_device(sqlite3_file *f)
{
    sqlite3_file *r = ((walfile *)f)->real;
    return r->pMethods->xDeviceCharacteristics(r);
}

/* Version 1: a WAL file is neither memory-mapped nor shared memory. */
static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_size,
    .xLock = wal_lock,
    .xUnlock = wal_unlock,
    .xCheckReservedLock = wal_reserved,
    .xFileControl = wal_control,
    .xSectorSize = wal_sector,
    .xDeviceCharacteristics = wal_device,
};

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL))
        return root->xOpen(root, name, f, flags, out);
    walfile *w = (walfile *)f;
    memset(w, 0, sizeof *w);
    w->real = (sqlite3_file *)((char *)w + REAL_AT);
    int rc = root->xOpen(root, name, w->real, flags, out);
    w->base.pMethods = rc == SQLITE_OK ? &wal_methods : NULL;
    return rc;
}

/* The rest is the default VFS's, called as itself. */
static int vfs_delete(sqlite3_vfs *v, const char *name, int sync)
{
    (void)v;
    return root->xDelete(root, name, sync);
}

static int vfs_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    (void)v;
    return root->xAccess(root, name, flags, out);
}

static int vfs_fullpath(sqlite3_vfs *v, const char *name, int n, char *out)
{
    (void)v;
    return root->xFullPathname(root, name, n, out);
}

static void *vfs_dlopen(sqlite3_vfs *v, const char *name)
{
    (void)v;
    return root->xDlOpen(root, name);
}

static void vfs_dlerror(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    root->xDlError(root, n, msg);
}

static void (*vfs_dlsym(sqlite3_vfs *v, void *lib, const char *sym))(void)
{
    (void)v;
    return root->xDlSym(root, lib, sym);
}

static void vfs_dlclose(sqlite3_vfs *v, void *lib)
{
    (void)v;
    root->xDlClose(root, lib);
}

static int vfs_random(sqlite3_vfs *v, int n, char *out)
{
    (void)v;
    return root->xRandomness(root, n, out);
}

static int vfs_sleep(sqlite3_vfs *v, int us)
{
    (void)v;
    return root->xSleep(root, us);
}

static int vfs_time(sqlite3_vfs *v, double *out)
{
    (void)v;
    return root->xCurrentTime(root, out);
}

static int vfs_lasterror(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    return root->xGetLastError(root, n, msg);
}

static int vfs_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    (void)v;
    return root->xCurrentTimeInt64(root, out);
}

static sqlite3_vfs catvfs = {
    .iVersion = 2,
    .mxPathname = 0,
    .zName = VFS_NAME,
    .xOpen = vfs_open,
    .xDelete = vfs_delete,
    .xAccess = vfs_access,
    .xFullPathname = vfs_fullpath,
    .xDlOpen = vfs_dlopen,
    .xDlError = vfs_dlerror,
    .xDlSym = vfs_dlsym,
    .xDlClose = vfs_dlclose,
    .xRandomness = vfs_random,
    .xSleep = vfs_sleep,
    .xCurrentTime = vfs_time,
    .xGetLastError = vfs_lasterror,
    .xCurrentTimeInt64 = vfs_time64,
};

const char *catvfs_register(void)
{
    if (root)
        return VFS_NAME;
    sqlite3_vfs *dflt = sqlite3_vfs_find(NULL);
    if (!dflt || dflt->iVersion < 2 || !dflt->xCurrentTimeInt64)
        return NULL;
    catvfs.mxPathname = dflt->mxPathname;
    catvfs.szOsFile = (int)REAL_AT + dflt->szOsFile;
    root = dflt;
    if (sqlite3_vfs_register(&catvfs, 0) != SQLITE_OK) {
        root = NULL;
        return NULL;
    }
    return VFS_NAME;
}
