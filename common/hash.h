/* hash: BLAKE2b-256 content hashes (libsodium), printed as 64 lowercase hex digits. */
#ifndef WEFT_HASH_H
#define WEFT_HASH_H

#include <stddef.h>

#include <sodium.h>

#define HASH_HEX_LEN 64

typedef struct hash_ctx {
    crypto_generichash_state st;
} hash_ctx;

void hash_init(hash_ctx *h);
void hash_update(hash_ctx *h, const void *data, size_t len);
/* Writes HASH_HEX_LEN hex digits and a NUL into hex. */
void hash_final_hex(hash_ctx *h, char hex[HASH_HEX_LEN + 1]);
/* The hash of len bytes of data, in one call. */
void hash_hex(const void *data, size_t len, char hex[HASH_HEX_LEN + 1]);
/* Whether s is a hash as printed: exactly HASH_HEX_LEN lowercase hex digits. */
int hash_hex_valid(const char *s);

#endif
