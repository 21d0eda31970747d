/*
 * vnpost_test - the VNPost status table and webhook parser (carriers/vnpost.c)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "carriers/carrier.h"
#include "tests/unit/support/carrier_table.h"

static const carrier_ops_t *
vnpost(void)
{
    return carrier_ops_named("vnpost");
}

static const carrier_map_case_t map_cases[] = {
    { "0", "created", "" },
    { "1", "booked", "" },
    { "2", "pickup_pending", "" },
    { "3", "pickup_pending", "" },
    { "4", "pickup_pending", "" },
    { "5", "pickup_pending", "" },
    { "6", "accepted", "EMA" },
    { "7", "accepted", "EMA" },
    { "8", "exception", "" },
    { "9", "cancelled", "" },
    { "10", "in_transit", "EDD" },
    { "11", "at_delivery_office", "EMG" },
    { "12", "out_for_delivery", "EDG" },
    { "13", "in_transit", "EDD" },
    { "14", "delivered", "EMI" },
    { "15", "delivery_failed", "EMH" },
    { "16", "in_transit", "EDD" },
    { "17", "returning", "" },
    { "18", "returning", "" },
    { "19", "returned", "" },
    { "20", "returning", "" },
    { "21", "delivered", "EMI" },
    { "22", "exception", "" },
    { "101", "accepted", "EMA" },
    { "102", "in_transit", "EMB" },
    { "103", "in_transit", "EMC" },
    { "104", "in_transit", "EMD" },
    { "105", "in_transit", "EME" },
    { "106", "in_transit", "EMF" },
    { "107", "at_delivery_office", "EMG" },
    { "108", "delivery_failed", "EMH" },
    { "109", "delivered", "EMI" },
    { "110", "in_transit", "EMJ" },
    { "111", "in_transit", "EMK" },
};

static void
test_map_every_code(void **state)
{
    (void)state;
    carrier_check_map(vnpost(), map_cases, sizeof map_cases / sizeof map_cases[0]);
}

static void
test_map_unknown(void **state)
{
    static const char *const unknown[] = { "23", "24", "99", "100", "112", "200", "-1", "",
                                           "1a", " 1", "0014", "abc", "14 " };

    (void)state;
    carrier_check_unknown(vnpost(), unknown, sizeof unknown / sizeof unknown[0]);
}

static void
test_webhook_good(void **state)
{
    const carrier_ops_t *ops = vnpost();
    const char *body = "[{\"originalId\":\"VNP0000000001\",\"itemCode\":\"RR000000014VN\",\"status\":6,"
                       "\"statusDate\":\"24/11/2023 08:30:00\",\"statusName\":\"Bưu tá đã nhận hàng\","
                       "\"reason\":\"\",\"eventId\":\"VNP0000000001-1\"},"
                       "{\"originalId\":\"VNP0000000001\",\"itemCode\":\"RR000000014VN\",\"status\":\"14\","
                       "\"statusDate\":\"25/11/2023 10:00:00\",\"statusName\":\"Phát thành công\","
                       "\"reason\":null,\"amount\":50000},"
                       "{\"originalId\":\"VNP0000000002\",\"itemCode\":\"RR000000028VN\",\"status\":15,"
                       "\"statusDate\":\"25/11/2023 11:00:00\",\"statusName\":\"Phát không thành công\","
                       "\"reason\":\"Người nhận vắng nhà\"}]";
    carrier_event_list_t l = { 0 };
    char err[256] = "";
    int rc;

    (void)state;
    rc = ops->parse_webhook(body, strlen(body), &l, err, sizeof err);
    if (rc != 0)
        fail_msg("parse_webhook = %d (%s), want 0", rc, err);
    if (l.n != 3)
        fail_msg("got %zu events, want 3", l.n);
    assert_string_equal(l.items[0].carrier_ref, "VNP0000000001");
    assert_string_equal(l.items[0].waybill, "RR000000014VN");
    assert_string_equal(l.items[0].raw_code, "6");
    assert_string_equal(l.items[0].raw_name, "Bưu tá đã nhận hàng");
    assert_string_equal(l.items[0].event_id, "VNP0000000001-1");
    /* 24/11/2023 08:30:00 in Vietnam (UTC+7) = 2023-11-24T01:30:00Z */
    if (l.items[0].carrier_time_ms != 1700789400000LL)
        fail_msg("carrier_time_ms: got %lld, want 1700789400000", (long long)l.items[0].carrier_time_ms);
    assert_string_equal(l.items[1].raw_code, "14");
    assert_string_equal(l.items[1].event_id, "");
    if (l.items[1].amount != 50000)
        fail_msg("amount: got %lld, want 50000", l.items[1].amount);
    assert_string_equal(l.items[2].reason, "Người nhận vắng nhà");
    carrier_event_list_free(&l);
}

static void
test_webhook_empty_list(void **state)
{
    carrier_event_list_t l = { 0 };
    char err[256];

    (void)state;
    if (vnpost()->parse_webhook("[]", 2, &l, err, sizeof err) != 0 || l.n != 0)
        fail_msg("an empty list must parse to no events (got n=%zu)", l.n);
    carrier_event_list_free(&l);
}

static const struct {
    const char *name;
    const char *body;
    const char *want_err; /* substring of the error */
} bad_cases[] = {
    { "not json", "{{{", "not JSON" },
    { "object, not a list", "{\"originalId\":\"1\"}", "list" },
    { "entry not an object", "[1]", "event 0" },
    { "missing originalId",
      "[{\"itemCode\":\"RR000000014VN\",\"status\":6,\"statusDate\":\"24/11/2023 08:30:00\",\"statusName\":\"x\"}]",
      "originalId" },
    { "missing itemCode",
      "[{\"originalId\":\"A\",\"status\":6,\"statusDate\":\"24/11/2023 08:30:00\",\"statusName\":\"x\"}]",
      "itemCode" },
    { "missing status",
      "[{\"originalId\":\"A\",\"itemCode\":\"RR000000014VN\",\"statusDate\":\"24/11/2023 08:30:00\","
      "\"statusName\":\"x\"}]",
      "status" },
    { "missing statusDate",
      "[{\"originalId\":\"A\",\"itemCode\":\"RR000000014VN\",\"status\":6,\"statusName\":\"x\"}]", "statusDate" },
    { "missing statusName",
      "[{\"originalId\":\"A\",\"itemCode\":\"RR000000014VN\",\"status\":6,\"statusDate\":\"24/11/2023 08:30:00\"}]",
      "statusName" },
    { "bad date",
      "[{\"originalId\":\"A\",\"itemCode\":\"RR000000014VN\",\"status\":6,\"statusDate\":\"32/13/2023 8h\","
      "\"statusName\":\"x\"}]",
      "statusDate" },
    { "second entry bad",
      "[{\"originalId\":\"A\",\"itemCode\":\"RR000000014VN\",\"status\":6,\"statusDate\":\"24/11/2023 08:30:00\","
      "\"statusName\":\"x\"},{\"originalId\":\"A\",\"itemCode\":\"RR000000014VN\",\"status\":true,"
      "\"statusDate\":\"24/11/2023 08:30:00\",\"statusName\":\"x\"}]",
      "event 1" },
    { "itemCode too long",
      "[{\"originalId\":\"A\",\"itemCode\":\"RR000000014VNXXXXXXXX\",\"status\":6,"
      "\"statusDate\":\"24/11/2023 08:30:00\",\"statusName\":\"x\"}]",
      "itemCode" },
    { "negative amount",
      "[{\"originalId\":\"A\",\"itemCode\":\"RR000000014VN\",\"status\":21,\"statusDate\":\"24/11/2023 08:30:00\","
      "\"statusName\":\"x\",\"amount\":-5}]",
      "amount" },
};

static void
test_webhook_bad(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        carrier_event_list_t l = { 0 };
        char err[256] = "";
        int rc = vnpost()->parse_webhook(bad_cases[i].body, strlen(bad_cases[i].body), &l, err, sizeof err);

        if (rc != -1)
            fail_msg("%s: parse_webhook = %d, want -1", bad_cases[i].name, rc);
        if (!strstr(err, bad_cases[i].want_err))
            fail_msg("%s: error '%s' does not mention '%s'", bad_cases[i].name, err, bad_cases[i].want_err);
        if (l.n != 0)
            fail_msg("%s: %zu events left in the list after a failure, want 0", bad_cases[i].name, l.n);
        carrier_event_list_free(&l);
    }
}

static void
build_list(buf_t *b, int n)
{
    int i;

    buf_append(b, "[", 1);
    for (i = 0; i < n; i++)
        buf_appendf(b,
                    "%s{\"originalId\":\"VNP%d\",\"itemCode\":\"RR000000014VN\",\"status\":10,"
                    "\"statusDate\":\"24/11/2023 08:30:00\",\"statusName\":\"x\",\"reason\":\"\"}",
                    i ? "," : "", i);
    buf_append(b, "]", 1);
}

static void
test_webhook_limit(void **state)
{
    buf_t b;
    carrier_event_list_t l = { 0 };
    char err[256] = "";

    (void)state;
    buf_init(&b, 0);
    build_list(&b, 1000);
    if (vnpost()->parse_webhook(b.data, b.len, &l, err, sizeof err) != 0 || l.n != 1000)
        fail_msg("1000 events: got rc/err '%s' n=%zu, want all 1000 accepted", err, l.n);
    carrier_event_list_free(&l);
    buf_reset(&b);
    build_list(&b, 1001);
    if (vnpost()->parse_webhook(b.data, b.len, &l, err, sizeof err) != -1)
        fail_msg("1001 events: accepted, want -1");
    if (!strstr(err, "1000"))
        fail_msg("1001 events: error '%s' does not state the limit 1000", err);
    carrier_event_list_free(&l);
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_every_code),  cmocka_unit_test(test_map_unknown),
        cmocka_unit_test(test_webhook_good),    cmocka_unit_test(test_webhook_empty_list),
        cmocka_unit_test(test_webhook_bad),     cmocka_unit_test(test_webhook_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
