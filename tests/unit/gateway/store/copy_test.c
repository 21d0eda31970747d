/*
 * copy_test - store_copy between two SQLite stores: every table and value (NULLs, quotes,
 * ids) arrives, chains verify in the target, a non-empty target is refused, a chain that
 * does not verify or a table the copy does not know leaves the target empty
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gateway/store/sqlite/db.h"
#include "gateway/store/sqlite/sqlite_access.h"
#include "gateway/store/store_admin.h"
#include "gateway/store/store_copy.h"
#include "gateway/store/store_timeline.h"
#include "tests/unit/support/store_fixture.h"

static const char KEY[] = "copy-test-key";

static void
sql(store_fixture_t *f, const char *text)
{
    if (db_exec(store_writer(f->store), text) != SQLITE_OK)
        fail_msg("got '%s' from %s", db_errmsg(store_writer(f->store)), text);
}

/* sql_text - the first column of the first row as text ("<null>" for NULL) */
static void
sql_text(store_fixture_t *f, const char *query, char *out, size_t outlen)
{
    sqlite3_stmt *st = NULL;

    assert_int_equal(sqlite3_prepare_v2(db_handle(store_writer(f->store)), query, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, outlen, "%s",
             sqlite3_column_type(st, 0) == SQLITE_NULL ? "<null>" : (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static void
seed(store_fixture_t *f)
{
    store_timeline_event_t ev;
    store_tx_t *tx = NULL;
    int i;

    sql(f, "INSERT INTO dossiers (id, code, agency_code, created_at) VALUES (7, '000.00.31.H23-251124-00001',"
           " '000.00.31.H23', 100)");
    sql(f, "INSERT INTO code_ranges (id, prefix, country, first, last, next, imported_at) VALUES (3, 'RR', 'VN', 1,"
           " 99, 5, 100)");
    sql(f, "INSERT INTO metrics (name, value) VALUES ('it''s', 42)");
    /* a remittance statement whose one line names no shipment (NULL shipment_id) */
    sql(f, "INSERT INTO remittances (id, carrier, statement_id, agency_code, content_hash, created_by, created_at)"
           " VALUES (4, 'vnpost', 'ST-1', '', 'h', 'admin', 100)");
    sql(f, "INSERT INTO remittance_lines (remittance_id, position, waybill, shipment_id, amount, remitted_at)"
           " VALUES (4, 1, 'RR999999995VN', NULL, 9000, 200)");
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_admin_token_create(tx, "desk", "clerk", NULL, "aa", 100), STORE_OK);
    for (i = 0; i < 3; i++) {
        memset(&ev, 0, sizeof ev);
        ev.dossier_id = 7;
        ev.event_time = 200 + i;
        ev.received_at = 300;
        ev.source = "carrier";
        ev.status = i == 1 ? NULL : "in_transit";
        ev.text = "Đang vận chuyển \"nhanh\"";
        assert_int_equal(store_timeline_append(tx, &ev), STORE_OK);
    }
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
}

static long long
table_rows(const store_copy_report_t *r, const char *name)
{
    int i;

    for (i = 0; i < r->ntables; i++)
        if (strcmp(r->tables[i].name, name) == 0)
            return r->tables[i].rows;
    fail_msg("no table %s in the report", name);
    return -1;
}

static void
test_copy_then_refuse_a_non_empty_target(void **state)
{
    store_fixture_t a, b;
    store_copy_report_t rep;
    store_tx_t *tx = NULL;
    char err[512], v[256], why[256];

    (void)state;
    if (!store_fixture_sqlite())
        skip(); /* seeds and reads the SQLite file itself; test_store_copy.py copies to and from PostgreSQL */
    assert_int_equal(store_fixture_open(&a), 0);
    assert_int_equal(store_fixture_open(&b), 0);
    assert_int_equal(store_set_chain_key(a.store, KEY, strlen(KEY)), STORE_OK); /* one key per process */
    seed(&a);
    assert_int_equal(store_copy(a.store, b.store, &rep, err, sizeof err), STORE_OK);
    assert_int_equal(rep.ntables, 14);
    assert_int_equal(table_rows(&rep, "remittances"), 1);
    assert_int_equal(table_rows(&rep, "remittance_lines"), 1);
    assert_int_equal(table_rows(&rep, "dossiers"), 1);
    assert_int_equal(table_rows(&rep, "timeline"), 3);
    assert_int_equal(table_rows(&rep, "tokens"), 1);
    assert_int_equal(table_rows(&rep, "shipments"), 0);
    assert_int_equal(rep.chains, 1);

    /* ids, NULLs, quotes and numbers as they were */
    sql_text(&b, "SELECT code FROM dossiers WHERE id = 7", v, sizeof v);
    assert_string_equal(v, "000.00.31.H23-251124-00001");
    sql_text(&b, "SELECT status FROM timeline WHERE dossier_id = 7 AND seq = 2", v, sizeof v);
    assert_string_equal(v, "<null>");
    sql_text(&b, "SELECT text FROM timeline WHERE seq = 1", v, sizeof v);
    assert_string_equal(v, "Đang vận chuyển \"nhanh\"");
    sql_text(&b, "SELECT typeof(value) || ':' || value FROM metrics WHERE name = 'it''s'", v, sizeof v);
    assert_string_equal(v, "integer:42");
    sql_text(&b, "SELECT next FROM code_ranges WHERE id = 3", v, sizeof v);
    assert_string_equal(v, "5");
    assert_int_equal(store_tx_begin(b.store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_timeline_verify(tx, 7, why, sizeof why), STORE_OK);
    store_tx_abort(&tx);

    /* a target holding any row is refused, and keeps what it held */
    assert_int_equal(store_copy(a.store, b.store, &rep, err, sizeof err), STORE_CONFLICT);
    assert_non_null(strstr(err, "is not empty: table dossiers has 1 row(s)"));
    sql_text(&b, "SELECT COUNT(*) FROM timeline", v, sizeof v);
    assert_string_equal(v, "3");
    assert_int_equal(store_copy(a.store, a.store, &rep, err, sizeof err), STORE_CONFLICT);
    assert_non_null(strstr(err, "the same store"));
    store_fixture_close(&b);
    store_fixture_close(&a);
}

static void
test_failed_checks_leave_the_target_empty(void **state)
{
    store_fixture_t a, b;
    store_copy_report_t rep;
    char err[512], v[64];

    (void)state;
    if (!store_fixture_sqlite())
        skip(); /* seeds and reads the SQLite file itself; test_store_copy.py copies to and from PostgreSQL */
    assert_int_equal(store_fixture_open(&a), 0);
    assert_int_equal(store_fixture_open(&b), 0);
    assert_int_equal(store_set_chain_key(a.store, KEY, strlen(KEY)), STORE_OK); /* one key per process */
    seed(&a);
    /* verified with another key (another gateway's secret): the chain does not hold */
    assert_int_equal(store_set_chain_key(a.store, "another", 7), STORE_OK);
    assert_int_equal(store_copy(a.store, b.store, &rep, err, sizeof err), STORE_CONFLICT);
    assert_non_null(strstr(err, "does not verify after copying"));
    sql_text(&b, "SELECT COUNT(*) FROM dossiers", v, sizeof v);
    assert_string_equal(v, "0");
    assert_int_equal(store_set_chain_key(a.store, KEY, strlen(KEY)), STORE_OK);

    /* a table the copy does not know would be lost: nothing is copied */
    sql(&a, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
    assert_int_equal(store_copy(a.store, b.store, &rep, err, sizeof err), STORE_ERROR);
    assert_non_null(strstr(err, "has a table 'notes' that store copy does not know"));
    sql_text(&b, "SELECT COUNT(*) FROM timeline", v, sizeof v);
    assert_string_equal(v, "0");
    store_fixture_close(&b);
    store_fixture_close(&a);
}

/* the other backend's own bookkeeping (PostgreSQL's S10 blocks and lease owners) is known and
 * left behind; any other difference of schema stops the copy */
static void
test_backend_bookkeeping_is_left_behind(void **state)
{
    store_fixture_t a, b;
    store_copy_report_t rep;
    char err[512], v[64];

    (void)state;
    if (!store_fixture_sqlite())
        skip(); /* seeds and reads the SQLite file itself; test_store_copy.py copies to and from PostgreSQL */
    assert_int_equal(store_fixture_open(&a), 0);
    assert_int_equal(store_fixture_open(&b), 0);
    assert_int_equal(store_set_chain_key(a.store, KEY, strlen(KEY)), STORE_OK);
    seed(&a);
    sql(&a, "CREATE TABLE code_blocks (id INTEGER PRIMARY KEY, range_id INTEGER, instance TEXT)");
    sql(&a, "INSERT INTO code_blocks (range_id, instance) VALUES (3, 'a1')");
    sql(&a, "ALTER TABLE jobs ADD COLUMN lease_instance TEXT");
    sql(&a, "INSERT INTO jobs (id, kind, carrier, state, next_attempt_at, payload, created_at, updated_at,"
            " lease_instance) VALUES (5, 'book', 'vnpost', 'leased', 1, '{}', 1, 1, 'a1')");
    assert_int_equal(store_copy(a.store, b.store, &rep, err, sizeof err), STORE_OK);
    assert_int_equal(table_rows(&rep, "jobs"), 1);
    sql_text(&b, "SELECT state || ':' || kind FROM jobs WHERE id = 5", v, sizeof v);
    assert_string_equal(v, "leased:book");
    sql_text(&b, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'code_blocks'", v, sizeof v);
    assert_string_equal(v, "0");
    store_fixture_close(&b);

    /* a column the target lacks and the copy does not know to be droppable: nothing is copied */
    assert_int_equal(store_fixture_open(&b), 0);
    sql(&a, "ALTER TABLE tokens ADD COLUMN note TEXT");
    assert_int_equal(store_copy(a.store, b.store, &rep, err, sizeof err), STORE_ERROR);
    assert_non_null(strstr(err, "the target's table tokens has no column note"));
    sql_text(&b, "SELECT COUNT(*) FROM dossiers", v, sizeof v);
    assert_string_equal(v, "0");
    /* a target holding the other backend's bookkeeping is not empty either */
    sql(&b, "CREATE TABLE code_blocks (id INTEGER PRIMARY KEY, range_id INTEGER, instance TEXT)");
    sql(&b, "INSERT INTO code_blocks (range_id, instance) VALUES (3, 'b1')");
    assert_int_equal(store_copy(a.store, b.store, &rep, err, sizeof err), STORE_CONFLICT);
    assert_non_null(strstr(err, "table code_blocks has 1 row(s)"));
    store_fixture_close(&b);
    store_fixture_close(&a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_then_refuse_a_non_empty_target),
        cmocka_unit_test(test_failed_checks_leave_the_target_empty),
        cmocka_unit_test(test_backend_bookkeeping_is_left_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
