/*
 * viettel_sim_test - the real Viettel Post adapter against the real simulator process
 *
 * Each test starts bcci-carrier-sim on port 0 (from $BCCI_BIN, else the bin/
 * directory beside this test's build directory, else build/san/bin or
 * build/rel/bin), drives carriers/viettel.c through carrier.h, inspects
 * GET /_sim/stats and /_sim/last_request, and stops the simulator with
 * SIGTERM, expecting a clean exit. A test is skipped only when the binary
 * does not exist.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carriers/carrier.h"
#include "clock.h"
#include "config.h"
#include "tests/unit/support/sim_fixture.h"
#include "tests/unit/support/sim_process.h"

/* ---- adapter setup ------------------------------------------------------------------------ */

static const config_spec_t cfg_spec[] = {
    { "carrier.viettel.url", NULL, "" },
    { "carrier.viettel.token_file", "", "" },
    { "carrier.timeout_ms", "3000", "" },
    { "carrier.allow_insecure", "0", "" },
    { "carrier.ca_bundle", "", "" },
    { NULL, NULL, NULL },
};

/* check_create_request - the exact createOrder request the adapter sent for sim_shipment() */
static void
check_create_request(const sim_proc_t *p)
{
    static const char want_body[] =
        "{\"ORDER_NUMBER\":\"000.00.31.H23-231124-0001\",\"ORDER_REFERENCE\":\"RR000000014VN\","
        "\"SENDER_FULLNAME\":\"UBND xã Tân Lập\",\"SENDER_ADDRESS\":\"Số 1 đường Lê Lợi\","
        "\"SENDER_PHONE\":\"02433123456\",\"RECEIVER_FULLNAME\":\"Nguyễn Thị Hoa\","
        "\"RECEIVER_ADDRESS\":\"Số 2 ngõ 3 phố Huế\",\"RECEIVER_PHONE\":\"0912345678\","
        "\"PRODUCT_NAME\":\"Kết quả giải quyết TTHC\",\"PRODUCT_TYPE\":\"HH\",\"PRODUCT_QUANTITY\":1,"
        "\"PRODUCT_WEIGHT\":200,\"MONEY_COLLECTION\":50000,\"ORDER_SERVICE\":\"VTK\",\"ORDER_SERVICE_ADD\":\"\","
        "\"ORDER_NOTE\":\"Bưu chính công ích – hành chính công. Phát tận tay, kiểm tra CCCD/giấy ủy quyền.\","
        "\"ORDER_PAYMENT\":3}";
    sim_check_last_request(p, "POST", "/v2/order/createOrder", "createOrder", want_body);
}

/* ---- tests ------------------------------------------------------------------------------------------ */

static void
test_book_is_idempotent(void **state)
{
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r1, r2;
    json_t *st, *sale;
    const char *dossier = "000.00.31.H23-231124-0001";

    sim_proc_start(&f->sim, NULL);
    sim_fixture_open(f, cfg_spec, "viettel", NULL);
    sim_shipment(&s, dossier, "RR000000014VN", NULL);
    sim_expect_status("first book", carrier_book(f->c, &s, &r1), CARRIER_OK, &r1);
    if (strncmp(r1.carrier_ref, "VTP", 3) != 0 || r1.already_existed || r1.fee != 34000)
        fail_msg("first book: ref '%s' already_existed %d fee %lld; want VTP…, 0, 34000", r1.carrier_ref,
                 r1.already_existed, r1.fee);
    check_create_request(&f->sim);
    sim_expect_status("second book", carrier_book(f->c, &s, &r2), CARRIER_OK, &r2);
    if (!r2.already_existed || strcmp(r1.carrier_ref, r2.carrier_ref) != 0)
        fail_msg("second book: already_existed %d ref '%s'; want 1 and '%s'", r2.already_existed, r2.carrier_ref,
                 r1.carrier_ref);
    st = sim_stats(&f->sim);
    if (sim_stat_int(st, "orders_total", NULL, NULL) != 1)
        fail_msg("orders_total = %lld, want 1", sim_stat_int(st, "orders_total", NULL, NULL));
    sale = json_object_get(json_object_get(st, "by_sale_order"), dossier);
    if (!sale || json_integer_value(json_object_get(sale, "orders")) != 1 ||
        json_integer_value(json_object_get(sale, "create_calls")) != 2 ||
        strcmp(json_string_value(json_object_get(sale, "carrier")), "viettel") != 0)
        fail_msg("by_sale_order[%s]: want orders 1, create_calls 2, carrier viettel", dossier);
    if (sim_stat_int(st, "requests", "viettel.createOrder", NULL) != 2)
        fail_msg("viettel.createOrder requests = %lld, want 2",
                 sim_stat_int(st, "requests", "viettel.createOrder", NULL));
    json_decref(st);

    /* the same dossier under another waybill: Viettel holds it already, a clerk must look */
    sim_shipment(&s, dossier, "RR000000028VN", NULL);
    sim_expect_status("book with a new waybill", carrier_book(f->c, &s, &r2), CARRIER_FAIL, &r2);
    if (!strstr(r2.message, "RR000000014VN") || !strstr(r2.message, "RR000000028VN"))
        fail_msg("conflicting waybill: message '%s' must name both waybills", r2.message);

    /* the send leg of the same dossier is another order (ORDER_NUMBER "<code>.send") */
    sim_shipment(&s, dossier, "RR000000031VN", NULL);
    s.service = "send";
    sim_expect_status("book the send leg", carrier_book(f->c, &s, &r2), CARRIER_OK, &r2);
    if (r2.already_existed || strcmp(r2.carrier_ref, r1.carrier_ref) == 0)
        fail_msg("send leg: already_existed %d ref '%s', want a new order", r2.already_existed, r2.carrier_ref);
    st = sim_stats(&f->sim);
    sale = json_object_get(json_object_get(st, "by_sale_order"), "000.00.31.H23-231124-0001.send");
    if (sim_stat_int(st, "orders_total", NULL, NULL) != 2 || !sale ||
        json_integer_value(json_object_get(sale, "orders")) != 1)
        fail_msg("send leg: want 2 orders in total and one under ORDER_NUMBER '%s.send'", dossier);
    json_decref(st);
}

/* what the postman must know goes into ORDER_NOTE after the fixed rule, and the weight as
 * PRODUCT_WEIGHT: the simulator records both */
static void
test_order_carries_the_instruction(void **state)
{
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;
    json_t *st, *sale;
    const char *dossier = "000.00.31.H23-231124-0007", *note;

    sim_proc_start(&f->sim, NULL);
    sim_fixture_open(f, cfg_spec, "viettel", NULL);
    sim_shipment(&s, dossier, "RR000000014VN", NULL);
    s.weight_g = 200;
    s.authorised_name = "Trần Văn Bình";
    s.authorised_relation = "Chồng";
    s.take_back = "Giấy hẹn trả kết quả";
    s.note = "Gọi trước";
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    st = sim_stats(&f->sim);
    sale = json_object_get(json_object_get(st, "by_sale_order"), dossier);
    note = json_string_value(json_object_get(sale, "instruction"));
    if (json_integer_value(json_object_get(sale, "weight")) != 200 || !note ||
        !strstr(note, "Phát tận tay") ||
        !strstr(note, "Người được ủy quyền nhận: Trần Văn Bình (Chồng). Thu hồi: Giấy hẹn trả kết quả. Ghi chú: Gọi trước"))
        fail_msg("by_sale_order[%s]: weight %lld, ORDER_NOTE '%s'", dossier,
                 (long long)json_integer_value(json_object_get(sale, "weight")), note ? note : "(none)");
    json_decref(st);
}

static void
test_cancel_and_track(void **state)
{
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    carrier_mapping_t m;
    const carrier_ops_t *ops = carrier_find("viettel");
    char ref[64];
    long code = 0;
    json_t *last;

    sim_proc_start(&f->sim, NULL); /* default clock: 10 s per step, nothing moves during the test */
    sim_fixture_open(f, cfg_spec, "viettel", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0004", "RR000000059VN", NULL);
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ref, sizeof ref, "%s", r.carrier_ref); /* r is reset by every call */
    s.carrier_ref = ref;
    sim_expect_status("track", carrier_track(f->c, &s, &ev, &r), CARRIER_OK, &r);
    if (ev.n != 1 || strcmp(ev.items[0].raw_code, "100") != 0)
        fail_msg("track after booking: %zu events, first '%s'; want 1 event with code 100", ev.n,
                 ev.n ? ev.items[0].raw_code : "");
    if (ops->map_status(ev.items[0].raw_code, &m) != 0 || strcmp(m.status, "booked") != 0)
        fail_msg("code 100 must map to booked");
    if (strcmp(ev.items[0].carrier_ref, s.carrier_ref) != 0 || strcmp(ev.items[0].waybill, s.waybill) != 0 ||
        ev.items[0].carrier_time_ms <= 0 || strcmp(ev.items[0].raw_name, "Tạo đơn hàng") != 0)
        fail_msg("tracked event lacks ref/waybill/time/name");
    carrier_event_list_free(&ev);
    sim_expect_status("cancel before pick-up", carrier_cancel(f->c, &s, &r), CARRIER_OK, &r);
    last = sim_http_json(&f->sim, "GET", "/_sim/last_request", NULL, &code);
    if (!last || strcmp(json_string_value(json_object_get(last, "path")), "/v2/order/UpdateOrder") != 0 ||
        json_integer_value(json_object_get(json_object_get(last, "body"), "TYPE")) != 4 ||
        strcmp(json_string_value(json_object_get(json_object_get(last, "body"), "ORDER_NUMBER")), ref) != 0)
        fail_msg("cancel: want POST /v2/order/UpdateOrder with TYPE 4 and ORDER_NUMBER %s", ref);
    json_decref(last);
    sim_expect_status("track after cancel", carrier_track(f->c, &s, &ev, &r), CARRIER_OK, &r);
    if (ev.n != 2 || strcmp(ev.items[1].raw_code, "107") != 0)
        fail_msg("after cancel: %zu events, last '%s'; want 2 with code 107", ev.n,
                 ev.n ? ev.items[ev.n - 1].raw_code : "");
    if (ops->map_status("107", &m) != 0 || strcmp(m.status, "cancelled") != 0)
        fail_msg("code 107 must map to cancelled");
    carrier_event_list_free(&ev);
    sim_expect_status("cancel again (idempotent)", carrier_cancel(f->c, &s, &r), CARRIER_OK, &r);

    s.carrier_ref = "VTP9999999999";
    sim_expect_status("track unknown order", carrier_track(f->c, &s, &ev, &r), CARRIER_FAIL, &r);
    if (ev.n != 0)
        fail_msg("a failed track left %zu events", ev.n);
    sim_expect_status("cancel unknown order", carrier_cancel(f->c, &s, &r), CARRIER_FAIL, &r);
    carrier_event_list_free(&ev);
    s.carrier_ref = NULL;
    sim_expect_status("cancel without ref", carrier_cancel(f->c, &s, &r), CARRIER_FAIL, &r);
}

static void
test_cancel_after_pickup(void **state)
{
    static const char *const fast[] = { "--clock_speed", "6000", "--step_seconds", "60", NULL };
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    int64_t deadline = clock_mono_ms() + 10000;
    int delivered = 0;
    char ref[64];

    sim_proc_start(&f->sim, fast); /* 10 ms per step */
    sim_fixture_open(f, cfg_spec, "viettel", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0005", "RR000000062VN", NULL);
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ref, sizeof ref, "%s", r.carrier_ref);
    s.carrier_ref = ref;
    while (!delivered && clock_mono_ms() < deadline) {
        usleep(50000);
        ev.n = 0;
        sim_expect_status("track", carrier_track(f->c, &s, &ev, &r), CARRIER_OK, &r);
        delivered = ev.n > 0 && strcmp(ev.items[ev.n - 1].raw_code, "501") == 0;
    }
    if (!delivered)
        fail_msg("the order did not reach code 501 within 10 s");
    if (ev.n != 5 || strcmp(ev.items[1].raw_code, "105") != 0 || strcmp(ev.items[2].raw_code, "200") != 0 ||
        strcmp(ev.items[3].raw_code, "500") != 0)
        fail_msg("delivered order has %zu events, want 5 (100, 105, 200, 500, 501)", ev.n);
    if (ev.items[4].amount != 50000)
        fail_msg("501 amount %lld, want the COD 50000", ev.items[4].amount);
    carrier_event_list_free(&ev);
    sim_expect_status("cancel after pick-up", carrier_cancel(f->c, &s, &r), CARRIER_FAIL, &r);
    if (!strstr(r.message, "picked"))
        fail_msg("cancel after pick-up: message '%s' does not say it was picked up", r.message);
}

static void
test_faults(void **state)
{
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    json_t *st;

    sim_proc_start(&f->sim, NULL);
    sim_fixture_open(f, cfg_spec, "viettel", "1000");
    sim_shipment(&s, "000.00.31.H23-231124-0106", "RR000000133VN", NULL);

    sim_book_under_faults(f, &s);
    st = sim_stats(&f->sim);
    if (sim_stat_int(st, "orders_total", NULL, NULL) != 1)
        fail_msg("orders_total = %lld after retries, want 1", sim_stat_int(st, "orders_total", NULL, NULL));
    if (sim_stat_int(st, "faults_injected", NULL, NULL) != 4)
        fail_msg("faults_injected = %lld, want 4", sim_stat_int(st, "faults_injected", NULL, NULL));
    json_decref(st);
}

static void
test_invalid_requests(void **state)
{
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;

    sim_proc_start(&f->sim, NULL);
    sim_fixture_open(f, cfg_spec, "viettel", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0007", "RR000000080VN", NULL);
    s.receiver.phone = NULL;
    sim_expect_status("book without receiver phone", carrier_book(f->c, &s, &r), CARRIER_FAIL, &r);
    if (!strstr(r.message, "receiver.phone"))
        fail_msg("message '%s' does not name receiver.phone", r.message);
    sim_shipment(&s, "000.00.31.H23-231124-0007", "RR000000080VN", NULL);
    s.service_code = "XXX";
    sim_expect_status("book with an unknown service", carrier_book(f->c, &s, &r), CARRIER_FAIL, &r);
    if (!strstr(r.message, "status 400") || !strstr(r.message, "ORDER_SERVICE"))
        fail_msg("unknown service: '%s', want status 400 naming ORDER_SERVICE", r.message);
}

static void
test_wrong_token(void **state)
{
    static const char *const tok[] = { "--viettel_token", "other-token", NULL };
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;

    sim_proc_start(&f->sim, tok);
    sim_fixture_open(f, cfg_spec, "viettel", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0008", "RR000000093VN", NULL);
    sim_expect_status("book with a wrong token", carrier_book(f->c, &s, &r), CARRIER_CONFIG, &r);
    if (!strstr(r.message, "carrier.viettel.token_file"))
        fail_msg("message '%s' does not name carrier.viettel.token_file", r.message);
}

static void
test_vnpost_only(void **state)
{
    static const char *const only[] = { "--dialect", "vnpost", NULL };
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;

    sim_proc_start(&f->sim, only);
    sim_fixture_open(f, cfg_spec, "viettel", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0009", "RR000000102VN", NULL);
    sim_expect_status("book against a VNPost-only simulator", carrier_book(f->c, &s, &r), CARRIER_FAIL, &r);
    if (r.http_status != 404)
        fail_msg("http_status = %d, want 404", r.http_status);
}

/* ---- webhooks: a small receiver in this process ----------------------------------------------------- */

/* check_body - each webhook POST carries ONE {"DATA": {…}, "TOKEN": "hook-token"} object */
static void
check_body(int idx, const char *body)
{
    json_error_t jerr;
    json_t *j = json_loads(body, 0, &jerr);

    if (!json_is_object(j) || !json_is_object(json_object_get(j, "DATA")) ||
        !json_is_string(json_object_get(j, "TOKEN")) ||
        strcmp(json_string_value(json_object_get(j, "TOKEN")), "hook-token") != 0)
        fail_msg("webhook body %d is not {\"DATA\": {…}, \"TOKEN\": \"hook-token\"}: %s", idx, body);
    json_decref(j);
}

static void
test_webhooks(void **state)
{
    sim_fixture_t *f = *state;
    sim_receiver_t rx;
    char hook[128], ok_ref[64], fail_ref[64];
    const char *args[12];
    carrier_shipment_t s;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    carrier_mapping_t m;
    int64_t deadline;
    size_t i;

    if (!sim_proc_found())
        skip();
    sim_receiver_start(&rx, "Bearer hook-token", NULL);
    snprintf(hook, sizeof hook, "http://127.0.0.1:%u/v1/carriers/viettel/events", rx.port);
    args[0] = "--viettel_webhook_url";
    args[1] = hook;
    args[2] = "--clock_speed";
    args[3] = "6000";
    args[4] = "--step_seconds";
    args[5] = "60";
    args[6] = "--webhook_token";
    args[7] = "hook-token";
    args[8] = NULL;
    sim_proc_start(&f->sim, args);
    sim_fixture_open(f, cfg_spec, "viettel", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0010", "RR000000116VN", NULL);
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ok_ref, sizeof ok_ref, "%s", r.carrier_ref);
    sim_shipment(&s, "000.00.31.H23-231124-0011", "RR000000125VN", "Số 9 phố Huế [fail-delivery]");
    sim_expect_status("book (failed-delivery scenario)", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(fail_ref, sizeof fail_ref, "%s", r.carrier_ref);

    deadline = clock_mono_ms() + 15000;
    do {
        usleep(50000);
        sim_receiver_events(&rx, carrier_find("viettel"), check_body, &ev);
    } while ((!sim_has_code(&ev, ok_ref, "501") || !sim_has_code(&ev, fail_ref, "504")) && clock_mono_ms() < deadline);
    if (!sim_has_code(&ev, ok_ref, "501") || !sim_has_code(&ev, fail_ref, "504"))
        fail_msg("webhooks: delivered/returned not received within 15 s (%zu events)", ev.n);
    if (sim_has_code(&ev, ok_ref, "105") != 1 || sim_has_code(&ev, ok_ref, "200") != 1 ||
        sim_has_code(&ev, ok_ref, "500") != 1)
        fail_msg("normal order: want exactly one webhook each for 105, 200, 500");
    if (sim_has_code(&ev, fail_ref, "506") != 2 || sim_has_code(&ev, fail_ref, "502") != 1)
        fail_msg("failed-delivery order: got %d events with 506 and %d with 502, want 2 and 1",
                 sim_has_code(&ev, fail_ref, "506"), sim_has_code(&ev, fail_ref, "502"));
    if ((size_t)rx.n != ev.n)
        fail_msg("%d POSTs carried %zu events, want one event per POST", rx.n, ev.n);
    for (i = 0; i < ev.n; i++) {
        const carrier_event_t *e = &ev.items[i];

        if (strcmp(e->waybill, strcmp(e->carrier_ref, ok_ref) == 0 ? "RR000000116VN" : "RR000000125VN") != 0)
            fail_msg("event %zu: waybill '%s' is not the order's S10", i, e->waybill);
        if (strcmp(e->raw_code, "506") == 0 && strcmp(e->reason, "Người nhận vắng nhà") != 0)
            fail_msg("delivery failure without its reason: '%s'", e->reason);
        if (strcmp(e->raw_code, "501") == 0 && e->amount != 50000)
            fail_msg("delivered event amount %lld, want the COD 50000", e->amount);
        if (carrier_find("viettel")->map_status(e->raw_code, &m) != 0)
            fail_msg("webhook code %s is not in the status table", e->raw_code);
    }
    if (carrier_find("viettel")->map_status("504", &m) != 0 || strcmp(m.status, "returned") != 0)
        fail_msg("code 504 must map to returned");
    if (rx.unauthorized)
        fail_msg("%d webhook POSTs without 'Authorization: Bearer hook-token'", rx.unauthorized);
    carrier_event_list_free(&ev);
    carrier_destroy(&f->c);
    if (sim_proc_stop(&f->sim) != 0)
        fail_msg("simulator did not stop cleanly");
    sim_receiver_stop(&rx);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_book_is_idempotent, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_order_carries_the_instruction, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_track, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_after_pickup, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_faults, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_requests, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_token, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_vnpost_only, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_webhooks, sim_fixture_setup, sim_fixture_teardown),
    };

    (void)argc;
    sim_proc_prepare(argv[0], "viettel_sim_test");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
