/* dbtest: what the unit tests of the catalogue and its VFS share: a catalogue in a new
 * directory, and one value read with SQL. */
#ifndef WEFT_TEST_DBTEST_H
#define WEFT_TEST_DBTEST_H

#include <sqlite3.h>

#include "catalog/catalog.h"

/* A new catalogue, writable, in a new directory made from dir (a mkdtemp template, which
 * becomes the directory's name), or NULL. */
catalog *dbtest_catalog(char *dir);
/* The first column of the first row sql returns, or -1. */
sqlite3_int64 dbtest_one(sqlite3 *db, const char *sql);

#endif
