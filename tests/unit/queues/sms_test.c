/*
 * sms_test - phone numbers and masking of the SMS client (queues/sms.c); the
 * client against a provider is tested through the worker in worker_messages_test
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "queues/sms.h"

static void
test_normalize_phone(void **state)
{
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } cases[] = {
        { "0912345678", "84912345678" },   { "+84912345678", "84912345678" }, { "84912345678", "84912345678" },
        { "091 234 5678", "84912345678" }, { "0912.345.678", "84912345678" }, { "0387-654-321", "84387654321" },
        { "0567654321", "84567654321" },   { "0787654321", "84787654321" },   { "0887654321", "84887654321" },
        { "02838290000", NULL },           /* a landline */
        { "0112345678", NULL },            /* no such mobile prefix */
        { "091234567", NULL },             /* one digit short */
        { "09123456789", NULL },           /* one digit long */
        { "+1 650 253 0000", NULL },       /* not Vietnamese */
        { "0912345678x", NULL },           { "", NULL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[16] = "";
        int rc = sms_normalize_phone(cases[i].in, out, sizeof out);

        if (cases[i].want && (rc != 0 || strcmp(out, cases[i].want) != 0))
            fail_msg("'%s': got rc %d '%s', want '%s'", cases[i].in, rc, out, cases[i].want);
        if (!cases[i].want && rc != -1)
            fail_msg("'%s': got '%s', want it refused", cases[i].in, out);
    }
}

static void
test_mask_phone(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "0912345678", "*******678" }, { "+84912345678", "*********678" }, { "12", "12" }, { "", "" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32];

        sms_mask_phone(cases[i].in, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("'%s': got '%s', want '%s'", cases[i].in, out, cases[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_phone),
        cmocka_unit_test(test_mask_phone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
