/*
 * crypto - thin wrappers over OpenSSL (see crypto.h)
 */
#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

/* OpenSSL 3 looks the algorithm up in its provider tables on every EVP_sha256() digest and
 * every one-shot HMAC(); the intake path hashes each dossier and HMACs each timeline event,
 * and that lookup cost more than the hashing. The digest is fetched once per process (kept
 * for its lifetime) and HMAC (RFC 2104) is composed from it. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
fetch_sha256(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
sha256_algorithm(void)
{
    pthread_once(&sha256_once, fetch_sha256);
    return sha256_md ? sha256_md : EVP_sha256();
}

void
sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    unsigned int n = SHA256_LEN;

    EVP_Digest(data, len, out, &n, sha256_algorithm(), NULL);
}

void
hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

void
sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
    uint8_t d[SHA256_LEN];

    sha256(data, len, d);
    hex_encode(d, SHA256_LEN, out);
}

void
hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    enum { BLOCK = 64 };
    uint8_t k[BLOCK] = { 0 }, pad[BLOCK], inner[SHA256_LEN];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const EVP_MD *md = sha256_algorithm();
    int i, ok;

    if (keylen > BLOCK)
        sha256(key, keylen, k);
    else if (keylen)
        memcpy(k, key, keylen);
    for (i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, pad, BLOCK) &&
         EVP_DigestUpdate(ctx, data, len) && EVP_DigestFinal_ex(ctx, inner, NULL);
    for (i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, pad, BLOCK) &&
         EVP_DigestUpdate(ctx, inner, SHA256_LEN) && EVP_DigestFinal_ex(ctx, out, NULL);
    if (!ok) {
        /* out of memory inside OpenSSL: the one-shot call still answers correctly */
        unsigned int n = SHA256_LEN;

        HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n);
    }
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
}

void
base64url_encode(const uint8_t *in, size_t len, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i, o = 0;

    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
    }
    out[o] = '\0';
}

int
random_bytes(void *out, size_t len)
{
    return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

int
ct_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
