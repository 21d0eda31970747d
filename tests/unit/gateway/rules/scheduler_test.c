/*
 * scheduler_test - the scheduler's duties on a temporary store, without processes:
 * tracking polls (due, capped per carrier), failed-delivery invitations (spacing, then the
 * return), the SLA breach (recorded once), and a tick failed at its Nth step
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/rules/scheduler.h"
#include "gateway/store/sqlite/db.h"
#include "gateway/store/sqlite/jobs.h"
#include "gateway/store/sqlite/sqlite_access.h"
#include "gateway/store/store_shipments.h"
#include "gateway/store/store_timeline.h"
#include "tests/unit/support/store_fixture.h"

#define DAY 86400000LL

static const sink_policy_t policy = { .max_attempts_book = 25, .poll_min_ms = 1000 };

static int64_t
sql_int(store_fixture_t *f, const char *text)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(db_handle(store_writer(f->store)), text, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* add_shipment - dossier n, one return shipment; extra is "col = value, …" applied after */
static int64_t
add_shipment(store_fixture_t *f, int n, const char *status, const char *extra)
{
    db_t *db = store_writer(f->store);
    char text[1024];
    int64_t id;
    int rc;

    snprintf(text, sizeof text, "INSERT INTO dossiers (code, agency_code, created_at) VALUES"
                                " ('000.00.31.H23-231124-%04d', 'a', 0);"
                                "INSERT INTO submissions (dossier_id, service, body, body_hash, created_at) VALUES"
                                " (last_insert_rowid(), 'return', '{}', 'h%d', 0);",
             n, n);
    assert_int_equal(db_exec(db, text), SQLITE_OK);
    snprintf(text, sizeof text, "INSERT INTO shipments (dossier_id, submission_id, leg, carrier, waybill, carrier_ref,"
                                " status, status_time, created_at, updated_at) SELECT dossier_id, id, 'return',"
                                " 'vnpost', 'RR1%07dVN', 'VNPX%d', '%s', 0, 0, 0 FROM submissions WHERE id ="
                                " last_insert_rowid()",
             n, n, status);
    assert_int_equal(db_exec(db, text), SQLITE_OK);
    id = sqlite3_last_insert_rowid(db_handle(db));
    snprintf(text, sizeof text, "UPDATE shipments SET %s WHERE id = %lld", extra, (long long)id);
    assert_int_equal(db_exec(db, text), SQLITE_OK);
    assert_int_equal(jobs_enqueue(db, "book", id, "", "vnpost", "{\"waybill\":\"x\"}", 0, 0, &rc), 0);
    return id;
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

static scheduler_report_t
tick(store_fixture_t *f, const scheduler_config_t *cfg, int64_t now)
{
    scheduler_report_t rep;
    store_tx_t *tx = NULL;

    memset(&rep, 0, sizeof rep);
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    if (scheduler_tick(tx, cfg, now, &rep) != STORE_OK)
        fail_msg("tick at %lld: got %s", (long long)now, store_tx_message(tx));
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    return rep;
}

static int
setup(void **state)
{
    store_fixture_t *f = calloc(1, sizeof *f);

    if (!f || store_fixture_open(f) != 0)
        return -1;
    store_set_chain_key(f->store, "scheduler-test", 14);
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

static void
test_polls_due_and_capped(void **state)
{
    store_fixture_t *f = *state;
    scheduler_config_t cfg = { .policy = &policy, .poll_cap = 1, .batch = 50 };
    int64_t a = add_shipment(f, 1, "in_transit", "next_poll_at = 1000"),
            b = add_shipment(f, 2, "in_transit", "next_poll_at = 1500"),
            later = add_shipment(f, 3, "in_transit", "next_poll_at = 99000"),
            final = add_shipment(f, 4, "delivered", "next_poll_at = 1000");
    scheduler_report_t rep = tick(f, &cfg, 2000);

    /* two are due, the carrier takes one poll at a time: one queued, both wait for the next turn */
    if (rep.polls != 1)
        fail_msg("got %d polls, want 1 (poll_cap 1)", rep.polls);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'track'"), 1);
    assert_int_equal(sql_int(f, "SELECT shipment_id FROM jobs WHERE kind = 'track'"), a);
    assert_true(ship(f, a).next_poll_at > 2000);
    assert_true(ship(f, b).next_poll_at > 2000);
    assert_int_equal(ship(f, later).next_poll_at, 99000);
    assert_int_equal(ship(f, final).next_poll_at, 1000); /* a final status is never polled */
    /* nothing is due again at the same moment */
    rep = tick(f, &cfg, 2000);
    assert_int_equal(rep.polls, 0);
}

static void
test_invitations_spaced_then_returned(void **state)
{
    store_fixture_t *f = *state;
    scheduler_config_t cfg = { .policy = &policy, .poll_cap = 10, .invitation_gap_ms = 1000, .batch = 50 };
    int64_t id = add_shipment(f, 5, "delivery_failed", "attempts = 1, last_attempt_at = 10000, status_time = 10000");
    static const struct {
        int64_t now;
        int invitations, returns, attempts;
        const char *status;
    } steps[] = {
        { 10500, 0, 0, 1, "delivery_failed" }, /* too soon after the failed attempt */
        { 11000, 1, 0, 2, "delivery_failed" }, /* the second invitation */
        { 11500, 0, 0, 2, "delivery_failed" }, /* too soon after it */
        { 12000, 0, 1, 2, "returning" },       /* invited twice, spaced: the result goes back */
        { 20000, 0, 0, 2, "returning" },       /* and only once */
    };
    size_t i;

    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        scheduler_report_t rep = tick(f, &cfg, steps[i].now);
        store_shipment_t s = ship(f, id);

        if (rep.invitations != steps[i].invitations || rep.returns != steps[i].returns ||
            s.attempts != steps[i].attempts || strcmp(s.status, steps[i].status) != 0)
            fail_msg("at %lld: got %d invitations, %d returns, %d attempts, %s; want %d, %d, %d, %s",
                     (long long)steps[i].now, rep.invitations, rep.returns, s.attempts, s.status,
                     steps[i].invitations, steps[i].returns, steps[i].attempts, steps[i].status);
    }
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline WHERE text LIKE 'Gửi giấy mời lần 2%'"
                                " AND json_extract(details, '$.kind') = 'invitation'"),
                     1);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline WHERE status = 'returning'"), 1);
}

static void
test_sla_breach_recorded_once(void **state)
{
    store_fixture_t *f = *state;
    scheduler_config_t cfg = { .policy = &policy, .poll_cap = 10, .batch = 50 };
    int64_t late = add_shipment(f, 6, "in_transit", "due_at = 1000"),
            on_time = add_shipment(f, 7, "in_transit", "due_at = 1000, first_attempt_at = 900"),
            not_yet = add_shipment(f, 8, "in_transit", "due_at = 172801000"); /* 1000 + 2 days */
    scheduler_report_t rep;

    /* the due day is not over yet */
    assert_int_equal(tick(f, &cfg, 1000 + DAY - 1).sla_breaches, 0);
    rep = tick(f, &cfg, 1000 + DAY);
    assert_int_equal(rep.sla_breaches, 1);
    assert_int_equal(ship(f, late).sla_breached, 1);
    assert_int_equal(ship(f, on_time).sla_breached, 0);
    assert_int_equal(ship(f, not_yet).sla_breached, 0);
    assert_int_equal(tick(f, &cfg, 1000 + 2 * DAY - 1).sla_breaches, 0);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline WHERE status = 'sla_breached'"), 1);
    assert_int_equal(tick(f, &cfg, 1000 + 3 * DAY).sla_breaches, 1); /* not_yet's turn */
}

static void
test_tick_failing_at_each_step_leaves_nothing(void **state)
{
    store_fixture_t *f = *state;
    scheduler_config_t cfg = { .policy = &policy, .poll_cap = 10, .invitation_gap_ms = 1000, .batch = 50 };
    int64_t now = 1000 + DAY;
    long n;

    add_shipment(f, 9, "in_transit", "next_poll_at = 1000");
    add_shipment(f, 10, "delivery_failed", "attempts = 1, last_attempt_at = 1000");
    add_shipment(f, 11, "delivery_failed", "attempts = 2, last_attempt_at = 1000");
    add_shipment(f, 12, "in_transit", "due_at = 1000");
    for (n = 1; n < 500; n++) {
        scheduler_report_t rep;
        store_tx_t *tx = NULL;
        store_rc_t r;

        memset(&rep, 0, sizeof rep);
        assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
        db_fail_at(n);
        r = scheduler_tick(tx, &cfg, now, &rep);
        db_fail_at(0);
        if (r == STORE_OK) {
            assert_int_equal(store_tx_commit(&tx), STORE_OK);
            if (rep.polls != 1 || rep.invitations != 1 || rep.returns != 1 || rep.sla_breaches != 1)
                fail_msg("got %d polls, %d invitations, %d returns, %d breaches; want one of each", rep.polls,
                         rep.invitations, rep.returns, rep.sla_breaches);
            break;
        }
        if (r != STORE_BUSY)
            fail_msg("step %ld: got %s (%s), want busy", n, store_rc_name(r), store_tx_message(tx));
        store_tx_abort(&tx);
        if (sql_int(f, "SELECT COUNT(*) FROM timeline") != 0 ||
            sql_int(f, "SELECT COUNT(*) FROM jobs WHERE kind != 'book'") != 0 ||
            sql_int(f, "SELECT SUM(attempts) FROM shipments") != 3 ||
            sql_int(f, "SELECT SUM(sla_breached) FROM shipments") != 0 ||
            sql_int(f, "SELECT COUNT(*) FROM shipments WHERE next_poll_at = 1000") != 1)
            fail_msg("step %ld: something was half-written", n);
    }
    if (n < 5)
        fail_msg("got success at step %ld; a tick has more steps than that", n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_polls_due_and_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invitations_spaced_then_returned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_breach_recorded_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tick_failing_at_each_step_leaves_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
