/*
 * config_check_test - option value validation (common/config_check.c) and log_level_parse
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config_check.h"
#include "log.h"

static void
test_values(void **state)
{
    static const struct {
        config_rule_t rule;
        const char *value;
        int want_ok;
    } cases[] = {
        { { "n", CHECK_INT, 0, 1, 10, NULL }, "5", 1 },
        { { "n", CHECK_INT, 0, 1, 10, NULL }, "-5", 0 },
        { { "n", CHECK_INT, 0, 1, 10, NULL }, "many", 0 },
        { { "n", CHECK_INT, 0, 1, 10, NULL }, "5x", 0 },
        { { "n", CHECK_INT, 0, 1, 10, NULL }, "", 0 },
        { { "n", CHECK_INT, 1, 1, 10, NULL }, "", 1 },
        { { "n", CHECK_INT, 0, 1, 10, NULL }, "11", 0 },
        { { "x", CHECK_NUMBER, 0, 0, 100, NULL }, "2.5", 1 },
        { { "x", CHECK_NUMBER, 0, 0, 100, NULL }, "fast", 0 },
        { { "e", CHECK_ENUM, 0, 0, 0, "vnpost,viettel" }, "viettel", 1 },
        { { "e", CHECK_ENUM, 0, 0, 0, "vnpost,viettel" }, "vnpos", 0 },
        { { "e", CHECK_ENUM, 0, 0, 0, "vnpost,viettel" }, "dhl", 0 },
        { { "u", CHECK_URL, 0, 0, 0, NULL }, "https://bcci.gov.vn/t", 1 },
        { { "u", CHECK_URL, 0, 0, 0, NULL }, "http://127.0.0.1:8080", 1 },
        { { "u", CHECK_URL, 0, 0, 0, NULL }, "http://[::1]:8080/x", 1 },
        { { "u", CHECK_URL, 0, 0, 0, NULL }, "notaurl", 0 },
        { { "u", CHECK_URL, 0, 0, 0, NULL }, "ftp://x", 0 },
        { { "u", CHECK_URL, 0, 0, 0, NULL }, "http://", 0 },
        { { "u", CHECK_URL, 0, 0, 0, NULL }, "http://a b", 0 },
        { { "u", CHECK_URL, 0, 0, 0, NULL }, "http://h:99999", 0 },
        { { "j", CHECK_ENDPOINT, 0, 0, 0, NULL }, "ipc:///run/bcci/jobs.sock", 1 },
        { { "j", CHECK_ENDPOINT, 0, 0, 0, NULL }, "tcp://0.0.0.0:7000", 1 },
        { { "j", CHECK_ENDPOINT, 0, 0, 0, NULL }, "tcp://*:7000", 1 },
        { { "j", CHECK_ENDPOINT, 0, 0, 0, NULL }, "tcp://host", 0 },
        { { "j", CHECK_ENDPOINT, 0, 0, 0, NULL }, "udp://h:1", 0 },
        { { "l", CHECK_HOSTPORT, 0, 0, 0, NULL }, "127.0.0.1:0", 1 },
        { { "l", CHECK_HOSTPORT, 0, 0, 0, NULL }, "nohost", 0 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "sqlite:var/bcci.db", 1 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "sqlite:", 0 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "postgresql://bcci@db.local:5432/bcci", 1 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "postgresql://bcci@10.0.0.5/bcci?sslmode=require", 1 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "postgresql://bcci@[::1]:5432/bcci", 1 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "postgresql://bcci:secret@db:5432/bcci", 0 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "postgresql://bcci@db:5432/", 0 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "postgresql://bcci@db:99999/bcci", 0 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "postgresql:bcci@db/bcci", 0 },
        { { "s", CHECK_STORE, 0, 0, 0, NULL }, "var/bcci.db", 0 },
        { { "b", CHECK_BOOL, 0, 0, 0, NULL }, "yes", 1 },
        { { "b", CHECK_BOOL, 0, 0, 0, NULL }, "maybe", 0 },
        { { "g", CHECK_LOG_LEVEL, 0, 0, 0, NULL }, "warn", 1 },
        { { "g", CHECK_LOG_LEVEL, 0, 0, 0, NULL }, "verbose", 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        int ok = config_check_value(&cases[i].rule, cases[i].value, err, sizeof err) == 0;

        if (ok != cases[i].want_ok)
            fail_msg("%s = '%s': got %s, want %s (%s)", cases[i].rule.key, cases[i].value, ok ? "ok" : "refused",
                     cases[i].want_ok ? "ok" : "refused", err);
        if (!ok && strncmp(err, cases[i].rule.key, strlen(cases[i].rule.key)) != 0)
            fail_msg("the error names the key first, got '%s'", err);
    }
}

static void
test_log_level_parse(void **state)
{
    log_level_t level = LOG_INFO;

    (void)state;
    assert_int_equal(log_level_parse("error", &level), 0);
    assert_int_equal(level, LOG_ERROR);
    assert_int_equal(log_level_parse("verbose", &level), -1);
    assert_int_equal(level, LOG_ERROR);
    assert_int_equal(log_level_parse(NULL, &level), -1);
}

static void
test_loopback(void **state)
{
    (void)state;
    assert_true(config_url_is_loopback("http://127.0.0.1:8080"));
    assert_true(config_url_is_loopback("http://localhost/t"));
    assert_true(config_url_is_loopback("http://[::1]:80"));
    assert_false(config_url_is_loopback("https://tracuu.buudien.vn"));
    assert_false(config_url_is_loopback("http://localhost.example.vn"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
