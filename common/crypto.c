/*
 * crypto - thin wrappers over OpenSSL (see crypto.h)
 */
#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
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

/* Keyed states. HMAC is composed from the digest (RFC 2104). Under one key, the two key
 * blocks of every HMAC (key^ipad, key^opad) hash to the same digest states; the gateway MACs
 * with a few long-lived keys (the chain key, the tracking key, the case-system secret), three
 * times per intake. Each thread keeps the states of the last KEYED_SLOTS keys it used, found
 * by the key's bytes, so an HMAC costs the message's blocks and one outer block. A key longer
 * than a block is its SHA-256 (RFC 2104 says so). Only when OpenSSL or the allocator fails
 * does the one-shot HMAC() answer instead. The states are freed when their thread ends. */
enum { KEYED_SLOTS = 4, KEY_BLOCK = 64 };

typedef struct {
    int used;
    size_t keylen;
    uint8_t key[KEY_BLOCK];
    EVP_MD_CTX *inner, *outer; /* after key^ipad, key^opad */
} keyed_state_t;

typedef struct {
    keyed_state_t slot[KEYED_SLOTS];
    unsigned next;    /* the slot a new key replaces */
    EVP_MD_CTX *work; /* one message at a time */
} keyed_states_t;

static pthread_key_t states_key;
static pthread_once_t states_once = PTHREAD_ONCE_INIT;
static int states_ready;

static void
free_states(void *p)
{
    keyed_states_t *st = p;
    int i;

    for (i = 0; i < KEYED_SLOTS; i++) {
        EVP_MD_CTX_free(st->slot[i].inner);
        EVP_MD_CTX_free(st->slot[i].outer);
    }
    EVP_MD_CTX_free(st->work);
    OPENSSL_cleanse(st, sizeof *st);
    free(st);
}

static void
make_states_key(void)
{
    states_ready = pthread_key_create(&states_key, free_states) == 0;
}

static keyed_states_t *
thread_states(void)
{
    keyed_states_t *st;

    pthread_once(&states_once, make_states_key);
    if (!states_ready)
        return NULL;
    st = pthread_getspecific(states_key);
    if (st)
        return st;
    st = calloc(1, sizeof *st);
    if (st && pthread_setspecific(states_key, st) != 0) {
        free(st);
        st = NULL;
    }
    return st;
}

/* keyed - the states for key, built on first use; NULL when OpenSSL cannot (out of memory) */
static keyed_state_t *
keyed(keyed_states_t *st, const void *key, size_t keylen)
{
    uint8_t pad[KEY_BLOCK];
    keyed_state_t *s;
    const EVP_MD *md = sha256_algorithm();
    int i, ok;

    for (i = 0; i < KEYED_SLOTS; i++)
        if (st->slot[i].used && st->slot[i].keylen == keylen && CRYPTO_memcmp(st->slot[i].key, key, keylen) == 0)
            return &st->slot[i];
    s = &st->slot[st->next++ % KEYED_SLOTS];
    s->used = 0;
    if (!s->inner)
        s->inner = EVP_MD_CTX_new();
    if (!s->outer)
        s->outer = EVP_MD_CTX_new();
    memset(s->key, 0, sizeof s->key);
    if (keylen)
        memcpy(s->key, key, keylen);
    for (i = 0; i < KEY_BLOCK; i++)
        pad[i] = s->key[i] ^ 0x36;
    ok = s->inner && EVP_DigestInit_ex(s->inner, md, NULL) && EVP_DigestUpdate(s->inner, pad, KEY_BLOCK);
    for (i = 0; i < KEY_BLOCK; i++)
        pad[i] = s->key[i] ^ 0x5c;
    ok = ok && s->outer && EVP_DigestInit_ex(s->outer, md, NULL) && EVP_DigestUpdate(s->outer, pad, KEY_BLOCK);
    OPENSSL_cleanse(pad, sizeof pad);
    if (!ok) {
        OPENSSL_cleanse(s->key, sizeof s->key);
        return NULL;
    }
    s->keylen = keylen;
    s->used = 1;
    return s;
}

void
hmac_sha256(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SHA256_LEN])
{
    uint8_t short_key[SHA256_LEN], inner[SHA256_LEN];
    const void *k = key;
    size_t klen = keylen;
    keyed_states_t *st = thread_states();
    keyed_state_t *s;
    unsigned int n = SHA256_LEN;

    if (keylen > KEY_BLOCK) {
        sha256(key, keylen, short_key);
        k = short_key;
        klen = sizeof short_key;
    }
    s = st ? keyed(st, k, klen) : NULL;
    if (s && !st->work)
        st->work = EVP_MD_CTX_new();
    if (s && st->work && EVP_MD_CTX_copy_ex(st->work, s->inner) && EVP_DigestUpdate(st->work, data, len) &&
        EVP_DigestFinal_ex(st->work, inner, NULL) && EVP_MD_CTX_copy_ex(st->work, s->outer) &&
        EVP_DigestUpdate(st->work, inner, SHA256_LEN) && EVP_DigestFinal_ex(st->work, out, NULL)) {
        OPENSSL_cleanse(inner, sizeof inner);
    } else {
        /* out of memory inside OpenSSL or here: the one-shot call still answers correctly */
        HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n);
    }
    OPENSSL_cleanse(short_key, sizeof short_key);
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
