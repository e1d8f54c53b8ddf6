/* marks: catalog.marks, the catalogue's high-water marks, kept beside the database.
 *
 * SQLite guarantees that a committed transaction survives; it cannot tell that a database
 * lost transactions it once held (catalog.db-wal deleted, catalog.db truncated or replaced
 * by an older copy). After a commit that issued new run ids, and at most once a second for
 * attempt ids, the catalogue records the highest ids it has committed here; a database that
 * holds less than its marks is refused on open (catalog.c). The file also keeps floors: the
 * highest ids issued before a loss was accepted or a backup restored, so that no id is ever
 * issued twice.
 *
 * Written after the database commit, so a stale file only understates what was committed;
 * it never claims more. Not here: the checks themselves (catalog.c). */
#ifndef WEFT_MARKS_H
#define WEFT_MARKS_H

#include <stdint.h>

#include "common/err.h"

typedef struct catalog_marks {
    int64_t run, attempt;             /* the highest ids committed */
    int64_t run_floor, attempt_floor; /* ids at or below these are never issued again */
} catalog_marks;

/* Reads DIR/catalog.marks into m; a missing file gives zeros and returns 0 (*found = 0).
 * A file that is not a marks file is refused with WEFT_ECORRUPT and a message naming it. */
int marks_read(const char *dir, catalog_marks *m, int *found, weft_err *err);
/* Replaces DIR/catalog.marks atomically. 0 or -errno. */
int marks_write(const char *dir, const catalog_marks *m);
/* The highest run (attempt) id that must never be issued again under m. */
static inline int64_t marks_run_max(const catalog_marks *m)
{
    return m->run > m->run_floor ? m->run : m->run_floor;
}
static inline int64_t marks_attempt_max(const catalog_marks *m)
{
    return m->attempt > m->attempt_floor ? m->attempt : m->attempt_floor;
}

#endif
