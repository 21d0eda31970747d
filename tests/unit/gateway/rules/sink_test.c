/*
 * sink_test - every status rule of the sink on a temporary store, without processes:
 * booking, each normalized status, terminal statuses, out-of-order and unknown events,
 * deduplication, events for a cancelled shipment, details built as JSON, and a batch
 * failed at its Nth step (a clean STORE_BUSY and nothing half-written).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carriers/carrier.h"
#include "clock.h"
#include "domain/status.h"
#include "gateway/rules/sink.h"
#include "gateway/store/sqlite/db.h"
#include "gateway/store/sqlite/jobs.h"
#include "gateway/store/sqlite/sqlite_access.h"
#include "gateway/store/store_shipments.h"
#include "gateway/store/store_timeline.h"
#include "tests/unit/support/store_fixture.h"

#define CASE_URL "http://case-system.invalid/notify"

static const sink_policy_t policy = {
    .max_attempts_book = 25,
    .backoff_base_ms = 500,
    .backoff_cap_ms = 300000,
    .case_system_url = CASE_URL,
    .notify_max_age_ms = 86400000,
    .poll_min_ms = 1800000,
};

/* ---------------------------------------------------------------- helpers */

static db_t *
writer(store_fixture_t *f)
{
    return store_writer(f->store);
}

/* sql_int - one integer from a query on the writer, outside any transaction */
static int64_t
sql_int(store_fixture_t *f, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(db_handle(writer(f)), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* add_shipment - dossier n with one shipment of leg in status, and its booking job */
static int64_t
add_shipment(store_fixture_t *f, int n, const char *leg, const char *status)
{
    char sql[1024];
    int64_t dossier_id, ship_id;
    int rc;

    snprintf(sql, sizeof sql, "INSERT INTO dossiers (code, agency_code, created_at) VALUES"
                              " ('000.00.31.H23-231124-%04d', '000.00.31.H23', 1000)", n);
    assert_int_equal(db_exec(writer(f), sql), SQLITE_OK);
    dossier_id = sqlite3_last_insert_rowid(db_handle(writer(f)));
    snprintf(sql, sizeof sql, "INSERT INTO submissions (dossier_id, service, body, body_hash, created_at) VALUES"
                              " (%lld, '%s', '{\"recipient\":{\"name\":\"Nguyễn Văn An\"},"
                              "\"agency\":{\"name\":\"UBND phường Bến Nghé\"}}', 'h%d', 1000)",
             (long long)dossier_id, leg, n);
    assert_int_equal(db_exec(writer(f), sql), SQLITE_OK);
    snprintf(sql, sizeof sql, "INSERT INTO shipments (dossier_id, submission_id, leg, carrier, waybill, carrier_ref,"
                              " status, status_time, created_at, updated_at) VALUES (%lld, %lld, '%s', 'vnpost',"
                              " 'RR1%07dVN', 'VNPX%d', '%s', 0, 1000, 1000)",
             (long long)dossier_id, (long long)sqlite3_last_insert_rowid(db_handle(writer(f))), leg, n, n, status);
    assert_int_equal(db_exec(writer(f), sql), SQLITE_OK);
    ship_id = sqlite3_last_insert_rowid(db_handle(writer(f)));
    assert_int_equal(jobs_enqueue(writer(f), "book", ship_id, "", "vnpost", "{\"waybill\":\"x\"}", 1000, 1000, &rc), 0);
    return ship_id;
}

static store_shipment_t
ship(store_fixture_t *f, int64_t id)
{
    store_tx_t *tx = NULL;
    store_shipment_t s;

    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_shipments_get(tx, id, &s), STORE_OK);
    store_tx_abort(&tx);
    return s;
}

static carrier_event_t
event(const char *waybill, const char *raw, int64_t when, const char *event_id)
{
    carrier_event_t e;

    memset(&e, 0, sizeof e);
    snprintf(e.waybill, sizeof e.waybill, "%s", waybill);
    snprintf(e.raw_code, sizeof e.raw_code, "%s", raw);
    snprintf(e.raw_name, sizeof e.raw_name, "code %s", raw);
    if (event_id)
        snprintf(e.event_id, sizeof e.event_id, "%s", event_id);
    e.carrier_time_ms = when;
    return e;
}

/* apply - events in one committed write transaction; the sink's answer */
static store_rc_t
apply(store_fixture_t *f, carrier_event_t *items, size_t n, sink_report_t *report)
{
    carrier_event_list_t list = { items, n, n };
    store_tx_t *tx = NULL;
    store_rc_t r;

    memset(report, 0, sizeof *report);
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    r = sink_carrier_events(tx, carrier_find("vnpost"), &list, &policy, 5000, report);
    if (r == STORE_OK)
        assert_int_equal(store_tx_commit(&tx), STORE_OK);
    else
        store_tx_abort(&tx);
    return r;
}

/* last_details - the details of the dossier's last event in carrier-time order; caller owns */
static json_t *
last_details(store_fixture_t *f, int64_t dossier_id, char *status, size_t statuslen)
{
    store_tx_t *tx = NULL;
    store_timeline_list_t list;
    json_t *d;

    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_timeline_list(tx, dossier_id, &list), STORE_OK);
    store_tx_abort(&tx);
    assert_true(list.n > 0);
    d = json_loads(list.items[list.n - 1].details, 0, NULL);
    if (status)
        snprintf(status, statuslen, "%s", list.items[list.n - 1].status);
    store_timeline_list_free(&list);
    if (!d)
        fail_msg("got details that are not JSON");
    return d;
}

/* details_with - the details of the dossier's last event whose details hold key; caller owns */
static json_t *
details_with(store_fixture_t *f, int64_t dossier_id, const char *key)
{
    store_tx_t *tx = NULL;
    store_timeline_list_t list;
    json_t *d = NULL;
    size_t i;

    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_timeline_list(tx, dossier_id, &list), STORE_OK);
    store_tx_abort(&tx);
    for (i = list.n; i-- > 0 && !d;) {
        d = json_loads(list.items[i].details, 0, NULL);
        if (d && !json_object_get(d, key)) {
            json_decref(d);
            d = NULL;
        }
    }
    store_timeline_list_free(&list);
    if (!d)
        fail_msg("no event with details.%s", key);
    return d;
}

static void
assert_chain_valid(store_fixture_t *f, int64_t dossier_id)
{
    store_tx_t *tx = NULL;
    char why[200] = "";
    store_rc_t r;

    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    r = store_timeline_verify(tx, dossier_id, why, sizeof why);
    store_tx_abort(&tx);
    if (r != STORE_OK)
        fail_msg("got chain %s (%s), want ok", store_rc_name(r), why);
}

static int
setup(void **state)
{
    store_fixture_t *f = calloc(1, sizeof *f);

    if (!f || store_fixture_open(f) != 0)
        return -1;
    store_set_chain_key(f->store, "sink-test-key", 13);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    store_fixture_close(*state);
    free(*state);
    return 0;
}

/* ---------------------------------------------------------------- booking */

static store_rc_t
book_result(store_fixture_t *f, int64_t ship_id)
{
    wire_msg_t m;
    store_tx_t *tx = NULL;
    char sql[128];
    store_rc_t r;

    wire_msg_init(&m);
    m.cmd = WIRE_RESULT;
    snprintf(sql, sizeof sql, "SELECT id FROM jobs WHERE kind = 'book' AND shipment_id = %lld", (long long)ship_id);
    m.job_id = sql_int(f, sql);
    /* a worker answers a job it was leased */
    snprintf(sql, sizeof sql, "UPDATE jobs SET state = 'leased', lease = 77, attempts = attempts + 1"
             " WHERE id = %lld AND state = 'ready'", (long long)m.job_id);
    assert_int_equal(db_exec(writer(f), sql), SQLITE_OK);
    m.lease = 77;
    m.outcome = WIRE_OK;
    m.data = json_pack("{s:s, s:i}", "carrier_ref", "VNPX-BOOKED", "fee", 25000);
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    r = sink_job_result(tx, &m, &policy, 2000);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    wire_msg_clear(&m);
    return r;
}

/* a RESULT for a job no worker was ever given is forged (a link without CURVE, job ids guessed):
 * it changes nothing, whatever lease it names, even the 0 of a job not leased */
static void
test_result_for_a_job_never_leased_is_ignored(void **state)
{
    store_fixture_t *f = *state;
    int64_t ret = add_shipment(f, 1, "return", "created");
    wire_msg_t m;
    store_tx_t *tx = NULL;
    char sql[128];
    int64_t lease;

    for (lease = 0; lease < 2; lease++) {
        wire_msg_init(&m);
        m.cmd = WIRE_RESULT;
        snprintf(sql, sizeof sql, "SELECT id FROM jobs WHERE kind = 'book' AND shipment_id = %lld", (long long)ret);
        m.job_id = sql_int(f, sql);
        m.lease = lease;
        m.outcome = WIRE_OK;
        m.data = json_pack("{s:s}", "carrier_ref", "FORGED-BY-ROGUE");
        assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
        assert_int_equal(sink_job_result(tx, &m, &policy, 2000), STORE_OK);
        assert_int_equal(store_tx_commit(&tx), STORE_OK);
        wire_msg_clear(&m);
    }
    assert_string_equal(ship(f, ret).status, "created");
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM shipments WHERE carrier_ref = 'FORGED-BY-ROGUE'"), 0);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'book' AND state = 'ready'"), 1);
}

static void
test_booked(void **state)
{
    store_fixture_t *f = *state;
    int64_t ret = add_shipment(f, 1, "return", "created"), send = add_shipment(f, 2, "send", "created");
    store_shipment_t s;
    json_t *payload, *head;
    store_tx_t *tx = NULL;
    char hash[STORE_HASH_HEX_LEN];
    int64_t count;
    char *text;
    sqlite3_stmt *st;

    assert_int_equal(book_result(f, ret), STORE_OK);
    assert_int_equal(book_result(f, send), STORE_OK);
    s = ship(f, ret);
    assert_string_equal(s.status, "booked");
    assert_string_equal(s.carrier_ref, "VNPX-BOOKED");
    assert_true(s.next_poll_at > 0);
    assert_string_equal(ship(f, send).status, "pickup_pending");
    /* a second result for the same booking changes nothing (the job is done) */
    assert_int_equal(book_result(f, ret), STORE_OK);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline WHERE shipment_id = 1"), 1); /* ret */
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'book' AND state = 'done'"), 2);

    /* the return leg's booking is told to the case system, with the timeline's sealed head */
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify'"), 1);
    assert_int_equal(sqlite3_prepare_v2(db_handle(writer(f)), "SELECT payload FROM jobs WHERE kind = 'notify'", -1,
                                        &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    text = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    payload = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(payload);
    assert_string_equal(json_string_value(json_object_get(json_object_get(payload, "body"), "TrangThaiHoSo")), "9");
    /* the channel and the delivery of the result are the public post (design §1) */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(payload, "body"), "KenhThucHien")), 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(payload, "body"), "HinhThucTra")), "1");
    head = json_object_get(json_object_get(payload, "body"), "timeline_head");
    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_timeline_head(tx, s.dossier_id, &count, hash), STORE_OK);
    store_tx_abort(&tx);
    if (json_integer_value(json_object_get(head, "count")) != count ||
        strcmp(json_string_value(json_object_get(head, "hash")), hash) != 0)
        fail_msg("got timeline_head %lld %s, want %lld %s", (long long)json_integer_value(json_object_get(head, "count")),
                 json_string_value(json_object_get(head, "hash")), (long long)count, hash);
    json_decref(payload);
    assert_chain_valid(f, s.dossier_id);
}

/* retry_result - a retry (pause: the carrier refused the gateway's credentials) of ship_id's
 * booking, its job on its last allowed attempt */
static store_rc_t
retry_result(store_fixture_t *f, int64_t ship_id, int pause)
{
    wire_msg_t m;
    store_tx_t *tx = NULL;
    char sql[160];
    store_rc_t r;

    wire_msg_init(&m);
    m.cmd = WIRE_RESULT;
    snprintf(sql, sizeof sql, "SELECT id FROM jobs WHERE kind = 'book' AND shipment_id = %lld", (long long)ship_id);
    m.job_id = sql_int(f, sql);
    snprintf(sql, sizeof sql, "UPDATE jobs SET state = 'leased', attempts = %d WHERE id = %lld",
             policy.max_attempts_book, (long long)m.job_id);
    assert_int_equal(db_exec(writer(f), sql), SQLITE_OK);
    m.outcome = WIRE_RETRY;
    m.pause = pause;
    snprintf(m.message, sizeof m.message, "%s", pause ? "check carrier.vnpost.password_file" : "HTTP 503");
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    r = sink_job_result(tx, &m, &policy, 2000);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    wire_msg_clear(&m);
    return r;
}

/* a pause never kills the job nor counts its attempt; a retry past the limit kills it and says so
 * on the timeline, the status unchanged */
static void
test_pause_and_dead_booking(void **state)
{
    store_fixture_t *f = *state;
    int64_t a = add_shipment(f, 1, "return", "created"), b = add_shipment(f, 2, "return", "created");

    assert_int_equal(retry_result(f, a, 1), STORE_OK);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE shipment_id = 1 AND state = 'ready'"), 1);
    assert_int_equal(sql_int(f, "SELECT attempts FROM jobs WHERE shipment_id = 1"), policy.max_attempts_book - 1);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline WHERE shipment_id = 1"), 0);
    assert_string_equal(ship(f, a).status, "created");

    assert_int_equal(retry_result(f, b, 0), STORE_OK);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE shipment_id = 2 AND state = 'dead'"), 1);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline WHERE shipment_id = 2 AND text LIKE "
                                "'Bưu điện chưa nhận đơn sau 25 lần thử (HTTP 503)%'"),
                     1);
    assert_string_equal(ship(f, b).status, "created");
}

static void
test_booking_answered_after_carrier_events(void **state)
{
    store_fixture_t *f = *state;
    int64_t id = add_shipment(f, 3, "return", "created");
    store_shipment_t s = ship(f, id);
    carrier_event_t e = event(s.waybill, "7", 3000, "acc");
    store_timeline_list_t list;
    store_tx_t *tx = NULL;
    sink_report_t rep;

    /* a webhook overtook the worker's answer: the item is accepted before we hear of the booking */
    assert_int_equal(apply(f, &e, 1, &rep), STORE_OK);
    assert_string_equal(ship(f, id).status, "accepted");
    assert_int_equal(book_result(f, id), STORE_OK);
    s = ship(f, id);
    assert_string_equal(s.status, "accepted");
    assert_string_equal(s.carrier_ref, "VNPX-BOOKED");
    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_timeline_list(tx, s.dossier_id, &list), STORE_OK);
    store_tx_abort(&tx);
    assert_int_equal(list.n, 2);
    if (strcmp(list.items[0].status, "booked") != 0 || strcmp(list.items[1].status, "accepted") != 0)
        fail_msg("got %s then %s, want booked then accepted", list.items[0].status, list.items[1].status);
    store_timeline_list_free(&list);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify' AND payload LIKE '%\"booked\"%'"),
                     1);
    assert_chain_valid(f, s.dossier_id);
}

/* ---------------------------------------------------------------- statuses */

static void
test_each_normalized_status(void **state)
{
    static const struct {
        const char *raw, *want;
    } cases[] = {
        { "7", "accepted" },           { "10", "in_transit" },       { "11", "at_delivery_office" },
        { "12", "out_for_delivery" },  { "14", "delivered" },        { "15", "delivery_failed" },
        { "17", "returning" },         { "19", "returned" },
    };
    store_fixture_t *f = *state;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t id = add_shipment(f, 10 + (int)i, "return", "booked");
        store_shipment_t s = ship(f, id);
        carrier_event_t e = event(s.waybill, cases[i].raw, 3000, NULL);
        sink_report_t rep;

        assert_int_equal(apply(f, &e, 1, &rep), STORE_OK);
        s = ship(f, id);
        if (strcmp(s.status, cases[i].want) != 0 || rep.status_changes != 1)
            fail_msg("raw %s: got %s (%d changes), want %s", cases[i].raw, s.status, rep.status_changes,
                     cases[i].want);
        assert_int_equal(s.status_time, 3000);
        if (strcmp(cases[i].want, "accepted") == 0 && s.due_at <= 3000)
            fail_msg("accepted: got due_at %lld, want a due date after acceptance", (long long)s.due_at);
        if (strcmp(cases[i].want, "delivery_failed") == 0 && (s.attempts != 1 || s.last_attempt_at != 3000))
            fail_msg("delivery_failed: got %d attempts, last %lld; want 1 at 3000", s.attempts,
                     (long long)s.last_attempt_at);
        if (strcmp(cases[i].want, "delivered") == 0 && s.first_attempt_at != 3000)
            fail_msg("delivered: got first attempt %lld, want 3000", (long long)s.first_attempt_at);
        if (status_is_terminal(cases[i].want) != (s.next_poll_at == 0))
            fail_msg("%s: got next poll %lld; a final status stops polling, others poll", cases[i].want,
                     (long long)s.next_poll_at);
        assert_chain_valid(f, s.dossier_id);
    }
}

static void
test_terminal_never_moves_back(void **state)
{
    store_fixture_t *f = *state;
    int64_t id = add_shipment(f, 30, "return", "booked");
    store_shipment_t s = ship(f, id);
    carrier_event_t ev[2] = { event(s.waybill, "14", 3000, "d"), event(s.waybill, "12", 4000, "late") };
    sink_report_t rep;
    json_t *d;

    assert_int_equal(apply(f, ev, 2, &rep), STORE_OK);
    assert_int_equal(rep.applied, 2);
    assert_int_equal(rep.status_changes, 1);
    assert_string_equal(ship(f, id).status, "delivered");
    d = last_details(f, s.dossier_id, NULL, 0);
    assert_non_null(strstr(json_string_value(json_object_get(d, "note")), "final"));
    json_decref(d);
    /* nor does a gateway decision move it */
    {
        store_tx_t *tx = NULL;
        int64_t before = sql_int(f, "SELECT COUNT(*) FROM timeline");

        assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
        assert_int_equal(sink_set_status(tx, id, "returning", NULL, 9000, "gateway", "x", NULL, &policy, 9000),
                         STORE_CONFLICT);
        assert_int_equal(store_tx_commit(&tx), STORE_OK);
        assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline"), before);
    }
}

static void
test_out_of_order_kept_status_unchanged(void **state)
{
    store_fixture_t *f = *state;
    int64_t id = add_shipment(f, 31, "return", "booked");
    store_shipment_t s = ship(f, id);
    carrier_event_t ev[2] = { event(s.waybill, "12", 4000, "late"), event(s.waybill, "10", 3000, "early") };
    sink_report_t rep;
    store_timeline_list_t list;
    store_tx_t *tx = NULL;

    assert_int_equal(apply(f, ev, 2, &rep), STORE_OK);
    assert_int_equal(rep.applied, 2);
    assert_int_equal(rep.status_changes, 1);
    assert_string_equal(ship(f, id).status, "out_for_delivery");
    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_timeline_list(tx, s.dossier_id, &list), STORE_OK);
    store_tx_abort(&tx);
    /* carrier-time order: the early event first, with its note */
    assert_int_equal(list.n, 2);
    assert_string_equal(list.items[0].raw_code, "10");
    assert_non_null(strstr(list.items[0].details, "older than the current status"));
    store_timeline_list_free(&list);
}

static void
test_unknown_code_kept_raw(void **state)
{
    store_fixture_t *f = *state;
    int64_t id = add_shipment(f, 32, "return", "booked");
    store_shipment_t s = ship(f, id);
    carrier_event_t e = event(s.waybill, "99", 3000, "x99");
    sink_report_t rep;
    char status[24];
    json_t *d;

    assert_int_equal(apply(f, &e, 1, &rep), STORE_OK);
    assert_int_equal(rep.unknown_code, 1);
    assert_int_equal(rep.status_changes, 0);
    assert_string_equal(ship(f, id).status, "booked");
    d = last_details(f, s.dossier_id, status, sizeof status);
    assert_string_equal(status, "");
    json_decref(d);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline WHERE raw_code = '99' AND status IS NULL"), 1);
}

static void
test_duplicates_deduplicated(void **state)
{
    store_fixture_t *f = *state;
    int64_t id = add_shipment(f, 33, "return", "booked");
    store_shipment_t s = ship(f, id);
    carrier_event_t ev[4] = { event(s.waybill, "10", 3000, "e1"), event(s.waybill, "10", 3000, "e1"),
                              event(s.waybill, "11", 3500, NULL), event(s.waybill, "11", 3500, NULL) };
    sink_report_t rep;

    assert_int_equal(apply(f, ev, 4, &rep), STORE_OK);
    if (rep.applied != 2 || rep.duplicates != 2)
        fail_msg("got %d applied, %d duplicates; want 2 and 2 (by event id and by content)", rep.applied,
                 rep.duplicates);
    assert_int_equal(apply(f, ev, 4, &rep), STORE_OK);
    assert_int_equal(rep.duplicates, 4);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline"), 2);
    assert_chain_valid(f, s.dossier_id);
}

static void
test_event_for_cancelled_is_a_note(void **state)
{
    store_fixture_t *f = *state;
    int64_t id = add_shipment(f, 34, "return", "cancelled");
    store_shipment_t s = ship(f, id);
    carrier_event_t e = event(s.waybill, "12", 3000, "c1");
    sink_report_t rep;
    json_t *d;

    assert_int_equal(apply(f, &e, 1, &rep), STORE_OK);
    assert_int_equal(rep.applied, 1);
    assert_int_equal(rep.status_changes, 0);
    assert_string_equal(ship(f, id).status, "cancelled");
    d = last_details(f, s.dossier_id, NULL, 0);
    assert_non_null(strstr(json_string_value(json_object_get(d, "note")), "final"));
    json_decref(d);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify'"), 0);
}

static void
test_unknown_shipment_counted(void **state)
{
    store_fixture_t *f = *state;
    carrier_event_t e = event("RR999999999VN", "12", 3000, "u1");
    sink_report_t rep;

    assert_int_equal(apply(f, &e, 1, &rep), STORE_OK);
    assert_int_equal(rep.unknown_ship, 1);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline"), 0);
}

/* ---------------------------------------------------------------- details are JSON */

static void
test_details_are_json_whatever_the_carrier_sends(void **state)
{
    store_fixture_t *f = *state;
    int64_t id = add_shipment(f, 35, "return", "booked"), id2 = add_shipment(f, 36, "return", "booked");
    store_shipment_t s = ship(f, id), s2 = ship(f, id2);
    carrier_event_t failed = event(s.waybill, "15", 3000, "f1"), del = event(s.waybill, "14", 4000, "d1"),
                    del2 = event(s2.waybill, "14", 4000, "d2");
    sink_report_t rep;
    json_t *d, *proof;
    store_tx_t *tx = NULL;
    store_proof_t p;
    size_t i;

    /* a reason and a name that double in size once escaped */
    for (i = 0; i + 1 < sizeof failed.reason; i++)
        failed.reason[i] = i % 2 ? '"' : '\\';
    for (i = 0; i + 1 < sizeof failed.raw_name; i++)
        failed.raw_name[i] = '"';
    snprintf(del.receiver_relation, sizeof del.receiver_relation, "self");
    snprintf(del.receiver_id_type, sizeof del.receiver_id_type, "CCCD");
    snprintf(del.receiver_id_last4, sizeof del.receiver_id_last4, "5\"ab");
    assert_int_equal(apply(f, &failed, 1, &rep), STORE_OK);
    d = last_details(f, s.dossier_id, NULL, 0);
    if (strcmp(json_string_value(json_object_get(d, "reason")), failed.reason) != 0)
        fail_msg("got reason of %zu bytes, want all %zu", strlen(json_string_value(json_object_get(d, "reason"))),
                 strlen(failed.reason));
    json_decref(d);

    assert_int_equal(apply(f, &del, 1, &rep), STORE_OK);
    d = last_details(f, s.dossier_id, NULL, 0);
    proof = json_object_get(d, "proof");
    if (!json_is_object(proof))
        fail_msg("got details without a proof: the proof of delivery disappeared");
    assert_string_equal(json_string_value(json_object_get(proof, "relation")), "self");
    assert_null(json_object_get(proof, "id_last4"));
    assert_non_null(json_object_get(proof, "note"));
    json_decref(d);
    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_shipments_get_proof(tx, id, &p), STORE_OK);
    store_tx_abort(&tx);
    assert_string_equal(p.id_last4, "");
    assert_string_equal(p.name, "Nguyễn Văn An"); /* "self": the recipient of the submission */

    snprintf(del2.receiver_relation, sizeof del2.receiver_relation, "authorised");
    snprintf(del2.receiver_name, sizeof del2.receiver_name, "Trần Thị \"Bé\"");
    snprintf(del2.receiver_id_type, sizeof del2.receiver_id_type, "CCCD");
    snprintf(del2.receiver_id_last4, sizeof del2.receiver_id_last4, "1234");
    assert_int_equal(apply(f, &del2, 1, &rep), STORE_OK);
    d = details_with(f, s2.dossier_id, "proof");
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "proof"), "id_last4")), "1234");
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "proof"), "relation")), "authorised");
    json_decref(d);
    /* this dossier names no authorised person: the proof is flagged, once, after the delivery */
    d = last_details(f, s2.dossier_id, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "proof_mismatch");
    json_decref(d);
    /* the case system learns who received it, quotes and all, in valid JSON */
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify' AND json_valid(payload)"
                                " AND json_extract(payload, '$.body.NoiDungXuLy') LIKE '%Trần Thị \"Bé\"%1234%'"),
                     1);
    assert_chain_valid(f, s.dossier_id);
}

/* ---------------------------------------------------------------- failure injection */

static void
test_batch_failing_at_each_step_leaves_nothing(void **state)
{
    store_fixture_t *f = *state;
    int64_t id = add_shipment(f, 40, "return", "booked");
    store_shipment_t s = ship(f, id);
    carrier_event_t ev[3] = { event(s.waybill, "7", 3000, "a"), event(s.waybill, "10", 3500, "b"),
                              event(s.waybill, "14", 4000, "c") };
    carrier_event_list_t list = { ev, 3, 3 };
    int64_t events_before = sql_int(f, "SELECT COUNT(*) FROM timeline"),
            jobs_before = sql_int(f, "SELECT COUNT(*) FROM jobs");
    long n;

    snprintf(ev[2].receiver_relation, sizeof ev[2].receiver_relation, "self");
    for (n = 1; n < 500; n++) {
        store_tx_t *tx = NULL;
        sink_report_t rep;
        store_rc_t r;

        memset(&rep, 0, sizeof rep);
        assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
        db_fail_at(n);
        r = sink_carrier_events(tx, carrier_find("vnpost"), &list, &policy, 5000, &rep);
        db_fail_at(0);
        if (r == STORE_OK) {
            assert_int_equal(store_tx_commit(&tx), STORE_OK);
            break;
        }
        if (r != STORE_BUSY)
            fail_msg("step %ld: got %s (%s), want busy", n, store_rc_name(r), store_tx_message(tx));
        if (!strstr(store_tx_message(tx), "retry later"))
            fail_msg("step %ld: got message '%s', want one that says to retry", n, store_tx_message(tx));
        store_tx_abort(&tx);
        s = ship(f, id);
        if (strcmp(s.status, "booked") != 0 || sql_int(f, "SELECT COUNT(*) FROM timeline") != events_before ||
            sql_int(f, "SELECT COUNT(*) FROM jobs") != jobs_before || s.due_at != 0)
            fail_msg("step %ld: something was half-written (status %s)", n, s.status);
    }
    if (n < 3)
        fail_msg("got success at step %ld; the batch has more steps than that", n);
    s = ship(f, id);
    assert_string_equal(s.status, "delivered");
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline") - events_before, 3);
    assert_chain_valid(f, s.dossier_id);
}

/* notify_body - the body of the nth (1-based, in id order) notify job; caller owns */
static json_t *
notify_body(store_fixture_t *f, int nth)
{
    sqlite3_stmt *st = NULL;
    json_t *payload, *body;
    int i;

    assert_int_equal(sqlite3_prepare_v2(db_handle(writer(f)), "SELECT payload FROM jobs WHERE kind = 'notify' ORDER BY id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (i = 0; i < nth; i++)
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    payload = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    sqlite3_finalize(st);
    assert_non_null(payload);
    body = json_incref(json_object_get(payload, "body"));
    json_decref(payload);
    return body;
}

/* send leg (QĐ 45 Điều 7.4): the carrier's delivered is not told to the case system; the officer's
 * receipt at the desk is, as DVC 2 with NgayTiepNhan, and it is on the timeline (source clerk) */
static void
test_send_leg_receipt_is_the_submission(void **state)
{
    store_fixture_t *f = *state;
    int64_t at_desk = add_shipment(f, 1, "send", "out_for_delivery"), done = add_shipment(f, 2, "send", "out_for_delivery");
    carrier_event_t ev = event("RR10000002VN", "14", 4000, "d2");
    sink_report_t rep;
    store_tx_t *tx = NULL;
    json_t *body, *details;
    char status[32], when[16];

    assert_int_equal(apply(f, &ev, 1, &rep), STORE_OK);
    assert_string_equal(ship(f, done).status, "delivered");
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify'"), 0);

    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(sink_receive(tx, at_desk, "Nguyễn Văn An", "TN-20251124-AAAAAAAA", &policy, 6000), STORE_OK);
    assert_int_equal(sink_receive(tx, done, "Nguyễn Văn An", "TN-20251124-AAAAAAAA", &policy, 6000), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    assert_string_equal(ship(f, at_desk).status, "delivered");
    assert_string_equal(ship(f, done).status, "delivered");
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'notify'"), 2);
    clock_format(6000, CLOCK_DVC, when, sizeof when);
    body = notify_body(f, 1);
    assert_string_equal(json_string_value(json_object_get(body, "TrangThaiHoSo")), "2");
    assert_string_equal(json_string_value(json_object_get(body, "NgayTiepNhan")), when);
    assert_string_equal(json_string_value(json_object_get(body, "status")), "received");
    assert_non_null(strstr(json_string_value(json_object_get(body, "NoiDungXuLy")), "Nguyễn Văn An"));
    json_decref(body);
    details = last_details(f, ship(f, done).dossier_id, status, sizeof status);
    assert_string_equal(status, "delivered");
    assert_string_equal(json_string_value(json_object_get(details, "receipt")), "TN-20251124-AAAAAAAA");
    json_decref(details);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline WHERE source = 'clerk'"), 2);
    assert_chain_valid(f, ship(f, at_desk).dossier_id);
    assert_chain_valid(f, ship(f, done).dossier_id);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_booked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_result_for_a_job_never_leased_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_leg_receipt_is_the_submission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_and_dead_booking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_booking_answered_after_carrier_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_normalized_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminal_never_moves_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_kept_status_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_code_kept_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_deduplicated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_for_cancelled_is_a_note, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_shipment_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_details_are_json_whatever_the_carrier_sends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_failing_at_each_step_leaves_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
