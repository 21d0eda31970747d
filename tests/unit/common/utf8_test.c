/*
 * utf8_test - UTF-8 validation, NFC and forbidden characters (common/utf8.c)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <utf8proc.h>

#include "utf8.h"

static void
test_forbidden(void **state)
{
    static const struct {
        const char *text;
        unsigned flags;
        long want_offset;
        int32_t want_cp;
    } cases[] = {
        { "Nguyễn Văn An", 0, -1, 0 },
        { "a\tb", 0, 1, '\t' },
        { "a\nb", 0, 1, '\n' },
        { "a\nb", UTF8_ALLOW_NEWLINE, -1, 0 },
        { "ab\x7f", 0, 2, 0x7f },
        { "x\xc2\x85", 0, 1, 0x85 },              /* C1 NEL */
        { "An\xe2\x80\xae" "nhoj", 0, 2, 0x202e }, /* RIGHT-TO-LEFT OVERRIDE */
        { "\xe2\x81\xa6x", 0, 0, 0x2066 },         /* LEFT-TO-RIGHT ISOLATE */
        { "A\xe2\x80\x8b" "B", 0, 1, 0x200b },     /* ZERO WIDTH SPACE */
        { "\xef\xbb\xbfHà Nội", 0, 0, 0xfeff },    /* BOM */
        { "ok\xe2\x81\xa0", 0, 2, 0x2060 },        /* WORD JOINER */
        { "\xff", 0, 0, -1 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t cp = 0;
        long off = utf8_find_forbidden(cases[i].text, strlen(cases[i].text), cases[i].flags, &cp);

        if (off != cases[i].want_offset || (off >= 0 && cp != cases[i].want_cp))
            fail_msg("case %zu: got offset %ld U+%04X, want %ld U+%04X", i, off, (unsigned)cp,
                     cases[i].want_offset, (unsigned)cases[i].want_cp);
    }
}

static void
test_nfc_and_counts(void **state)
{
    char *nfc = utf8_nfc("Nguye\xcc\x82\xcc\x83n"); /* e + combining circumflex + tilde */

    (void)state;
    assert_non_null(nfc);
    assert_string_equal(nfc, "Nguyễn");
    assert_int_equal(utf8_char_count(nfc), 6);
    free(nfc);
    assert_null(utf8_nfc("\xc0\xaf")); /* overlong */
    assert_false(utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(utf8_valid("a\0b", 3));
    assert_true(utf8_valid("Đà Nẵng", strlen("Đà Nẵng")));
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xe1\xba\xbf", 3), 3);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xe1\xba", 2), 0);
}

static int
fast_path_range(int32_t cp)
{
    return (cp >= 1 && cp < 0x300) || (cp >= 0x1E00 && cp < 0x1F00);
}

/* utf8_nfc copies texts made only of the fast path's code points without asking utf8proc:
 * every such pair (and so, by induction on neighbours, every such text) must be its own NFC
 * form, or the fast path would store unnormalised text */
static void
test_nfc_fast_path_pairs(void **state)
{
    unsigned char text[16];
    long pairs = 0;
    int32_t a, b;

    (void)state;
    for (a = 1; a < 0x1F00; a++) {
        if (!fast_path_range(a))
            continue;
        for (b = 1; b < 0x1F00; b++) {
            utf8proc_ssize_t n;
            char *nfc;

            if (!fast_path_range(b))
                continue;
            n = utf8proc_encode_char(a, text);
            n += utf8proc_encode_char(b, text + n);
            text[n] = 0;
            nfc = (char *)utf8proc_NFC(text);
            assert_non_null(nfc);
            if (strcmp(nfc, (const char *)text) != 0)
                fail_msg("U+%04X U+%04X changes under NFC: the fast path must not take them", (unsigned)a,
                         (unsigned)b);
            free(nfc);
            pairs++;
        }
    }
    assert_true(pairs > 900000);
    /* outside the range the slow path still normalises: combining marks, singletons */
    {
        char *ohm = utf8_nfc("\xe2\x84\xa6"); /* U+2126 OHM SIGN -> U+03A9 */
        char *viet = utf8_nfc("Vie\xcc\xa3\xcc\x82t"); /* e + dot below + circumflex -> U+1EC7 */

        assert_string_equal(ohm, "\xce\xa9");
        assert_string_equal(viet, "Vi\xe1\xbb\x87t");
        free(ohm);
        free(viet);
    }
    assert_null(utf8_nfc("Nguy\xe1\xbb")); /* truncated inside the fast path's scan */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forbidden),
        cmocka_unit_test(test_nfc_and_counts),
        cmocka_unit_test(test_nfc_fast_path_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
