/*
 * areas_test - place names: the 34 provinces of QĐ 19/2025, the operator's
 * commune file (names found, NFC, refusals with file:line), and the text
 * labels print when a name is unknown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "domain/areas.h"

static char dir[256];

static const char *
write_file(const char *name, const char *text)
{
    static char path[320];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void
test_provinces(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(areas_province_name("01"), "Thành phố Hà Nội");
    assert_string_equal(areas_province_name("31"), "Thành phố Hải Phòng");
    assert_string_equal(areas_province_name("96"), "Tỉnh Cà Mau");
    /* pre-2025 codes that the merger retired are not provinces any more */
    assert_null(areas_province_name("27"));
    assert_null(areas_province_name("89"));
    assert_null(areas_province_name(NULL));
    assert_string_equal(areas_province_text("19", out, sizeof out), "Tỉnh Thái Nguyên");
    assert_string_equal(areas_province_text("27", out, sizeof out), "tỉnh/thành phố mã 27");
    assert_string_equal(areas_province_text("", out, sizeof out), "");
}

static void
test_commune_file(void **state)
{
    /* the second name arrives decomposed (NFD): it is stored composed */
    const char *path = write_file("communes.conf", "# Hà Nội, QĐ 19/2025\n"
                                                   "00004 = Phường Ba Đình\n"
                                                   "\n"
                                                   "  00008=Phu\xcc\x9bo\xcc\x9b\xcc\x80ng Ngo\xcc\xa3\x63 Ha\xcc\x80  \n"
                                                   "00025 = Phường Giảng Võ\r\n");
    char err[256] = "", out[128];
    areas_t *a = areas_load(path, err, sizeof err);

    (void)state;
    if (!a)
        fail_msg("load: %s", err);
    assert_int_equal(areas_commune_count(a), 3);
    assert_string_equal(areas_commune_name(a, "00004"), "Phường Ba Đình");
    assert_string_equal(areas_commune_name(a, "00008"), "Phường Ngọc Hà");
    assert_string_equal(areas_commune_name(a, "00025"), "Phường Giảng Võ");
    assert_null(areas_commune_name(a, "00009"));   /* no such commune */
    assert_null(areas_commune_name(a, "0000"));
    /* without the operator's file, the official names */
    assert_string_equal(areas_commune_name(NULL, "00004"), "Phường Ba Đình");
    assert_string_equal(areas_commune_name(a, "11311"), areas_commune_name(NULL, "11311"));
    assert_string_equal(areas_commune_text(a, "00008", out, sizeof out), "Phường Ngọc Hà");
    assert_string_equal(areas_commune_text(a, "99999", out, sizeof out), "xã/phường mã 99999");
    assert_string_equal(areas_commune_text(a, NULL, out, sizeof out), "");
    areas_destroy(&a);
    assert_null(a);

    /* no file: the official names (an empty table is searched safely) */
    a = areas_load(NULL, err, sizeof err);
    assert_non_null(a);
    assert_int_equal(areas_commune_count(a), 0);
    assert_string_equal(areas_commune_name(a, "00004"), "Phường Ba Đình");
    assert_string_equal(areas_commune_text(a, "00004", out, sizeof out), "Phường Ba Đình");
    assert_string_equal(areas_commune_postcode("00025"), "11110");
    assert_null(areas_commune_postcode("99999"));
    areas_destroy(&a);
}

static void
test_bad_files_are_refused(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "00004 = Phường Ba Đình\n00004 = Phường Ba Đình\n", "00004 is given twice" },
        { "00004 Phường Ba Đình\n", ":1: expected 'CODE = Name'" },
        { "# ok\n4 = Phường Ba Đình\n", ":2: the code must be the 5 digits" },
        { "00000 = Không có\n", ":1: the code must be the 5 digits" },
        { "00004 =   \n", ":1: the name is empty" },
        { "00004 = Ph\xff\n", ":1: the name is not plain UTF-8" },
        { "00004 = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
          ":1: the name is longer than 100 characters" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        const char *path = write_file("bad.conf", cases[i].text);
        areas_t *a = areas_load(path, err, sizeof err);

        if (a) {
            areas_destroy(&a);
            fail_msg("case %zu: loaded, want refusal \"%s\"", i, cases[i].want);
        }
        if (!strstr(err, cases[i].want) || !strstr(err, path))
            fail_msg("case %zu: got \"%s\", want the file name and \"%s\"", i, err, cases[i].want);
    }
    {
        char err[256] = "";
        assert_null(areas_load("/nonexistent/communes.conf", err, sizeof err));
        assert_non_null(strstr(err, "cannot read communes_file /nonexistent/communes.conf"));
    }
}

static int
setup(void **state)
{
    const char *tmp = getenv("TMPDIR");

    (void)state;
    snprintf(dir, sizeof dir, "%s/areas_test.XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
    char path[320];

    (void)state;
    snprintf(path, sizeof path, "%s/communes.conf", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    unlink(path);
    return rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provinces),
        cmocka_unit_test(test_commune_file),
        cmocka_unit_test(test_bad_files_are_refused),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
