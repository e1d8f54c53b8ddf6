/* catvfs: an SQLite VFS, over the default one, that writes a WAL's frames in one call.
 *
 * SQLite writes each frame it appends to a WAL with two pwrite(2) calls, its 24-byte header
 * and then the page: a commit of 15 pages is 30 system calls, about 60 µs on a VM where one
 * pwrite of the same bytes takes 10. This VFS gathers the writes to a WAL file that follow
 * one another in a buffer (124 KiB) and writes them with one call as a commit's last frame
 * is written, and before the file is synced, read, sized, truncated or closed, and before
 * a write elsewhere in it. A WAL grows 256 KiB at a time, written with zeros, so that a
 * commit's sync writes its frames in place and need not also write the larger file's size
 * and blocks. Every other file (the database and its shared memory, journals) is the
 * default VFS's.
 *
 * Readers learn of a commit's frames from the WAL index, which SQLite updates once it has
 * written the commit's last frame (and synced the WAL, when every commit syncs it): the
 * buffer goes to the file as that frame's page is written (its header carries the
 * database's size after the commit, which no other frame does), so readers are never told
 * of frames still in the buffer, whether commits sync or not. What a transaction that
 * rolled back left gathered (pages it spilled from the cache) is thrown away when it lets
 * go of the WAL's write lock (seen on its database file's shared-memory lock), before
 * another writer puts its frames where these would go. A write that fails returns its own
 * code (SQLITE_FULL on a full disk) from then on, at the latest from the commit's last
 * frame, until the transaction ends. Connections in exclusive locking mode take no such
 * lock: they must not use this VFS. */
#ifndef WEFT_CATVFS_H
#define WEFT_CATVFS_H

#include <sqlite3.h>

/* Registers the VFS (not as the default), once; its name for sqlite3_open_v2, or NULL
 * (the default VFS is then used) when SQLite has no default VFS to build on. */
const char *catvfs_register(void);
/* Whether db's WAL, when it is one of this VFS's, can grow another step past its end now
 * (it then keeps the zeros): a small commit can fit in the zeros already there while the
 * disk is full, and tell nothing of it. The caller holds the WAL's write lock (a write
 * transaction). 1 when the WAL is not this VFS's. */
int catvfs_can_grow(sqlite3 *db);

#endif
