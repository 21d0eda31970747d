/*
 * crypto_test - SHA-256 and HMAC-SHA256 against published test vectors (common/crypto.c)
 *
 * hmac_sha256 is composed from the digest (RFC 2104); RFC 4231's vectors cover a short key,
 * a key of one block and a key longer than a block (hashed first). It keeps keyed states per
 * thread for its last few keys: many keys in turn, keys that differ in one byte or only in
 * length, and several threads at once must all give OpenSSL's own HMAC.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"

static void
hex(const uint8_t *in, size_t len, char *out)
{
    hex_encode(in, len, out);
}

static void
test_sha256(void **state)
{
    char out[SHA256_HEX_LEN];

    (void)state;
    sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_hmac_rfc4231(void **state)
{
    uint8_t key[131], mac[SHA256_LEN];
    char out[SHA256_HEX_LEN];
    const char *long_data = "This is a test using a larger than block-size key and a larger than block-size data. "
                            "The key needs to be hashed before being used by the HMAC algorithm.";

    (void)state;
    /* test case 1: 20-byte key 0x0b */
    memset(key, 0x0b, 20);
    hmac_sha256(key, 20, "Hi There", 8, mac);
    hex(mac, SHA256_LEN, out);
    assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* test case 2: key "Jefe" */
    hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    hex(mac, SHA256_LEN, out);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* test case 6: 131-byte key, hashed first */
    memset(key, 0xaa, sizeof key);
    hmac_sha256(key, sizeof key, "Test Using Larger Than Block-Size Key - Hash Key First", 54, mac);
    hex(mac, SHA256_LEN, out);
    assert_string_equal(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* test case 7: long key and long data */
    hmac_sha256(key, sizeof key, long_data, strlen(long_data), mac);
    hex(mac, SHA256_LEN, out);
    assert_string_equal(out, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
    /* a key of exactly one block is used as it is */
    memset(key, 0x61, 64);
    hmac_sha256(key, 64, "", 0, mac);
    hex(mac, SHA256_LEN, out);
    assert_string_equal(out, "b389ef8fc24e40e35b42b70221b466916836a241257699d090bc736b8ad21b98");
}

/* mac_matches_openssl - hmac_sha256 of (key, data) equals OpenSSL's one-shot HMAC */
static int
mac_matches_openssl(const uint8_t *key, size_t keylen, const char *data)
{
    uint8_t got[SHA256_LEN], want[SHA256_LEN];
    unsigned int n = SHA256_LEN;

    hmac_sha256(key, keylen, data, strlen(data), got);
    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, strlen(data), want, &n);
    return memcmp(got, want, SHA256_LEN) == 0;
}

/* many_keys - 40 keys in turn (more than the states kept), some differing from the next in
 * one byte or only in length, each MACed twice per round; 0 when all matched */
static int
many_keys(void)
{
    uint8_t key[70];
    char data[64];
    int round, k;

    for (round = 0; round < 3; round++)
        for (k = 0; k < 40; k++) {
            size_t len = (size_t)(k % 2 ? 16 + k : 15 + k); /* neighbours: same bytes, other length */

            memset(key, 0x20 + k / 2, sizeof key);
            key[0] = (uint8_t)(k % 5); /* ... or one byte apart */
            snprintf(data, sizeof data, "message %d of round %d", k, round);
            if (len > sizeof key)
                len = sizeof key;
            if (!mac_matches_openssl(key, len, data) || !mac_matches_openssl(key, len, data))
                return -1;
        }
    return 0;
}

static void
test_hmac_under_many_keys(void **state)
{
    (void)state;
    assert_int_equal(many_keys(), 0);
    assert_true(mac_matches_openssl((const uint8_t *)"", 0, "no key at all"));
}

static void *
many_keys_thread(void *arg)
{
    *(int *)arg = many_keys();
    return NULL;
}

static void
test_hmac_on_several_threads(void **state)
{
    pthread_t th[4];
    int rc[4], i;

    (void)state;
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, many_keys_thread, &rc[i]), 0);
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rc[i], 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_under_many_keys),
        cmocka_unit_test(test_hmac_on_several_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
