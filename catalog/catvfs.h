/* catvfs: an SQLite VFS, over the default one, that writes a WAL's frames in one call.
 *
 * SQLite writes each frame it appends to a WAL with two pwrite(2) calls, its 24-byte header
 * and then the page: a commit of 15 pages is 30 system calls, about 60 µs on a VM where one
 * pwrite of the same bytes takes 10. This VFS gathers the writes to a WAL file that follow
 * one another in a buffer (124 KiB) and writes them with one call before the file is
 * synced, read, sized, truncated or closed, and before a write elsewhere in it. Every other
 * file (the database, its shared memory, journals) is the default VFS's own.
 *
 * Readers learn of a commit's frames from the WAL index, which SQLite updates after the
 * WAL's sync when every commit syncs it (synchronous = FULL or EXTRA): a connection that
 * uses this VFS must commit that way, or readers could be told of frames still in the
 * buffer. An error of a write surfaces at the sync that carries it, with the write's own
 * code (SQLITE_FULL on a full disk), and fails that commit. */
#ifndef WEFT_CATVFS_H
#define WEFT_CATVFS_H

/* Registers the VFS (not as the default), once; its name for sqlite3_open_v2, or NULL
 * (the default VFS is then used) when SQLite has no default VFS to build on. */
const char *catvfs_register(void);

#endif
