/*
 * s10_test - UPU S10 check digits, validation, formatting and grouping
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "domain/s10.h"

static void
test_check_digit(void **state)
{
    static const struct {
        unsigned long serial;
        int want;
    } cases[] = {
        { 8, 0 },         /* sum 56, 11 - 1 = 10 -> 0 */
        { 15, 5 },        /* 11 -> 5 */
        { 1, 4 },         /* RR000000014VN */
        { 12345678, 5 },  /* EE123456785VN */
        { 47312482, 9 },  /* RR473124829GB */
        { 71759, 5 },     /* EB00071759?HK: 5, so ...594HK is wrong */
        { 0, 5 },         /* sum 0: 11 -> 5 */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = s10_check_digit(cases[i].serial);
        if (got != cases[i].want)
            fail_msg("s10_check_digit(%08lu): got %d, want %d", cases[i].serial, got, cases[i].want);
    }
}

static void
test_validate(void **state)
{
    static const struct {
        const char *s;
        s10_status_t want;
    } cases[] = {
        { "EE123456785VN", S10_OK },
        { "RR000000014VN", S10_OK },
        { "RR473124829GB", S10_OK },
        { "RR000000080VN", S10_OK },
        { "RR000000155VN", S10_OK },
        { "EB000717594HK", S10_BAD_CHECK },
        { "RR000000015VN", S10_BAD_CHECK },
        { "", S10_BAD_LENGTH },
        { "RR00000001VN", S10_BAD_LENGTH },
        { "RR0000000144VN", S10_BAD_LENGTH },
        { "RR000000014VN ", S10_BAD_LENGTH },
        { "rr000000014VN", S10_BAD_PREFIX },
        { "1R000000014VN", S10_BAD_PREFIX },
        { "JJ000000014VN", S10_BAD_PREFIX },
        { "KA000000014VN", S10_BAD_PREFIX },
        { "RR0000A0014VN", S10_BAD_SERIAL },
        { "RR00000001XVN", S10_BAD_CHECK },
        { "RR000000014V1", S10_BAD_COUNTRY },
        { "RR000000014vn", S10_BAD_COUNTRY },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s10_status_t got = s10_validate(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].want)
            fail_msg("s10_validate(\"%s\"): got %d (%s), want %d (%s)", cases[i].s, got, s10_status_message(got),
                     cases[i].want, s10_status_message(cases[i].want));
    }
}

static void
test_format_and_group(void **state)
{
    char out[32], grouped[32];

    (void)state;
    assert_int_equal(s10_format("RR", 1, "VN", out, sizeof out), 0);
    if (strcmp(out, "RR000000014VN") != 0)
        fail_msg("s10_format(RR, 1, VN): got %s, want RR000000014VN", out);
    assert_int_equal(s10_validate(out, strlen(out)), S10_OK);
    s10_group(out, grouped, sizeof grouped);
    if (strcmp(grouped, "RR 0000 0001 4 VN") != 0)
        fail_msg("s10_group: got \"%s\", want \"RR 0000 0001 4 VN\"", grouped);

    assert_int_equal(s10_format("R", 1, "VN", out, sizeof out), -1);
    assert_int_equal(s10_format("rr", 1, "VN", out, sizeof out), -1);
    assert_int_equal(s10_format("RR", 100000000UL, "VN", out, sizeof out), -1);
    assert_int_equal(s10_format("RR", 1, "VNM", out, sizeof out), -1);
    assert_int_equal(s10_format("RR", 1, "VN", out, 13), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_digit),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_format_and_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
