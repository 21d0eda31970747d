/*
 * vnpost_sim_test - the real VNPost adapter against the real simulator process
 *
 * Each test starts bcci-carrier-sim on port 0 (from $BCCI_BIN, else the bin/
 * directory beside this test's build directory, else build/san/bin or
 * build/rel/bin), reads its "listening on" line, drives carriers/vnpost.c
 * through carrier.h, inspects GET /_sim/stats, and stops the simulator with
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
    { "carrier.vnpost.url", NULL, "" },
    { "carrier.vnpost.username", "demo", "" },
    { "carrier.vnpost.password_file", "", "" },
    { "carrier.vnpost.customer_code", "BCCI", "" },
    { "carrier.timeout_ms", "3000", "" },
    { "carrier.allow_insecure", "0", "" },
    { "carrier.ca_bundle", "", "" },
    { NULL, NULL, NULL },
};

/* check_create_request - the exact CreateOrder request the adapter sent for sim_shipment() */
static void
check_create_request(const sim_proc_t *p)
{
    static const char want_body[] =
        "{\"orderCreationStatus\":1,\"type\":\"GUI\",\"informationOrder\":{"
        "\"senderName\":\"UBND xã Tân Lập\",\"senderPhone\":\"02433123456\","
        "\"senderAddress\":\"Số 1 đường Lê Lợi\",\"senderProvinceCode\":\"01\",\"senderCommuneCode\":\"00001\","
        "\"receiverName\":\"Nguyễn Thị Hoa\",\"receiverPhone\":\"0912345678\","
        "\"receiverAddress\":\"Số 2 ngõ 3 phố Huế\",\"receiverProvinceCode\":\"01\","
        "\"receiverCommuneCode\":\"00004\",\"serviceCode\":\"CTN001\","
        "\"addonService\":[{\"code\":\"GTG021\",\"propValue\":\"50000\"}],"
        "\"saleOrderCode\":\"000.00.31.H23-231124-0001\",\"contentNote\":\"Kết quả giải quyết TTHC\","
        "\"weight\":200,\"itemCode\":\"RR000000014VN\"}}";
    sim_check_last_request(p, "POST", "/customer-partner/CreateOrder", "CreateOrder", want_body);
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
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    sim_shipment(&s, dossier, "RR000000014VN", NULL);
    sim_expect_status("first book", carrier_book(f->c, &s, &r1), CARRIER_OK, &r1);
    if (!r1.carrier_ref[0] || r1.already_existed || r1.fee <= 0)
        fail_msg("first book: ref '%s' already_existed %d fee %lld; want a ref, 0, fee > 0", r1.carrier_ref,
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
        json_integer_value(json_object_get(sale, "create_calls")) != 2)
        fail_msg("by_sale_order[%s]: want orders 1 and create_calls 2", dossier);
    if (sim_stat_int(st, "requests", "GetAccessToken", NULL) != 1)
        fail_msg("GetAccessToken requests = %lld, want 1 (token cached)",
                 sim_stat_int(st, "requests", "GetAccessToken", NULL));
    json_decref(st);

    /* a second waybill for the same dossier is a second order: the simulator sees it */
    sim_shipment(&s, dossier, "RR000000028VN", NULL);
    sim_expect_status("book with a new waybill", carrier_book(f->c, &s, &r2), CARRIER_OK, &r2);
    st = sim_stats(&f->sim);
    sale = json_object_get(json_object_get(st, "by_sale_order"), dossier);
    if (json_integer_value(json_object_get(sale, "orders")) != 2 ||
        json_array_size(json_object_get(sale, "item_codes")) != 2)
        fail_msg("double booking must show as 2 orders with 2 item codes for %s", dossier);
    json_decref(st);
}

/* a waybill VNPost holds for another dossier (issued twice, e.g. after a restore) is not a
 * booking of this dossier: a permanent failure named waybill_taken, never "already existed" */
static void
test_waybill_of_another_dossier_is_not_success(void **state)
{
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;

    sim_proc_start(&f->sim, NULL);
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0001", "RR000000014VN", NULL);
    sim_expect_status("first dossier", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    sim_shipment(&s, "000.00.31.H23-231124-0002", "RR000000014VN", NULL);
    memset(&r, 0, sizeof r);
    if (carrier_book(f->c, &s, &r) != CARRIER_FAIL || r.already_existed)
        fail_msg("second dossier, same waybill: got already_existed %d (%s), want CARRIER_FAIL", r.already_existed,
                 r.message);
    if (strncmp(r.message, "waybill_taken", 13) != 0 || !strstr(r.message, "000.00.31.H23-231124-0001"))
        fail_msg("got message '%s', want it to start with waybill_taken and name the other dossier", r.message);
}

static void
test_token_refresh(void **state)
{
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;
    long code = 0;
    json_t *st;

    sim_proc_start(&f->sim, NULL);
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0002", "RR000000031VN", NULL);
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    json_decref(sim_http_json(&f->sim, "POST", "/_sim/expire_tokens", "", &code));
    if (code != 200)
        fail_msg("POST /_sim/expire_tokens: HTTP %ld, want 200", code);
    sim_shipment(&s, "000.00.31.H23-231124-0003", "RR000000045VN", NULL);
    sim_expect_status("book after token expiry", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    st = sim_stats(&f->sim);
    if (sim_stat_int(st, "requests", "GetAccessToken", NULL) != 2)
        fail_msg("GetAccessToken requests = %lld, want 2 (one refresh)",
                 sim_stat_int(st, "requests", "GetAccessToken", NULL));
    if (sim_stat_int(st, "requests", "CreateOrder", NULL) != 3)
        fail_msg("CreateOrder requests = %lld, want 3 (ok, 401, retry)",
                 sim_stat_int(st, "requests", "CreateOrder", NULL));
    if (sim_stat_int(st, "orders_total", NULL, NULL) != 2)
        fail_msg("orders_total = %lld, want 2", sim_stat_int(st, "orders_total", NULL, NULL));
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
    const carrier_ops_t *ops = carrier_find("vnpost");
    char ref[64];

    sim_proc_start(&f->sim, NULL); /* default clock: 10 s per step, nothing moves during the test */
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0004", "RR000000059VN", NULL);
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ref, sizeof ref, "%s", r.carrier_ref); /* r is reset by every call */
    s.carrier_ref = ref;
    sim_expect_status("track", carrier_track(f->c, &s, &ev, &r), CARRIER_OK, &r);
    if (ev.n != 1 || strcmp(ev.items[0].raw_code, "1") != 0)
        fail_msg("track after booking: %zu events, first '%s'; want 1 event with code 1", ev.n,
                 ev.n ? ev.items[0].raw_code : "");
    if (ops->map_status(ev.items[0].raw_code, &m) != 0 || strcmp(m.status, "booked") != 0)
        fail_msg("code 1 must map to booked");
    if (strcmp(ev.items[0].carrier_ref, s.carrier_ref) != 0 || strcmp(ev.items[0].waybill, s.waybill) != 0 ||
        !ev.items[0].event_id[0] || ev.items[0].carrier_time_ms <= 0)
        fail_msg("tracked event lacks ref/waybill/event id/time");
    carrier_event_list_free(&ev);
    sim_expect_status("cancel before pick-up", carrier_cancel(f->c, &s, &r), CARRIER_OK, &r);
    sim_expect_status("track after cancel", carrier_track(f->c, &s, &ev, &r), CARRIER_OK, &r);
    if (ev.n != 2 || strcmp(ev.items[1].raw_code, "9") != 0)
        fail_msg("after cancel: %zu events, last '%s'; want 2 with code 9", ev.n,
                 ev.n ? ev.items[ev.n - 1].raw_code : "");
    carrier_event_list_free(&ev);
    sim_expect_status("cancel again (idempotent)", carrier_cancel(f->c, &s, &r), CARRIER_OK, &r);

    s.carrier_ref = "VNP9999999999";
    sim_expect_status("track unknown order", carrier_track(f->c, &s, &ev, &r), CARRIER_FAIL, &r);
    if (ev.n != 0)
        fail_msg("a failed track left %zu events", ev.n);
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
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0005", "RR000000062VN", NULL);
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ref, sizeof ref, "%s", r.carrier_ref); /* r is reset by every call */
    s.carrier_ref = ref;
    while (!delivered && clock_mono_ms() < deadline) {
        usleep(50000);
        ev.n = 0;
        sim_expect_status("track", carrier_track(f->c, &s, &ev, &r), CARRIER_OK, &r);
        delivered = ev.n > 0 && strcmp(ev.items[ev.n - 1].raw_code, "14") == 0;
    }
    if (!delivered)
        fail_msg("the order did not reach code 14 within 10 s");
    if (ev.n != 5)
        fail_msg("delivered order has %zu events, want 5 (1, 6, 10, 12, 14)", ev.n);
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
    carrier_result_t r;
    json_t *st;

    sim_proc_start(&f->sim, NULL);
    sim_fixture_open(f, cfg_spec, "vnpost", "1000");
    /* a first booking caches the token, so the faults below hit CreateOrder itself */
    sim_shipment(&s, "000.00.31.H23-231124-0006", "RR000000076VN", NULL);
    sim_expect_status("book before faults", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    sim_shipment(&s, "000.00.31.H23-231124-0106", "RR000000133VN", NULL);

    sim_book_under_faults(f, &s);
    st = sim_stats(&f->sim);
    if (sim_stat_int(st, "orders_total", NULL, NULL) != 2)
        fail_msg("orders_total = %lld after retries, want 2", sim_stat_int(st, "orders_total", NULL, NULL));
    if (sim_stat_int(st, "faults_injected", NULL, NULL) != 4)
        fail_msg("faults_injected = %lld, want 4", sim_stat_int(st, "faults_injected", NULL, NULL));
    if (sim_stat_int(st, "requests", "GetAccessToken", NULL) != 1)
        fail_msg("GetAccessToken requests = %lld, want 1", sim_stat_int(st, "requests", "GetAccessToken", NULL));
    json_decref(st);
}

static void
test_invalid_requests(void **state)
{
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;

    sim_proc_start(&f->sim, NULL);
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0007", "RR000000080VN", NULL);
    s.receiver.phone = NULL;
    sim_expect_status("book without receiver phone", carrier_book(f->c, &s, &r), CARRIER_FAIL, &r);
    if (!strstr(r.message, "receiver.phone"))
        fail_msg("message '%s' does not name receiver.phone", r.message);
    sim_shipment(&s, "000.00.31.H23-231124-0007", "RR000000080VN", NULL);
    s.service_code = "XXX999";
    sim_expect_status("book with an unknown service", carrier_book(f->c, &s, &r), CARRIER_FAIL, &r);
    if (r.http_status != 400 || !strstr(r.message, "serviceCode"))
        fail_msg("unknown service: HTTP %d '%s', want 400 naming serviceCode", r.http_status, r.message);
}

static void
test_wrong_password(void **state)
{
    static const char *const creds[] = { "--password", "other", NULL };
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;

    sim_proc_start(&f->sim, creds);
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0008", "RR000000093VN", NULL);
    sim_expect_status("book with wrong credentials", carrier_book(f->c, &s, &r), CARRIER_CONFIG, &r);
    if (!strstr(r.message, "credentials"))
        fail_msg("message '%s' does not mention the credentials", r.message);
}

static void
test_connection_refused(void **state)
{
    sim_fixture_t *f = *state;
    carrier_shipment_t s;
    carrier_result_t r;
    int rc;

    sim_proc_start(&f->sim, NULL);
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    rc = sim_proc_stop(&f->sim);
    if (rc != 0)
        fail_msg("simulator exit status %d, want 0", rc);
    sim_shipment(&s, "000.00.31.H23-231124-0009", "RR000000102VN", NULL);
    sim_expect_status("book with the carrier down", carrier_book(f->c, &s, &r), CARRIER_RETRY, &r);
}

/* ---- webhooks: a small receiver in this process ----------------------------------------------------- */

static void
test_webhooks(void **state)
{
    sim_fixture_t *f = *state;
    sim_receiver_t rx;
    char hook[128], ok_ref[64], fail_ref[64];
    const char *args[8];
    carrier_shipment_t s;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    carrier_mapping_t m;
    int64_t deadline;
    size_t i, j;

    if (!sim_proc_found())
        skip();
    sim_receiver_start(&rx, NULL, "application/json");
    snprintf(hook, sizeof hook, "http://127.0.0.1:%u/v1/carriers/vnpost/events", rx.port);
    args[0] = "--webhook_url";
    args[1] = hook;
    args[2] = "--clock_speed";
    args[3] = "6000";
    args[4] = "--step_seconds";
    args[5] = "60";
    args[6] = NULL;
    sim_proc_start(&f->sim, args);
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0010", "RR000000116VN", NULL);
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ok_ref, sizeof ok_ref, "%s", r.carrier_ref);
    sim_shipment(&s, "000.00.31.H23-231124-0011", "RR000000125VN", "Số 9 phố Huế [fail-delivery]");
    sim_expect_status("book (failed-delivery scenario)", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(fail_ref, sizeof fail_ref, "%s", r.carrier_ref);

    deadline = clock_mono_ms() + 15000;
    do {
        usleep(50000);
        sim_receiver_events(&rx, carrier_find("vnpost"), NULL, &ev);
    } while ((!sim_has_code(&ev, ok_ref, "14") || !sim_has_code(&ev, fail_ref, "19")) && clock_mono_ms() < deadline);
    if (!sim_has_code(&ev, ok_ref, "14") || !sim_has_code(&ev, fail_ref, "19"))
        fail_msg("webhooks: delivered/returned not received within 15 s (%zu events)", ev.n);
    if (sim_has_code(&ev, ok_ref, "6") != 1 || sim_has_code(&ev, ok_ref, "10") != 1 ||
        sim_has_code(&ev, ok_ref, "12") != 1)
        fail_msg("normal order: want exactly one webhook each for 6, 10, 12");
    if (sim_has_code(&ev, fail_ref, "15") != 2 || sim_has_code(&ev, fail_ref, "18") != 1)
        fail_msg("failed-delivery order: got %d events with 15 and %d with 18, want 2 and 1",
                 sim_has_code(&ev, fail_ref, "15"), sim_has_code(&ev, fail_ref, "18"));
    for (i = 0; i < ev.n; i++) {
        if (!ev.items[i].event_id[0])
            fail_msg("webhook event %zu has no eventId", i);
        for (j = i + 1; j < ev.n; j++)
            if (strcmp(ev.items[i].event_id, ev.items[j].event_id) == 0)
                fail_msg("eventId %s sent twice without dup_webhook", ev.items[i].event_id);
        if (strcmp(ev.items[i].raw_code, "15") == 0 && strcmp(ev.items[i].reason, "Người nhận vắng nhà") != 0)
            fail_msg("delivery failure without its reason: '%s'", ev.items[i].reason);
        if (strcmp(ev.items[i].raw_code, "14") == 0 && ev.items[i].amount != 50000)
            fail_msg("delivered event amount %lld, want the COD 50000", ev.items[i].amount);
        if (carrier_find("vnpost")->map_status(ev.items[i].raw_code, &m) != 0)
            fail_msg("webhook code %s is not in the status table", ev.items[i].raw_code);
    }
    if (carrier_find("vnpost")->map_status("19", &m) != 0 || strcmp(m.status, "returned") != 0)
        fail_msg("code 19 must map to returned");
    carrier_event_list_free(&ev);
    carrier_destroy(&f->c);
    if (sim_proc_stop(&f->sim) != 0)
        fail_msg("simulator did not stop cleanly");
    sim_receiver_stop(&rx);
}

static void
test_webhook_duplicates(void **state)
{
    sim_fixture_t *f = *state;
    sim_receiver_t rx;
    char hook[128];
    const char *args[12];
    carrier_shipment_t s;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    int64_t deadline;
    size_t i, j;
    int k;

    if (!sim_proc_found())
        skip();
    sim_receiver_start(&rx, "Bearer hook-secret-token", "application/json");
    snprintf(hook, sizeof hook, "http://127.0.0.1:%u/hook", rx.port);
    args[0] = "--webhook_url";
    args[1] = hook;
    args[2] = "--clock_speed";
    args[3] = "6000";
    args[4] = "--step_seconds";
    args[5] = "60";
    args[6] = "--faults";
    args[7] = "dup_webhook=1";
    args[8] = "--webhook_token";
    args[9] = "hook-secret-token";
    args[10] = NULL;
    sim_proc_start(&f->sim, args);
    sim_fixture_open(f, cfg_spec, "vnpost", NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0012", "RR000000147VN", NULL);
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    deadline = clock_mono_ms() + 15000;
    do {
        usleep(50000);
        sim_receiver_events(&rx, carrier_find("vnpost"), NULL, &ev);
    } while ((ev.n < 8 || sim_has_code(&ev, r.carrier_ref, "14") < 2) && clock_mono_ms() < deadline);
    /* 4 steps (6, 10, 12, 14), each delivered twice with the same eventId */
    if (ev.n != 8)
        fail_msg("dup_webhook=1: got %zu events, want 8", ev.n);
    for (i = 0; i < ev.n; i++) {
        for (k = 0, j = 0; j < ev.n; j++)
            k += strcmp(ev.items[i].event_id, ev.items[j].event_id) == 0;
        if (k != 2)
            fail_msg("eventId %s arrived %d times, want 2", ev.items[i].event_id, k);
    }
    if (rx.unauthorized)
        fail_msg("%d webhook POSTs without 'Authorization: Bearer hook-secret-token'", rx.unauthorized);
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
        cmocka_unit_test_setup_teardown(test_waybill_of_another_dossier_is_not_success, sim_fixture_setup,
                                        sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_token_refresh, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_and_track, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_after_pickup, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_faults, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_requests, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_password, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_webhooks, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_webhook_duplicates, sim_fixture_setup, sim_fixture_teardown),
    };

    (void)argc;
    sim_proc_prepare(argv[0], "vnpost_sim_test");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
