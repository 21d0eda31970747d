/*
 * viettel_test - the Viettel Post status table and webhook parser (carriers/viettel.c)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carriers/carrier.h"
#include "clock.h"
#include "tests/unit/support/carrier_table.h"

static const carrier_ops_t *
viettel(void)
{
    return carrier_ops_named("viettel");
}

static const carrier_map_case_t map_cases[] = {
    { "100", "booked", "" },
    { "101", "cancelled", "" },
    { "102", "booked", "" },
    { "103", "pickup_pending", "" },
    { "104", "pickup_pending", "" },
    { "105", "accepted", "EMA" },
    { "106", "pickup_pending", "" },
    { "107", "cancelled", "" },
    { "200", "accepted", "EMA" },
    { "201", "cancelled", "" },
    { "202", "accepted", "EMA" },
    { "300", "in_transit", "EDD" },
    { "301", "in_transit", "EDD" },
    { "302", "in_transit", "EDD" },
    { "303", "in_transit", "EDD" },
    { "400", "in_transit", "EDE" },
    { "401", "in_transit", "EDE" },
    { "402", "in_transit", "EDE" },
    { "403", "in_transit", "EDE" },
    { "500", "out_for_delivery", "EDG" },
    { "501", "delivered", "EMI" },
    { "502", "returning", "" },
    { "503", "cancelled", "" },
    { "504", "returned", "" },
    { "505", "returning", "" },
    { "506", "delivery_failed", "EMH" },
    { "507", "delivery_failed", "EMH" },
    { "508", "delivery_failed", "EMH" },
    { "509", "in_transit", "EDD" },
    { "510", "at_delivery_office", "EMG" },
    { "515", "returning", "" },
    { "550", "delivery_failed", "EMH" },
};

static void
test_map_every_code(void **state)
{
    (void)state;
    carrier_check_map(viettel(), map_cases, sizeof map_cases / sizeof map_cases[0]);
}

static void
test_map_unknown(void **state)
{
    static const char *const bad[] = { "", "0", "1", "99", "108", "203", "304", "404", "511", "516", "551", "600",
                                       "1000", "50a", "-1", " 501", "5O1" };

    (void)state;
    carrier_check_unknown(viettel(), bad, sizeof bad / sizeof bad[0]);
}

static void
test_webhook_good(void **state)
{
    static const char one[] =
        "{\"DATA\":{\"ORDER_NUMBER\":\"VTP0000000007\",\"ORDER_REFERENCE\":\"RR000000014VN\","
        "\"ORDER_STATUSDATE\":\"13/12/2026 17:34:05\",\"ORDER_STATUS\":506,"
        "\"STATUS_NAME\":\"Tồn - Khách hàng nghỉ, không có nhà\",\"NOTE\":\"\",\"MONEY_COLLECTION\":50000,"
        "\"MONEY_TOTAL\":34000,\"EMPLOYEE_NAME\":\"x\"},\"TOKEN\":\"abc\"}";
    static const char list[] =
        "[{\"DATA\":{\"ORDER_NUMBER\":1234567890,\"ORDER_REFERENCE\":\"RR000000028VN\","
        "\"ORDER_STATUSDATE\":\"13/12/2026 08:00:00\",\"ORDER_STATUS\":\"501\",\"STATUS_NAME\":\"Phát thành công\","
        "\"NOTE\":null,\"MONEY_COLLECTION\":120000}},"
        " {\"DATA\":{\"ORDER_NUMBER\":\"VTP1\",\"ORDER_STATUSDATE\":\"2026-12-13T09:00:00+07:00\","
        "\"ORDER_STATUS\":500,\"NOTE\":\"Gọi trước khi giao\",\"MONEY_COLLECTION\":120000}}]";
    const carrier_ops_t *ops = viettel();
    carrier_event_list_t ev = { 0 };
    char err[256];
    int64_t want;
    const carrier_event_t *e;

    (void)state;
    if (ops->parse_webhook(one, strlen(one), &ev, err, sizeof err) != 0)
        fail_msg("single event: %s", err);
    if (ev.n != 1)
        fail_msg("single event: got %zu events, want 1", ev.n);
    e = &ev.items[0];
    assert_string_equal(e->carrier_ref, "VTP0000000007");
    assert_string_equal(e->waybill, "RR000000014VN");
    assert_string_equal(e->raw_code, "506");
    assert_string_equal(e->raw_name, "Tồn - Khách hàng nghỉ, không có nhà");
    if (strcmp(e->reason, "Tồn - Khách hàng nghỉ, không có nhà") != 0)
        fail_msg("506 without NOTE: reason '%s', want the STATUS_NAME", e->reason);
    if (e->amount != 0)
        fail_msg("506: amount %lld, want 0 (COD is collected only on 501)", e->amount);
    assert_int_equal(clock_parse("13/12/2026 17:34:05", &want), 0);
    if (e->carrier_time_ms != want)
        fail_msg("time: got %lld, want %lld", (long long)e->carrier_time_ms, (long long)want);
    if (e->event_id[0])
        fail_msg("event_id '%s', want empty (Viettel sends none)", e->event_id);

    if (ops->parse_webhook(list, strlen(list), &ev, err, sizeof err) != 0)
        fail_msg("list: %s", err);
    if (ev.n != 3)
        fail_msg("list: got %zu events in total, want 3 (appended)", ev.n);
    e = &ev.items[1];
    assert_string_equal(e->carrier_ref, "1234567890");
    assert_string_equal(e->raw_code, "501");
    if (e->amount != 120000 || e->reason[0])
        fail_msg("501: amount %lld reason '%s', want 120000 and no reason", e->amount, e->reason);
    e = &ev.items[2];
    assert_string_equal(e->carrier_ref, "VTP1");
    if (e->waybill[0])
        fail_msg("no ORDER_REFERENCE: waybill '%s', want empty", e->waybill);
    if (strcmp(e->reason, "Gọi trước khi giao") != 0 || e->amount != 0)
        fail_msg("500: reason '%s' amount %lld, want the NOTE and 0", e->reason, e->amount);
    assert_int_equal(clock_parse("13/12/2026 09:00:00", &want), 0);
    if (e->carrier_time_ms != want)
        fail_msg("ISO time: got %lld, want %lld", (long long)e->carrier_time_ms, (long long)want);
    carrier_event_list_free(&ev);
}

static void
test_webhook_bad(void **state)
{
    static const struct {
        const char *body;
        const char *want;
    } cases[] = {
        { "", "not JSON" },
        { "{\"DATA\":", "not JSON" },
        { "42", "must be {\"DATA\"" },
        { "{\"TOKEN\":\"x\"}", "DATA missing" },
        { "{\"DATA\":[1]}", "DATA is not a JSON object" },
        { "{\"DATA\":{\"ORDER_STATUS\":501,\"ORDER_STATUSDATE\":\"13/12/2026 08:00:00\"}}", "ORDER_NUMBER missing" },
        { "{\"DATA\":{\"ORDER_NUMBER\":\"\",\"ORDER_STATUS\":501,\"ORDER_STATUSDATE\":\"13/12/2026 08:00:00\"}}",
          "ORDER_NUMBER missing" },
        { "{\"DATA\":{\"ORDER_NUMBER\":\"V1\",\"ORDER_STATUSDATE\":\"13/12/2026 08:00:00\"}}", "ORDER_STATUS missing" },
        { "{\"DATA\":{\"ORDER_NUMBER\":\"V1\",\"ORDER_STATUS\":true,\"ORDER_STATUSDATE\":\"13/12/2026 08:00:00\"}}",
          "ORDER_STATUS missing" },
        { "{\"DATA\":{\"ORDER_NUMBER\":\"V1\",\"ORDER_STATUS\":501}}", "ORDER_STATUSDATE missing" },
        { "{\"DATA\":{\"ORDER_NUMBER\":\"V1\",\"ORDER_STATUS\":501,\"ORDER_STATUSDATE\":\"hôm qua\"}}",
          "is not a date" },
        { "{\"DATA\":{\"ORDER_NUMBER\":\"V1\",\"ORDER_STATUS\":501,\"ORDER_STATUSDATE\":\"13/12/2026 08:00:00\","
          "\"MONEY_COLLECTION\":-5}}",
          "MONEY_COLLECTION" },
        { "{\"DATA\":{\"ORDER_NUMBER\":\"V1\",\"ORDER_STATUS\":501,\"ORDER_STATUSDATE\":\"13/12/2026 08:00:00\","
          "\"NOTE\":7}}",
          "NOTE must be a string" },
        { "{\"DATA\":{\"ORDER_NUMBER\":\"V1\",\"ORDER_NUMBER\":\"V2\"}}", "not JSON" },
        /* all or nothing: the second item is bad */
        { "[{\"DATA\":{\"ORDER_NUMBER\":\"V1\",\"ORDER_STATUS\":501,\"ORDER_STATUSDATE\":\"13/12/2026 08:00:00\"}},"
          "{\"DATA\":{}}]",
          "event 1: ORDER_NUMBER missing" },
    };
    const carrier_ops_t *ops = viettel();
    carrier_event_list_t ev = { 0 };
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = '\0';
        if (ops->parse_webhook(cases[i].body, strlen(cases[i].body), &ev, err, sizeof err) != -1)
            fail_msg("case %zu '%s': got 0, want -1", i, cases[i].body);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: got '%s', want a message containing '%s'", i, err, cases[i].want);
        if (ev.n != 0)
            fail_msg("case %zu: a refused body left %zu events", i, ev.n);
    }
    carrier_event_list_free(&ev);
}

static void
test_init_errors(void **state)
{
    static const config_spec_t spec[] = {
        { "carrier.viettel.url", "", "" },
        { "carrier.viettel.token_file", "", "" },
        { NULL, NULL, NULL },
    };
    config_t *cfg = config_new(spec);
    carrier_t *c;
    char err[256];

    (void)state;
    assert_non_null(cfg);
    c = carrier_new(viettel(), cfg, err, sizeof err);
    if (c || !strstr(err, "carrier.viettel.url"))
        fail_msg("no url: got %p '%s', want NULL naming carrier.viettel.url", (void *)c, err);
    assert_int_equal(config_set(cfg, "carrier.viettel.url", "http://example.org", err, sizeof err), 0);
    c = carrier_new(viettel(), cfg, err, sizeof err);
    if (c)
        fail_msg("plain http to a non-loopback host must be refused");
    assert_int_equal(config_set(cfg, "carrier.viettel.url", "http://127.0.0.1:9", err, sizeof err), 0);
    assert_int_equal(config_set(cfg, "carrier.viettel.token_file", "no-such-dir/token", err, sizeof err), 0);
    c = carrier_new(viettel(), cfg, err, sizeof err);
    if (c || !strstr(err, "carrier.viettel.token_file no-such-dir/token"))
        fail_msg("missing token file: got %p '%s'", (void *)c, err);
    assert_int_equal(config_set(cfg, "carrier.viettel.token_file", "", err, sizeof err), 0);
    c = carrier_new(viettel(), cfg, err, sizeof err);
    if (!c)
        fail_msg("loopback URL with the demo token: %s", err);
    carrier_destroy(&c);
    config_destroy(&cfg);
    if (!strstr(carrier_names(), "viettel"))
        fail_msg("carrier_names() = '%s', want it to list viettel", carrier_names());
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_every_code), cmocka_unit_test(test_map_unknown),
        cmocka_unit_test(test_webhook_good),   cmocka_unit_test(test_webhook_bad),
        cmocka_unit_test(test_init_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
