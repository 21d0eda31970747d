/*
 * shipments_test - the shipments area through the store's interface, on the backend the
 * fixture picks: lookups, the sink's writes, the proof of delivery, whom to tell, and the
 * scheduler's queries
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gateway/store/store.h"
#include "gateway/store/store_dossiers.h"
#include "gateway/store/store_jobs.h"
#include "gateway/store/store_shipments.h"
#include "tests/unit/support/store_fixture.h"

#define NOW 1732406400000LL /* 2024-11-24 */
#define DAY (24LL * 3600 * 1000)

static const char BODY[] =
    "{\"recipient\": {\"name\": \"Nguyễn Văn An\", \"phone\": \"0901234567\", \"email\": \"an@example.vn\","
    " \"id_last4\": \"0427\"},"
    " \"sender\": {\"name\": \"Trần Thị Bình\", \"phone\": \"0912345678\", \"id_last4\": \"9981\"},"
    " \"authorised_person\": {\"name\": \"Lê Văn Cường\", \"relation\": \"con\", \"id_last4\": \"5512\"},"
    " \"agency\": {\"name\": \"UBND phường Bến Thành\", \"address\": \"1 Lê Lợi\", \"phone\": \"0283822\"}}";

static void
want_rc(store_rc_t got, store_rc_t want, const char *what)
{
    if (got != want)
        fail_msg("%s: got %s, want %s", what, store_rc_name(got), store_rc_name(want));
}

/* a dossier of service with one shipment; its id */
static int64_t
seed(store_tx_t *tx, const char *code, const char *service)
{
    store_intake_t in = {
        .code = code, .service = service, .carrier = "vnpost", .agency_code = "000.00.31.H23",
        .canonical_body = BODY, .body_hash = code, .book_payload = "{}", .cod_amount = 25000, .transit_days = 2,
    };
    store_intake_result_t out;

    want_rc(store_dossiers_intake(tx, &in, NOW, &out), STORE_OK, "intake");
    return out.shipment_id;
}

/* in - whether list holds shipment id */
static int
in(const store_shipment_list_t *list, int64_t id)
{
    size_t i;

    for (i = 0; i < list->n; i++)
        if (list->items[i].id == id)
            return 1;
    return 0;
}

static void
test_lookups_and_writes(void **state)
{
    store_shipment_t s;
    store_tx_t *tx = NULL;
    store_fixture_t f;
    int64_t id;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
    want_rc(store_dossiers_import_codes(tx, "RR", "VN", 100, 10, NOW, NULL), STORE_OK, "import");
    id = seed(tx, "000.00.31.H23-241124-0001", "return");

    want_rc(store_shipments_get(tx, id, &s), STORE_OK, "get");
    assert_string_equal(s.dossier_code, "000.00.31.H23-241124-0001");
    assert_string_equal(s.status, "created");
    assert_string_equal(s.leg, "return");
    assert_string_equal(s.carrier, "vnpost");
    assert_string_equal(s.carrier_ref, "");
    assert_int_equal(s.transit_days, 2);
    assert_int_equal(s.due_at, 0);
    assert_int_equal(s.next_poll_at, 0);
    assert_int_equal(s.created_at, NOW);
    want_rc(store_shipments_get(tx, id + 1000, &s), STORE_NOT_FOUND, "get an unknown id");
    want_rc(store_shipments_get(tx, id, &s), STORE_OK, "get");
    want_rc(store_shipments_find_waybill(tx, "vnpost", s.waybill, &s), STORE_OK, "find waybill");
    assert_int_equal(s.id, id);
    want_rc(store_shipments_find_waybill(tx, "viettelpost", s.waybill, &s), STORE_NOT_FOUND, "other carrier");

    want_rc(store_shipments_set_booked(tx, id, "VN-REF-1", 18000, NOW + 1), STORE_OK, "set booked");
    want_rc(store_shipments_find_ref(tx, "vnpost", "VN-REF-1", &s), STORE_OK, "find ref");
    assert_int_equal(s.id, id);
    assert_string_equal(s.carrier_ref, "VN-REF-1");
    want_rc(store_shipments_find_ref(tx, "vnpost", "VN-REF-2", &s), STORE_NOT_FOUND, "unknown ref");

    want_rc(store_shipments_set_status(tx, id, "in_transit", NOW + 1000, NOW + 2000), STORE_OK, "set status");
    want_rc(store_shipments_set_due(tx, id, NOW + 3 * DAY), STORE_OK, "set due");
    want_rc(store_shipments_set_due(tx, id, NOW + 9 * DAY), STORE_OK, "set due again");
    want_rc(store_shipments_get(tx, id, &s), STORE_OK, "get");
    assert_string_equal(s.status, "in_transit");
    assert_int_equal(s.status_time, NOW + 1000);
    if (s.due_at != NOW + 3 * DAY)
        fail_msg("due_at: got %lld, want the earlier one kept", (long long)s.due_at);
    /* J is the first of the handover scan and the carrier's acceptance: an earlier due date wins */
    want_rc(store_shipments_set_due(tx, id, NOW + 2 * DAY), STORE_OK, "set an earlier due date");
    want_rc(store_shipments_get(tx, id, &s), STORE_OK, "get");
    if (s.due_at != NOW + 2 * DAY)
        fail_msg("due_at: got %lld, want the earlier one set later", (long long)s.due_at);

    /* a delivery attempt that did not fail ends the transit without counting; failed ones count */
    want_rc(store_shipments_record_attempt(tx, id, NOW + DAY, 0), STORE_OK, "attempt");
    want_rc(store_shipments_record_attempt(tx, id, NOW + 2 * DAY, 1), STORE_OK, "failed attempt");
    want_rc(store_shipments_record_invitation(tx, id, NOW + 3 * DAY), STORE_OK, "invitation");
    want_rc(store_shipments_get(tx, id, &s), STORE_OK, "get");
    assert_int_equal(s.first_attempt_at, NOW + DAY);
    assert_int_equal(s.attempts, 2);
    assert_int_equal(s.last_attempt_at, NOW + 3 * DAY);
    want_rc(store_tx_commit(&tx), STORE_OK, "commit");
    store_fixture_close(&f);
}

static void
test_scheduler_queries(void **state)
{
    store_shipment_list_t list = { 0 };
    store_shipment_t s;
    store_tx_t *tx = NULL;
    store_fixture_t f;
    int64_t a, b;
    int n = -1;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
    want_rc(store_dossiers_import_codes(tx, "RR", "VN", 100, 10, NOW, NULL), STORE_OK, "import");
    a = seed(tx, "000.00.31.H23-241124-0001", "return");
    b = seed(tx, "000.00.31.H23-241124-0002", "return");

    /* polls: booked, not final, due */
    want_rc(store_shipments_set_next_poll(tx, a, NOW), STORE_OK, "next poll a");
    want_rc(store_shipments_set_next_poll(tx, b, NOW), STORE_OK, "next poll b");
    want_rc(store_shipments_set_booked(tx, a, "REF-A", 0, NOW), STORE_OK, "booked a");
    want_rc(store_shipments_set_status(tx, a, "booked", NOW, NOW), STORE_OK, "status a");
    want_rc(store_shipments_due_polls(tx, NOW, 10, &list), STORE_OK, "due polls");
    if (list.n != 1 || !in(&list, a))
        fail_msg("due polls: got %zu, want only the booked shipment", list.n);
    store_shipment_list_free(&list);
    want_rc(store_shipments_due_polls(tx, NOW - 1, 10, &list), STORE_OK, "due polls before");
    assert_int_equal(list.n, 0);
    store_shipment_list_free(&list);
    want_rc(store_shipments_set_next_poll(tx, a, 0), STORE_OK, "stop polling");
    want_rc(store_shipments_get(tx, a, &s), STORE_OK, "get");
    assert_int_equal(s.next_poll_at, 0);
    want_rc(store_shipments_due_polls(tx, NOW + DAY, 10, &list), STORE_OK, "due polls after stop");
    assert_int_equal(list.n, 0);
    store_shipment_list_free(&list);

    /* past due: due, never attempted, breach not recorded; once */
    want_rc(store_shipments_set_due(tx, a, NOW + DAY), STORE_OK, "due a");
    want_rc(store_shipments_set_due(tx, b, NOW + 5 * DAY), STORE_OK, "due b");
    want_rc(store_shipments_past_due(tx, NOW + 2 * DAY, 10, &list), STORE_OK, "past due");
    if (list.n != 1 || !in(&list, a))
        fail_msg("past due: got %zu, want only a", list.n);
    store_shipment_list_free(&list);
    want_rc(store_shipments_mark_breached(tx, a), STORE_OK, "breached");
    want_rc(store_shipments_past_due(tx, NOW + 2 * DAY, 10, &list), STORE_OK, "past due after the breach");
    assert_int_equal(list.n, 0);
    store_shipment_list_free(&list);
    want_rc(store_shipments_get(tx, a, &s), STORE_OK, "get");
    assert_int_equal(s.sla_breached, 1);

    /* failed deliveries, oldest attempt first; max bounds the list */
    want_rc(store_shipments_record_attempt(tx, a, NOW + 3 * DAY, 1), STORE_OK, "attempt a");
    want_rc(store_shipments_record_attempt(tx, b, NOW + 2 * DAY, 1), STORE_OK, "attempt b");
    want_rc(store_shipments_set_status(tx, a, "delivery_failed", NOW + 3 * DAY, NOW), STORE_OK, "failed a");
    want_rc(store_shipments_set_status(tx, b, "delivery_failed", NOW + 2 * DAY, NOW), STORE_OK, "failed b");
    want_rc(store_shipments_failed_deliveries(tx, 10, &list), STORE_OK, "failed deliveries");
    if (list.n != 2 || list.items[0].id != b || list.items[1].id != a)
        fail_msg("failed deliveries: got %zu, want b then a", list.n);
    store_shipment_list_free(&list);
    want_rc(store_shipments_failed_deliveries(tx, 1, &list), STORE_OK, "failed deliveries, one");
    assert_int_equal(list.n, 1);
    store_shipment_list_free(&list);
    want_rc(store_shipments_failed_deliveries(tx, 0, &list), STORE_OK, "failed deliveries, none asked");
    assert_int_equal(list.n, 0);
    assert_null(list.items);

    want_rc(store_shipments_count_track_jobs(tx, "vnpost", &n), STORE_OK, "count track jobs");
    assert_int_equal(n, 0);
    want_rc(store_jobs_enqueue(tx, STORE_JOB_TRACK, a, "", "vnpost", "{}", NOW, NOW), STORE_OK, "track job");
    want_rc(store_shipments_count_track_jobs(tx, "vnpost", &n), STORE_OK, "count track jobs");
    assert_int_equal(n, 1);
    want_rc(store_shipments_count_track_jobs(tx, "viettelpost", &n), STORE_OK, "count another carrier's");
    assert_int_equal(n, 0);
    want_rc(store_tx_commit(&tx), STORE_OK, "commit");
    store_fixture_close(&f);
}

static void
test_proof_and_contact(void **state)
{
    store_proof_t proof = { .delivered_at = NOW + DAY, .relation = "self", .id_type = "cccd", .id_last4 = "1234",
                            .cod_collected = 25000 };
    store_proof_t none = { .delivered_at = NOW + 2 * DAY };
    store_contact_t c;
    store_proof_t got;
    store_tx_t *tx = NULL;
    store_fixture_t f;
    int64_t ret, send;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
    want_rc(store_dossiers_import_codes(tx, "RR", "VN", 100, 10, NOW, NULL), STORE_OK, "import");
    ret = seed(tx, "000.00.31.H23-241124-0001", "return");
    send = seed(tx, "000.00.31.H23-241124-0002", "send");

    want_rc(store_shipments_get_proof(tx, ret, &got), STORE_OK, "no proof yet");
    assert_string_equal(got.relation, "");
    want_rc(store_shipments_get_proof(tx, ret + 1000, &got), STORE_NOT_FOUND, "proof of an unknown shipment");
    /* "self" with no name: the recipient named in the submission (the agency on the send leg) */
    want_rc(store_shipments_record_delivery(tx, ret, &proof), STORE_OK, "delivery");
    want_rc(store_shipments_record_delivery(tx, send, &proof), STORE_OK, "delivery of the send leg");
    /* a later event with nothing new keeps what was recorded */
    want_rc(store_shipments_record_delivery(tx, ret, &none), STORE_OK, "delivery again");
    want_rc(store_shipments_get_proof(tx, ret, &got), STORE_OK, "proof");
    assert_int_equal(got.delivered_at, NOW + DAY);
    assert_string_equal(got.name, "Nguyễn Văn An");
    assert_string_equal(got.relation, "self");
    assert_string_equal(got.id_type, "cccd");
    assert_string_equal(got.id_last4, "1234");
    assert_int_equal(got.cod_collected, 25000);
    want_rc(store_shipments_get_proof(tx, send, &got), STORE_OK, "proof of the send leg");
    assert_string_equal(got.name, "UBND phường Bến Thành");
    /* the send leg's fee collected at pick-up is kept where collected money is read */
    want_rc(store_shipments_record_collected(tx, send, 15000, NOW + 3 * DAY), STORE_OK, "collected at pick-up");
    want_rc(store_shipments_get_proof(tx, send, &got), STORE_OK, "proof of the send leg");
    assert_int_equal(got.cod_collected, 15000);

    want_rc(store_shipments_contact(tx, ret, &c), STORE_OK, "contact of the return leg");
    assert_string_equal(c.recipient_name, "Nguyễn Văn An");
    assert_string_equal(c.recipient_phone, "0901234567");
    assert_string_equal(c.recipient_email, "an@example.vn");
    assert_string_equal(c.desk_name, "UBND phường Bến Thành");
    assert_string_equal(c.desk_address, "1 Lê Lợi");
    assert_string_equal(c.desk_phone, "0283822");
    /* what the proof of delivery is compared with: the citizen's and the authorised person's */
    assert_string_equal(c.recipient_id_last4, "0427");
    assert_string_equal(c.authorised_name, "Lê Văn Cường");
    assert_string_equal(c.authorised_relation, "con");
    assert_string_equal(c.authorised_id_last4, "5512");
    want_rc(store_shipments_contact(tx, send, &c), STORE_OK, "contact of the send leg");
    assert_string_equal(c.recipient_name, "Trần Thị Bình");
    assert_string_equal(c.recipient_phone, "0912345678");
    assert_string_equal(c.recipient_email, "");
    assert_string_equal(c.recipient_id_last4, "9981");
    want_rc(store_shipments_contact(tx, send + 1000, &c), STORE_NOT_FOUND, "contact of an unknown shipment");
    want_rc(store_tx_commit(&tx), STORE_OK, "commit");
    store_fixture_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups_and_writes),
        cmocka_unit_test(test_scheduler_queries),
        cmocka_unit_test(test_proof_and_contact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
