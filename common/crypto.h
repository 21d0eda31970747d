/*
 * crypto - hashing, HMAC, randomness and constant-time comparison (OpenSSL)
 *
 * All output buffers are caller-provided and sized by the constants below.
 * hmac_sha256 keeps, per thread, the keyed digest states of the last few keys
 * it was given (crypto.c says why); they are this module's, freed when the
 * thread ends. Nothing else allocates.
 */
#ifndef BCCI_CRYPTO_H
#define BCCI_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN]);
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SHA256_LEN]);
void hex_encode(const uint8_t *in, size_t len, char *out /* 2*len+1 */);
/* base64url_encode - unpadded URL-safe base64; out needs 4*ceil(len/3)+1 */
void base64url_encode(const uint8_t *in, size_t len, char *out);
/* random_bytes - 0 on success, -1 when the system RNG failed */
int random_bytes(void *out, size_t len);
/* ct_equal - 1 when equal; time depends only on len */
int ct_equal(const void *a, const void *b, size_t len);

#endif
