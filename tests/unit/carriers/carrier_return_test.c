/*
 * carrier_return_test - the return request (TT 17 Điều 5.2) in both dialects:
 * the real adapters (carriers/vnpost.c, carriers/viettel.c) against the real
 * simulator process
 *
 * For each dialect: the exact request the adapter sent, the counts at
 * /_sim/stats (per dossier and per endpoint), a repeated request answered
 * as an idempotent success, the order reaching its returned code on the
 * simulator's accelerated clock (1 s per step) without being delivered, and
 * refusals (not picked up yet, unknown order); and the TT 17 flow: an item
 * that failed twice waits at the office ("[fail-delivery-hold]") until the
 * return request sends it back. Skipped when the simulator
 * binary does not exist.
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

#define REASON "Phát không thành công 2 lần, chuyển hoàn về Bộ phận một cửa (TT 17/2017 Điều 5.2)"

static const config_spec_t cfg_spec[] = {
    { "carrier.vnpost.url", NULL, "" },
    { "carrier.vnpost.username", "demo", "" },
    { "carrier.vnpost.password_file", "", "" },
    { "carrier.vnpost.customer_code", "BCCI", "" },
    { "carrier.viettel.url", NULL, "" },
    { "carrier.viettel.token_file", "", "" },
    { "carrier.timeout_ms", "3000", "" },
    { "carrier.allow_insecure", "0", "" },
    { "carrier.ca_bundle", "", "" },
    { NULL, NULL, NULL },
};

typedef struct {
    const char *carrier;
    const char *path;            /* the return request's path */
    const char *body_fmt;        /* its exact JSON body, %s = the carrier's order id */
    const char *picked_up;       /* a code after which a return is allowed */
    const char *returning, *transfer, *returned, *delivered;
    const char *failed;          /* a failed delivery attempt */
    const char *count_endpoint;  /* /_sim/stats requests.<this> */
} dialect_t;

static const dialect_t dialects[] = {
    { "vnpost", "/customer-partner/orderReturn", "{\"OriginalId\":\"%s\",\"reason\":\"" REASON "\"}", "6", "17", "18",
      "19", "14", "15", "orderReturn" },
    { "viettel", "/v2/order/UpdateOrder", "{\"TYPE\":2,\"ORDER_NUMBER\":\"%s\",\"NOTE\":\"" REASON "\"}", "105",
      "515", "502", "504", "501", "506", "viettel.UpdateOrder.return" },
};

/* track_until - track s until an event with code appears (ms bound); the events are left in ev */
static int
track_until(sim_fixture_t *f, const carrier_shipment_t *s, const char *code, int64_t ms, carrier_event_list_t *ev)
{
    int64_t end = clock_mono_ms() + ms;
    carrier_result_t r;

    for (;;) {
        carrier_event_list_free(ev);
        memset(ev, 0, sizeof *ev);
        sim_expect_status("track", carrier_track(f->c, s, ev, &r), CARRIER_OK, &r);
        if (sim_has_code(ev, s->carrier_ref, code))
            return 0;
        if (clock_mono_ms() > end)
            return -1;
        usleep(50 * 1000);
    }
}

static void
run_dialect(sim_fixture_t *f, const dialect_t *d)
{
    static const char *const clock_1s[] = { "--clock_speed", "60", "--step_seconds", "60", NULL };
    const char *dossier = "000.00.31.H23-231124-0021", *early = "000.00.31.H23-231124-0022";
    char ref[64], early_ref[64], want_body[512];
    carrier_shipment_t s, s2;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    json_t *st, *sale;
    carrier_mapping_t m;

    sim_proc_start(&f->sim, clock_1s);
    sim_fixture_open(f, cfg_spec, d->carrier, NULL);
    if (!(carrier_ops(f->c)->caps & CARRIER_CAN_RETURN))
        fail_msg("%s: CARRIER_CAN_RETURN is not in its capabilities", d->carrier);

    sim_shipment(&s, dossier, "RR000000213VN", NULL);
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ref, sizeof ref, "%s", r.carrier_ref);
    s.carrier_ref = ref;
    sim_shipment(&s2, early, "RR000000227VN", NULL);
    sim_expect_status("book (second order)", carrier_book(f->c, &s2, &r), CARRIER_OK, &r);
    snprintf(early_ref, sizeof early_ref, "%s", r.carrier_ref);
    s2.carrier_ref = early_ref;

    /* not picked up yet: the carrier refuses, permanently */
    sim_expect_status("return before pick-up", carrier_request_return(f->c, &s2, REASON, &r), CARRIER_FAIL, &r);
    if (!strstr(r.message, "cannot return"))
        fail_msg("return before pick-up: got message '%s', want it to say the carrier cannot return it", r.message);

    /* picked up (the postman has it): the return request is accepted */
    if (track_until(f, &s, d->picked_up, 10000, &ev) != 0)
        fail_msg("%s: the order did not reach %s within 10 s", d->carrier, d->picked_up);
    sim_expect_status("return", carrier_request_return(f->c, &s, REASON, &r), CARRIER_OK, &r);
    snprintf(want_body, sizeof want_body, d->body_fmt, ref);
    sim_check_last_request(&f->sim, "POST", d->path, "return request", want_body);
    /* asked again (a retried job): the same success, nothing changes */
    sim_expect_status("return again", carrier_request_return(f->c, &s, REASON, &r), CARRIER_OK, &r);

    st = sim_stats(&f->sim);
    sale = json_object_get(json_object_get(st, "by_sale_order"), dossier);
    if (json_integer_value(json_object_get(sale, "return_calls")) != 2)
        fail_msg("%s: by_sale_order[%s].return_calls = %lld, want 2", d->carrier, dossier,
                 (long long)json_integer_value(json_object_get(sale, "return_calls")));
    sale = json_object_get(json_object_get(st, "by_sale_order"), early);
    if (json_integer_value(json_object_get(sale, "return_calls")) != 1)
        fail_msg("%s: by_sale_order[%s].return_calls = %lld, want 1", d->carrier, early,
                 (long long)json_integer_value(json_object_get(sale, "return_calls")));
    if (sim_stat_int(st, "requests", d->count_endpoint, NULL) != 3)
        fail_msg("%s: requests.%s = %lld, want 3", d->carrier, d->count_endpoint,
                 sim_stat_int(st, "requests", d->count_endpoint, NULL));
    json_decref(st);

    /* on the simulator's clock: returning, then back at the sender, never delivered */
    if (track_until(f, &s, d->returned, 10000, &ev) != 0)
        fail_msg("%s: the order did not reach %s (returned) within 10 s", d->carrier, d->returned);
    if (sim_has_code(&ev, ref, d->returning) != 1 || sim_has_code(&ev, ref, d->transfer) != 1)
        fail_msg("%s: want one %s and one %s event on the way back", d->carrier, d->returning, d->transfer);
    if (sim_has_code(&ev, ref, d->delivered) != 0)
        fail_msg("%s: the returned order was also delivered (%s)", d->carrier, d->delivered);
    if (carrier_ops(f->c)->map_status(d->returning, &m) != 0 || strcmp(m.status, "returning") != 0 ||
        carrier_ops(f->c)->map_status(d->returned, &m) != 0 || strcmp(m.status, "returned") != 0)
        fail_msg("%s: codes %s / %s must map to returning / returned", d->carrier, d->returning, d->returned);
    carrier_event_list_free(&ev);

    /* back already: asking again is still a success */
    sim_expect_status("return after returned", carrier_request_return(f->c, &s, REASON, &r), CARRIER_OK, &r);
    /* an order the carrier does not know */
    s.carrier_ref = "VNP9999999999";
    if (strcmp(d->carrier, "viettel") == 0)
        s.carrier_ref = "VTP9999999999";
    sim_expect_status("return of an unknown order", carrier_request_return(f->c, &s, REASON, &r), CARRIER_FAIL, &r);
    /* no carrier reference yet: nothing is sent */
    s.carrier_ref = NULL;
    sim_expect_status("return without a reference", carrier_request_return(f->c, &s, NULL, &r), CARRIER_FAIL, &r);
}

/* run_hold - the TT 17 Điều 5.2 flow: two failed attempts, the item waits at
 * the office; only the return request sends it back */
static void
run_hold(sim_fixture_t *f, const dialect_t *d)
{
    static const char *const clock_fast[] = { "--clock_speed", "600", "--step_seconds", "60", NULL };
    carrier_shipment_t s;
    carrier_result_t r;
    carrier_event_list_t ev = { 0 };
    char ref[64];
    int64_t settle;

    sim_proc_start(&f->sim, clock_fast); /* 100 ms per step */
    sim_fixture_open(f, cfg_spec, d->carrier, NULL);
    sim_shipment(&s, "000.00.31.H23-231124-0023", "RR000000235VN", "Số 9 phố Huế [fail-delivery-hold]");
    sim_expect_status("book", carrier_book(f->c, &s, &r), CARRIER_OK, &r);
    snprintf(ref, sizeof ref, "%s", r.carrier_ref);
    s.carrier_ref = ref;
    settle = clock_mono_ms() + 10000;
    do {
        if (track_until(f, &s, d->failed, 10000, &ev) != 0)
            fail_msg("%s: no failed attempt within 10 s", d->carrier);
    } while (sim_has_code(&ev, ref, d->failed) < 2 && clock_mono_ms() < settle);
    if (sim_has_code(&ev, ref, d->failed) != 2)
        fail_msg("%s: got %d failed attempts, want 2", d->carrier, sim_has_code(&ev, ref, d->failed));
    usleep(500 * 1000); /* five more steps of the clock: nothing may move on its own */
    if (track_until(f, &s, d->failed, 1000, &ev) != 0 || sim_has_code(&ev, ref, d->returning) ||
        sim_has_code(&ev, ref, d->transfer) || sim_has_code(&ev, ref, d->returned))
        fail_msg("%s: the held item moved back before any return request", d->carrier);
    sim_expect_status("return", carrier_request_return(f->c, &s, REASON, &r), CARRIER_OK, &r);
    if (track_until(f, &s, d->returned, 10000, &ev) != 0)
        fail_msg("%s: the held item did not reach %s within 10 s of the return request", d->carrier, d->returned);
    carrier_event_list_free(&ev);
}

static void
test_vnpost_hold_then_return(void **state)
{
    run_hold(*state, &dialects[0]);
}

static void
test_viettel_hold_then_return(void **state)
{
    run_hold(*state, &dialects[1]);
}

static void
test_vnpost_return(void **state)
{
    run_dialect(*state, &dialects[0]);
}

static void
test_viettel_return(void **state)
{
    run_dialect(*state, &dialects[1]);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vnpost_return, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_viettel_return, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_vnpost_hold_then_return, sim_fixture_setup, sim_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_viettel_hold_then_return, sim_fixture_setup, sim_fixture_teardown),
    };

    (void)argc;
    sim_proc_prepare(argv[0], "carrier_return_test");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
