/* store_int: what the artifact store's modules share: store.c (references, directories)
 * and its backends (store_local.c). */
#ifndef WEFT_STORE_INT_H
#define WEFT_STORE_INT_H

#include <stdint.h>

#include "catalog/store.h"

#define STORE_IO_CHUNK (1u << 20)

/* Copies fd `in` to fd `out` (out < 0: only hashes), hashing what passes into hex and
 * counting it into *size (may be NULL). 0, or -errno. */
int store_copy_hash(int in, int out, char hex[HASH_HEX_LEN + 1], uint64_t *size);

/* The backends' openers (store_open picks one by the location's form). */
int store_local_open(const char *location, store **out, weft_err *err);
int store_s3_open(const char *location, store **out, weft_err *err);

#endif
