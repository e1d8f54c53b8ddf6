/* catvfs: an SQLite VFS that writes a WAL's frames in one call. See catvfs.h. */
#include "catalog/catvfs.h"

#include <stddef.h>
#include <string.h>

#include <sqlite3.h>

/* Below 128 KiB: the default VFS makes at most 0x1ffff bytes of one write in one call (and
 * takes a second call that makes none for a disk full). 30 frames of 4 KiB pages. */
#define WAL_BUFFER (124 * 1024)
/* A WAL grows by this much at a time, written with zeros before its frames go there. */
#define WAL_GROW (256 * 1024)
#define VFS_NAME "weft-wal"

typedef struct dbfile dbfile;

/* What both kinds of file begin with: the default VFS's file, which follows the struct in
 * the same allocation. */
typedef struct shimfile {
    sqlite3_file base;
    sqlite3_file *real;
} shimfile;

/* A WAL file. */
typedef struct walfile {
    shimfile shim;
    dbfile *db;         /* its database, whose write lock ends a transaction */
    unsigned char *buf; /* writes not yet made, which follow one another */
    int len;
    int err;           /* a write of this transaction that failed: it must not commit */
    sqlite3_int64 off;   /* where buf[0] goes in the file */
    sqlite3_int64 grown; /* the file's size when last seen or made (-1: not yet seen) */
    sqlite3_int64 last;  /* where a commit's last page goes, its frame header seen (or -1) */
} walfile;

/* A database file, whose shared-memory locks say when a write transaction ends. */
struct dbfile {
    shimfile shim;
    walfile *wal; /* its WAL while open */
};

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)
#define WAL_REAL_AT ALIGN8(sizeof(walfile))
#define DB_REAL_AT ALIGN8(sizeof(dbfile))
#define REAL_AT_MAX (WAL_REAL_AT > DB_REAL_AT ? WAL_REAL_AT : DB_REAL_AT)

static sqlite3_vfs *root;

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((shimfile *)f)->real;
}

/* What both kinds of file pass to the default VFS as they are. */
static int fwd_lock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int fwd_unlock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int fwd_reserved(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int fwd_sector(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int fwd_device(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

/* Makes the file at least end bytes long, in steps of WAL_GROW written with zeros, when a
 * write is about to go past its end. A commit's sync after an append must also write the
 * file's new size and blocks (the inode, or a journal's record of it); in place, it writes
 * the data alone (on ext4 over virtio: 330-380 µs a commit appended, 160-190 in place).
 * Zeros past the last frame end the log for SQLite's recovery (their salt is not the
 * header's). The size is read from the file before it grows: another connection may have
 * written frames past what this one saw (the caller holds the WAL's write lock, so none is
 * writing now). Where the zeros cannot all be written (a full disk) the file is cut back
 * and the write goes ahead as it would have, failing or not on its own. 0, or -1 when it
 * could not grow. */
static int grow(walfile *w, sqlite3_int64 end)
{
    static const unsigned char zeros[64 * 1024];
    sqlite3_file *real = w->shim.real;
    if (end <= w->grown)
        return 0;
    sqlite3_int64 size;
    if (real->pMethods->xFileSize(real, &size) != SQLITE_OK)
        return -1;
    w->grown = size;
    if (end <= size)
        return 0;
    sqlite3_int64 to = (end + WAL_GROW - 1) / WAL_GROW * WAL_GROW, at = size;
    while (at < to) {
        int n = to - at < (sqlite3_int64)sizeof zeros ? (int)(to - at) : (int)sizeof zeros;
        if (real->pMethods->xWrite(real, zeros, n, at) != SQLITE_OK) {
            real->pMethods->xTruncate(real, size);
            return -1;
        }
        at += n;
    }
    w->grown = to;
    return 0;
}

/* Writes to the file, which grows first when this goes past its end. */
static int put(walfile *w, const void *data, int amt, sqlite3_int64 off)
{
    (void)grow(w, off + amt); /* the write says whether there was room */
    return w->shim.real->pMethods->xWrite(w->shim.real, data, amt, off);
}

/* Writes what the buffer holds. A failure sticks until the transaction ends: the frames it
 * lost are in the WAL index of this connection, which must not commit them. */
static int flush(walfile *w)
{
    if (w->err || !w->len)
        return w->err;
    int rc = put(w, w->buf, w->len, w->off);
    w->len = 0;
    if (rc != SQLITE_OK)
        w->err = rc;
    return rc;
}

static int wal_close(sqlite3_file *f)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    int closed = w->shim.real->pMethods->xClose(w->shim.real);
    if (w->db)
        w->db->wal = NULL;
    sqlite3_free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

static int wal_read(sqlite3_file *f, void *data, int amt, sqlite3_int64 off)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->shim.real->pMethods->xRead(w->shim.real, data, amt, off);
}

/* Whether data is the header of a commit's last frame: a frame header (24 bytes) whose
 * second field, the database's size in pages after the commit, is not 0. */
static int commit_frame(const void *data, int amt)
{
    const unsigned char *h = data;
    return amt == 24 && (h[4] | h[5] | h[6] | h[7]) != 0;
}

/* Appends to the buffer what follows it; anything else (a frame written again in place,
 * a new WAL's header) goes out after what the buffer holds, in order. A commit's last page
 * sends the buffer out at once: SQLite tells readers of the frames next, and a connection
 * that commits without a sync (synchronous = NORMAL) calls nothing else before. So does
 * the header of a commit's last frame that does not follow the buffer: the frame's
 * checksum written again after its page (a transaction that wrote a page twice has the
 * checksums of its later frames made again), which no page follows. */
static int wal_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
    walfile *w = (walfile *)f;
    int at_once = 0; /* the buffer goes out with this write */
    if (commit_frame(data, amt)) {
        w->last = off + amt;
        at_once = !w->len || off != w->off + w->len;
    } else if (off == w->last) {
        w->last = -1;
        at_once = 1;
    }
    int rc = w->err;
    if (rc == SQLITE_OK && w->len && (off != w->off + w->len || w->len + amt > WAL_BUFFER))
        rc = flush(w);
    if (rc != SQLITE_OK)
        return rc;
    if (!w->db || amt > WAL_BUFFER || (!w->buf && !(w->buf = sqlite3_malloc(WAL_BUFFER))))
        return put(w, data, amt, off);
    if (!w->len)
        w->off = off;
    memcpy(w->buf + w->len, data, (size_t)amt);
    w->len += amt;
    return at_once ? flush(w) : SQLITE_OK;
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    w->grown = -1;
    return rc != SQLITE_OK ? rc : w->shim.real->pMethods->xTruncate(w->shim.real, size);
}

static int wal_sync(sqlite3_file *f, int flags)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->shim.real->pMethods->xSync(w->shim.real, flags);
}

static int wal_size(sqlite3_file *f, sqlite3_int64 *size)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->shim.real->pMethods->xFileSize(w->shim.real, size);
}

static int wal_control(sqlite3_file *f, int op, void *arg)
{
    walfile *w = (walfile *)f;
    int rc = flush(w);
    return rc != SQLITE_OK ? rc : w->shim.real->pMethods->xFileControl(w->shim.real, op, arg);
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
    .xLock = fwd_lock,
    .xUnlock = fwd_unlock,
    .xCheckReservedLock = fwd_reserved,
    .xFileControl = wal_control,
    .xSectorSize = fwd_sector,
    .xDeviceCharacteristics = fwd_device,
};

/* ---- database files: the default VFS's, told when the WAL's write lock is let go ---- */

static int db_close(sqlite3_file *f)
{
    dbfile *d = (dbfile *)f;
    if (d->wal)
        d->wal->db = NULL;
    return d->shim.real->pMethods->xClose(d->shim.real);
}

static int db_read(sqlite3_file *f, void *data, int amt, sqlite3_int64 off)
{
    return real_of(f)->pMethods->xRead(real_of(f), data, amt, off);
}

static int db_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
    return real_of(f)->pMethods->xWrite(real_of(f), data, amt, off);
}

static int db_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int db_sync(sqlite3_file *f, int flags)
{
    return real_of(f)->pMethods->xSync(real_of(f), flags);
}

static int db_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int db_control(sqlite3_file *f, int op, void *arg)
{
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int db_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
    return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}

/* Lock 0 is the WAL's write lock. When it is let go, the transaction has committed (its
 * frames were written before the sync that made them durable) or rolled back: what is
 * still gathered is a rolled-back transaction's, spilled from the page cache, and must
 * never reach the file, where another writer's frames may go next. */
static int db_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    dbfile *d = (dbfile *)f;
    int rc = d->shim.real->pMethods->xShmLock(d->shim.real, offset, n, flags);
    if (d->wal && offset == 0 && (flags & SQLITE_SHM_UNLOCK) && (flags & SQLITE_SHM_EXCLUSIVE)) {
        d->wal->len = 0;
        d->wal->err = SQLITE_OK;
        d->wal->last = -1;
    }
    return rc;
}

static void db_shm_barrier(sqlite3_file *f)
{
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int db_shm_unmap(sqlite3_file *f, int delete)
{
    return real_of(f)->pMethods->xShmUnmap(real_of(f), delete);
}

static int db_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
    return real_of(f)->pMethods->xFetch(real_of(f), off, amt, out);
}

static int db_unfetch(sqlite3_file *f, sqlite3_int64 off, void *page)
{
    return real_of(f)->pMethods->xUnfetch(real_of(f), off, page);
}

static const sqlite3_io_methods db_methods = {
    .iVersion = 3,
    .xClose = db_close,
    .xRead = db_read,
    .xWrite = db_write,
    .xTruncate = db_truncate,
    .xSync = db_sync,
    .xFileSize = db_size,
    .xLock = fwd_lock,
    .xUnlock = fwd_unlock,
    .xCheckReservedLock = fwd_reserved,
    .xFileControl = db_control,
    .xSectorSize = fwd_sector,
    .xDeviceCharacteristics = fwd_device,
    .xShmMap = db_shm_map,
    .xShmLock = db_shm_lock,
    .xShmBarrier = db_shm_barrier,
    .xShmUnmap = db_shm_unmap,
    .xFetch = db_fetch,
    .xUnfetch = db_unfetch,
};

/* ---- the VFS ---- */

static int open_db(const char *name, sqlite3_file *f, int flags, int *out)
{
    dbfile *d = (dbfile *)f;
    memset(d, 0, sizeof *d);
    d->shim.real = (sqlite3_file *)((char *)d + DB_REAL_AT);
    int rc = root->xOpen(root, name, d->shim.real, flags, out);
    if (rc == SQLITE_OK && d->shim.real->pMethods->iVersion < db_methods.iVersion) {
        d->shim.real->pMethods->xClose(d->shim.real);
        rc = SQLITE_CANTOPEN;
    }
    d->shim.base.pMethods = rc == SQLITE_OK ? &db_methods : NULL;
    return rc;
}

/* A WAL gathers its writes only when its database is one of ours, which says when its
 * transactions end, and when that file overwrites safely (SQLite's default): otherwise
 * SQLite pads a commit to a sector's end, and writes its last frame in two parts around a
 * sync, the second after it; each write is then made at once. */
static int open_wal(const char *name, sqlite3_file *f, int flags, int *out)
{
    walfile *w = (walfile *)f;
    memset(w, 0, sizeof *w);
    w->grown = w->last = -1;
    w->shim.real = (sqlite3_file *)((char *)w + WAL_REAL_AT);
    int rc = root->xOpen(root, name, w->shim.real, flags, out);
    w->shim.base.pMethods = rc == SQLITE_OK ? &wal_methods : NULL;
    sqlite3_file *db = rc == SQLITE_OK ? sqlite3_database_file_object(name) : NULL;
    if (db && db->pMethods == &db_methods && !((dbfile *)db)->wal &&
        (db->pMethods->xDeviceCharacteristics(db) & SQLITE_IOCAP_POWERSAFE_OVERWRITE)) {
        w->db = (dbfile *)db;
        w->db->wal = w;
    }
    return rc;
}

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    if (flags & SQLITE_OPEN_WAL)
        return open_wal(name, f, flags, out);
    if (flags & SQLITE_OPEN_MAIN_DB)
        return open_db(name, f, flags, out);
    return root->xOpen(root, name, f, flags, out);
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

int catvfs_can_grow(sqlite3 *db)
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f ||
        f->pMethods != &wal_methods)
        return 1;
    walfile *w = (walfile *)f;
    sqlite3_int64 size;
    if (w->shim.real->pMethods->xFileSize(w->shim.real, &size) != SQLITE_OK)
        return 0;
    return grow(w, size + 1) == 0;
}

const char *catvfs_register(void)
{
    if (root)
        return VFS_NAME;
    sqlite3_vfs *dflt = sqlite3_vfs_find(NULL);
    if (!dflt || dflt->iVersion < 2 || !dflt->xCurrentTimeInt64)
        return NULL;
    catvfs.mxPathname = dflt->mxPathname;
    catvfs.szOsFile = (int)REAL_AT_MAX + dflt->szOsFile;
    root = dflt;
    if (sqlite3_vfs_register(&catvfs, 0) != SQLITE_OK) {
        root = NULL;
        return NULL;
    }
    return VFS_NAME;
}
