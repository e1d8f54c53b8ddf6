/* hash: BLAKE2b-256 via libsodium. See hash.h. */
#include "common/hash.h"

#include <string.h>

void hash_init(hash_ctx *h)
{
    crypto_generichash_init(&h->st, NULL, 0, 32);
}

void hash_update(hash_ctx *h, const void *data, size_t len)
{
    crypto_generichash_update(&h->st, data, len);
}

void hash_final_hex(hash_ctx *h, char hex[HASH_HEX_LEN + 1])
{
    unsigned char out[32];
    crypto_generichash_final(&h->st, out, sizeof out);
    sodium_bin2hex(hex, HASH_HEX_LEN + 1, out, sizeof out);
}

void hash_hex(const void *data, size_t len, char hex[HASH_HEX_LEN + 1])
{
    hash_ctx h;
    hash_init(&h);
    hash_update(&h, data, len);
    hash_final_hex(&h, hex);
}

int hash_hex_valid(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n == HASH_HEX_LEN && s[n] == '\0';
}
