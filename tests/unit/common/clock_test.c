/*
 * clock_test - the one date formatter, every format in use, and parsing back
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "clock.h"

/* 2026-11-23 03:15:00.123 UTC = 10:15 in Vietnam; a Monday */
#define T0 1795403700123LL

static void
test_formats(void **state)
{
    static const struct {
        int64_t ms;
        clock_format_t format;
        const char *want;
    } cases[] = {
        { T0, CLOCK_ISO8601, "2026-11-23T10:15:00.123+07:00" },
        { T0, CLOCK_UTC_ISO8601, "2026-11-23T03:15:00.123Z" },
        { T0, CLOCK_DVC, "20261123101500" },
        { T0, CLOCK_YMD, "20261123" },
        { T0, CLOCK_VN_DATE, "23/11/2026" },
        { T0, CLOCK_VN_DATETIME, "23/11/2026 10:15:00" },
        { T0, CLOCK_VN_MINUTE, "23/11/2026 10:15" },
        /* 17:30 UTC is already the next day in Vietnam */
        { 1795455000000LL, CLOCK_VN_DATE, "24/11/2026" },
        { 1795455000000LL, CLOCK_UTC_ISO8601, "2026-11-23T17:30:00.000Z" },
    };
    char out[40];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clock_format(cases[i].ms, cases[i].format, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, cases[i].want);
    }
    assert_int_equal(clock_weekday(T0), 1);
    assert_int_equal(clock_weekday(1795455000000LL), 2);
    /* cut to fit, always terminated */
    clock_format(T0, CLOCK_VN_DATE, out, 6);
    assert_string_equal(out, "23/11");
}

static void
test_parse_round_trip(void **state)
{
    char out[40];
    int64_t ms = 0;

    (void)state;
    clock_format(T0 - 123, CLOCK_VN_DATETIME, out, sizeof out);
    assert_int_equal(clock_parse(out, &ms), 0);
    assert_int_equal(ms, T0 - 123);
    clock_format(T0, CLOCK_ISO8601, out, sizeof out);
    assert_int_equal(clock_parse(out, &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(clock_parse("31/02/2026 10:00:00x", &ms), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_parse_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
