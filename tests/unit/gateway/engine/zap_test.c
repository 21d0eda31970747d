/*
 * zap_test - lines of the allowed worker keys file. Z85 uses '#' as a digit,
 * so a key holding one must not be cut as if a comment started there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "gateway/engine/zap.h"

static void
test_key_with_hash_digits_is_read_whole(void **state)
{
    unsigned char raw[32], key[32];
    char z85[41], line[128];
    int i, found = 0;

    (void)state;
    /* search for a key whose Z85 text holds '#': a fixed sequence, so the test is the same every run */
    srand(7);
    for (i = 0; i < 10000 && !found; i++) {
        for (int b = 0; b < 32; b++)
            raw[b] = (unsigned char)(rand() & 0xff);
        assert_non_null(zmq_z85_encode(z85, raw, 32));
        found = strchr(z85, '#') != NULL;
    }
    assert_true(found);
    snprintf(line, sizeof line, "  %s  worker-1 # rack 3\n", z85);
    assert_int_equal(zap_parse_key_line(line, key), 1);
    assert_memory_equal(key, raw, 32);
}

static void
test_comments_and_blank_lines(void **state)
{
    unsigned char key[32];

    (void)state;
    assert_int_equal(zap_parse_key_line("# workers allowed\n", key), 0);
    assert_int_equal(zap_parse_key_line("   # indented comment\n", key), 0);
    assert_int_equal(zap_parse_key_line("\n", key), 0);
    assert_int_equal(zap_parse_key_line("\r\n", key), 0);
    assert_int_equal(zap_parse_key_line("", key), 0);
}

static void
test_bad_keys_are_refused(void **state)
{
    unsigned char key[32];

    (void)state;
    assert_int_equal(zap_parse_key_line("tooshort\n", key), -1);
    /* 41 characters */
    assert_int_equal(zap_parse_key_line("00000000000000000000000000000000000000000\n", key), -1);
    /* 40 characters, but '~' is not a Z85 digit */
    assert_int_equal(zap_parse_key_line("~000000000000000000000000000000000000000\n", key), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_with_hash_digits_is_read_whole),
        cmocka_unit_test(test_comments_and_blank_lines),
        cmocka_unit_test(test_bad_keys_are_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
