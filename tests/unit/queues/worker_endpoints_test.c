/*
 * worker_endpoints_test - `connect` as a list of bccid instances: split, trimmed, each checked,
 * duplicates and overlong lists refused with the endpoint at fault named
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "queues/worker.h"

static char out[WORKER_MAX_LINKS][WORKER_ENDPOINT_MAX];

static void
test_list_is_split_and_trimmed(void **state)
{
    char err[256] = "";
    int n = -1;

    (void)state;
    assert_int_equal(worker_endpoints_parse("ipc://./var/jobs.sock", out, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(out[0], "ipc://./var/jobs.sock");
    assert_int_equal(worker_endpoints_parse(" tcp://a:7000 ,tcp://b:7000,, ipc://x ", out, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(out[0], "tcp://a:7000");
    assert_string_equal(out[1], "tcp://b:7000");
    assert_string_equal(out[2], "ipc://x");
}

static void
test_bad_lists_are_refused(void **state)
{
    char err[256], many[2048] = "";
    int n, i;

    (void)state;
    assert_int_equal(worker_endpoints_parse("tcp://a:7000,tcp://b", out, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "connect: 'tcp://b' is not allowed"));
    assert_int_equal(worker_endpoints_parse("tcp://a:7000, tcp://a:7000", out, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "'tcp://a:7000' is listed twice"));
    assert_int_equal(worker_endpoints_parse(" , ", out, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "name at least one bccid endpoint"));
    assert_int_equal(worker_endpoints_parse(NULL, out, &n, err, sizeof err), -1);
    for (i = 0; i <= WORKER_MAX_LINKS; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%stcp://h:%d", i ? "," : "", 7000 + i);
    assert_int_equal(worker_endpoints_parse(many, out, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 16 bccid endpoints"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_is_split_and_trimmed),
        cmocka_unit_test(test_bad_lists_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
