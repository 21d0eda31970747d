/*
 * admin_test - the store's admin area: tokens (create, lookup, revoke, the last admin),
 * purge, COD report, remittance statements, backup; every step of a revocation failing on purpose (SQLite); and on
 * PostgreSQL, two instances on one database: a revocation refused by the other at once, and
 * the last admin token kept when both revoke one at the same time. Runs on the backend
 * BCCI_TEST_STORE picks (store_fixture.h).
 */
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/store/sqlite/db.h"
#include "gateway/store/store_admin.h"
#include "tests/unit/support/store_fixture.h"

#define NOW 1764000000000LL

static void
must_exec(store_fixture_t *f, const char *sql)
{
    if (store_fixture_exec(f, sql) != 0)
        fail_msg("seeding failed (the reason is above) for %s", sql);
}

/* create - one token in its own committed write transaction; the store's answer */
static store_rc_t
create(store_fixture_t *f, const char *name, const char *role, const char *agency, const char *hash)
{
    store_tx_t *tx = NULL;
    store_rc_t rc;

    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    rc = store_admin_token_create(tx, name, role, agency, hash, NOW);
    if (rc == STORE_OK)
        return store_tx_commit(&tx);
    store_tx_abort(&tx);
    return rc;
}

static store_rc_t
revoke_token(store_fixture_t *f, const char *name)
{
    store_tx_t *tx = NULL;
    store_rc_t rc;

    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    rc = store_admin_token_revoke(tx, name, NOW + 1000);
    if (rc == STORE_OK)
        return store_tx_commit(&tx);
    store_tx_abort(&tx);
    return rc;
}

static store_rc_t
lookup(store_fixture_t *f, const char *hash, store_token_t *out)
{
    store_tx_t *tx = NULL;
    store_rc_t rc;

    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    rc = store_admin_token_lookup(tx, hash, out);
    store_tx_abort(&tx);
    return rc;
}

static long long
count(store_fixture_t *f, const char *role)
{
    store_tx_t *tx = NULL;
    long long n = -1;

    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_admin_token_count(tx, role, &n), STORE_OK);
    store_tx_abort(&tx);
    return n;
}

static void
test_tokens(void **state)
{
    static const struct {
        const char *name, *role, *agency, *hash;
        store_rc_t want;
    } creates[] = {
        { "admin", "admin", NULL, "h-admin", STORE_OK },
        { "desk-1", "clerk", "000.00.31.H23", "h-desk", STORE_OK },
        { "post", "post_office", "", "h-post", STORE_OK },
        { "desk-1", "clerk", NULL, "h-other", STORE_CONFLICT }, /* the name is taken */
        { "copy", "clerk", NULL, "h-post", STORE_CONFLICT },    /* the same secret twice */
    };
    store_fixture_t f;
    store_token_t t;
    store_token_list_t list = { 0 };
    store_tx_t *tx = NULL;
    size_t i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    for (i = 0; i < sizeof creates / sizeof creates[0]; i++) {
        store_rc_t got = create(&f, creates[i].name, creates[i].role, creates[i].agency, creates[i].hash);
        if (got != creates[i].want)
            fail_msg("create %s: got %s, want %s", creates[i].name, store_rc_name(got), store_rc_name(creates[i].want));
    }
    assert_int_equal(lookup(&f, "h-desk", &t), STORE_OK);
    if (strcmp(t.name, "desk-1") || strcmp(t.role, "clerk") || strcmp(t.agency_code, "000.00.31.H23"))
        fail_msg("lookup: got %s/%s/%s, want desk-1/clerk/000.00.31.H23", t.name, t.role, t.agency_code);
    assert_int_equal(lookup(&f, "h-post", &t), STORE_OK);
    assert_string_equal(t.agency_code, ""); /* "" is every agency, like NULL */
    assert_int_equal(lookup(&f, "h-nobody", &t), STORE_NOT_FOUND);
    if (count(&f, NULL) != 3 || count(&f, "admin") != 1)
        fail_msg("count: got %lld live (%lld admin), want 3 (1)", count(&f, NULL), count(&f, "admin"));

    assert_int_equal(revoke_token(&f, "desk-1"), STORE_OK);
    assert_int_equal(lookup(&f, "h-desk", &t), STORE_NOT_FOUND);
    assert_int_equal(revoke_token(&f, "desk-1"), STORE_NOT_FOUND); /* no live token of that name */
    assert_int_equal(revoke_token(&f, "nobody"), STORE_NOT_FOUND);

    assert_int_equal(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_admin_token_list(tx, &list), STORE_OK);
    store_tx_abort(&tx);
    if (list.n != 3)
        fail_msg("list: got %zu tokens, want 3 (revoked ones stay listed)", list.n);
    assert_string_equal(list.items[1].name, "desk-1");
    assert_true(list.items[1].revoked_at == NOW + 1000);
    assert_true(list.items[0].revoked_at == 0);
    store_token_list_free(&list);
    store_token_list_free(&list); /* twice is harmless */
    store_fixture_close(&f);
}

static void
test_last_admin_is_never_revoked(void **state)
{
    store_fixture_t f;
    store_token_t t;
    store_tx_t *tx = NULL;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    assert_int_equal(create(&f, "admin", "admin", NULL, "h-admin"), STORE_OK);
    assert_int_equal(create(&f, "desk", "clerk", NULL, "h-desk"), STORE_OK);
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_admin_token_revoke(tx, "admin", NOW), STORE_CONFLICT);
    if (!strstr(store_tx_message(tx), "create another admin token first"))
        fail_msg("message: got '%s', want it to say how to create another admin first", store_tx_message(tx));
    store_tx_abort(&tx);
    assert_int_equal(lookup(&f, "h-admin", &t), STORE_OK);
    /* with a second admin, the first may go; then the second is the last */
    assert_int_equal(create(&f, "admin-2", "admin", NULL, "h-admin-2"), STORE_OK);
    assert_int_equal(revoke_token(&f, "admin"), STORE_OK);
    assert_int_equal(revoke_token(&f, "admin-2"), STORE_CONFLICT);
    assert_int_equal(lookup(&f, "h-admin-2", &t), STORE_OK);
    if (count(&f, "admin") != 1)
        fail_msg("admins: got %lld live, want 1", count(&f, "admin"));
    store_fixture_close(&f);
}

/* the Nth step of a revocation fails: each time a clean STORE_BUSY, and after the abort the
 * token is still live (nothing half-written); at last it succeeds */
static void
test_revoke_fails_cleanly_at_every_step(void **state)
{
    store_fixture_t f;
    store_token_t t;
    long nth;
    int succeeded = 0;

    (void)state;
    STORE_FIXTURE_SQLITE_ONLY(); /* db_fail_at is SQLite's failure injection */
    assert_int_equal(store_fixture_open(&f), 0);
    assert_int_equal(create(&f, "admin", "admin", NULL, "h-admin"), STORE_OK);
    assert_int_equal(create(&f, "admin-2", "admin", NULL, "h-admin-2"), STORE_OK);
    for (nth = 1; nth < 50 && !succeeded; nth++) {
        store_tx_t *tx = NULL;
        store_rc_t rc;

        assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
        db_fail_at(nth);
        rc = store_admin_token_revoke(tx, "admin-2", NOW);
        if (rc == STORE_OK)
            rc = store_tx_commit(&tx);
        db_fail_at(0);
        if (rc == STORE_OK) {
            succeeded = 1;
            break;
        }
        if (rc != STORE_BUSY)
            fail_msg("step %ld failing: got %s (%s), want busy", nth, store_rc_name(rc),
                     tx ? store_tx_message(tx) : "");
        store_tx_abort(&tx);
        if (lookup(&f, "h-admin-2", &t) != STORE_OK || count(&f, "admin") != 2)
            fail_msg("step %ld failing: got the token half revoked, want it live", nth);
    }
    if (!succeeded)
        fail_msg("got no successful revocation in %ld tries, want one", nth);
    if (nth < 3)
        fail_msg("got success at step %ld, want failures injected at several steps first", nth);
    assert_int_equal(lookup(&f, "h-admin-2", &t), STORE_NOT_FOUND);
    store_fixture_close(&f);
}

static void
seed_dossiers(store_fixture_t *f)
{
    /* 1: finished long ago (purge); 2: finished recently (kept); 3: still moving (kept) */
    must_exec(f, "INSERT INTO dossiers (id, code, agency_code, created_at) VALUES"
                 " (1, '000.00.31.H23-231124-0001', '000.00.31.H23', 0),"
                 " (2, '000.00.31.H23-231124-0002', '000.00.31.H23', 0),"
                 " (3, '000.00.31.H24-231124-0003', '000.00.31.H24', 0)");
    must_exec(f, "INSERT INTO submissions (id, dossier_id, service, body, body_hash, created_at) VALUES"
                 " (1, 1, 'return', '{\"recipient\":{\"name\":\"Nguyễn Văn A\",\"phone\":\"0912345678\","
                 "\"address\":\"1 Lê Lợi\",\"commune_code\":\"26734\"}}', 'h1', 0),"
                 " (2, 2, 'return', '{\"recipient\":{\"name\":\"Trần Thị B\"}}', 'h2', 0),"
                 " (3, 3, 'return', '{\"recipient\":{\"name\":\"Lê Văn C\"}}', 'h3', 0)");
    must_exec(f, "INSERT INTO shipments (id, dossier_id, submission_id, leg, carrier, waybill, status, status_time,"
                 " cod_amount, created_at, updated_at, proof_name, cod_collected, cod_collected_at) VALUES"
                 " (1, 1, 1, 'return', 'vnpost', 'RR100000003VN', 'delivered', 1000, 50000, 0, 1000, 'A', 50000,"
                 "  1764003600000),"
                 " (2, 2, 2, 'return', 'vnpost', 'RR100000017VN', 'delivered', 1764000000000, 20000, 0, 1764000000000,"
                 "  'B', 20000, 1764007200000),"
                 " (3, 3, 3, 'return', 'vnpost', 'RR100000025VN', 'in_transit', 1000, 0, 0, 1000, NULL, NULL, NULL)");
}

static void
test_purge(void **state)
{
    store_fixture_t f;
    store_tx_t *tx = NULL;
    long long n = -1;
    char body[512];
    json_t *j;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed_dossiers(&f);
    /* a dry run counts and changes nothing */
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_admin_purge(tx, NOW - 86400000LL, 1, NOW, &n), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    if (n != 1)
        fail_msg("dry run: got %lld dossiers, want 1", n);
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_admin_purge(tx, NOW - 86400000LL, 0, NOW, &n), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    if (n != 1)
        fail_msg("purge: got %lld dossiers, want 1", n);
    j = json_loads(store_fixture_text(&f, "SELECT body FROM submissions WHERE id = 1", body, sizeof body), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "recipient"), "name")), "[đã xóa]");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "recipient"), "phone")), "[đã xóa]");
    /* codes stay, for statistics */
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "recipient"), "commune_code")), "26734");
    json_decref(j);
    j = json_loads(store_fixture_text(&f, "SELECT body FROM submissions WHERE id = 2", body, sizeof body), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "recipient"), "name")), "Trần Thị B");
    json_decref(j);
    assert_int_equal(store_fixture_int(&f, "SELECT COUNT(*) FROM shipments WHERE proof_name IS NULL"), 2);
    /* purged once: a second purge finds nothing */
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_admin_purge(tx, NOW - 86400000LL, 0, NOW, &n), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    if (n != 0)
        fail_msg("second purge: got %lld dossiers, want 0", n);
    store_fixture_close(&f);
}

static void
test_cod_report(void **state)
{
    store_fixture_t f;
    store_tx_t *tx = NULL;
    store_cod_report_t rep = { 0 };

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed_dossiers(&f);
    /* dossier 3's send leg: the fee collected from the citizen at pick-up, reported apart from COD */
    must_exec(&f, "INSERT INTO shipments (id, dossier_id, submission_id, leg, carrier, waybill, status, status_time,"
                  " cod_amount, created_at, updated_at, cod_collected, cod_collected_at) VALUES"
                  " (4, 3, 3, 'send', 'vnpost', 'EE100000005VN', 'in_transit', 1000, 0, 0, 1000, 15000,"
                  "  1764010800000)");
    assert_int_equal(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_admin_cod_report(tx, NOW, NOW + 86400000LL, NULL, &rep), STORE_OK);
    if (rep.n != 3 || rep.total != 70000 || rep.pickup_total != 15000)
        fail_msg("report: got %zu rows totalling %lld COD and %lld at pick-up, want 3 totalling 70000 and 15000",
                 rep.n, rep.total, rep.pickup_total);
    assert_string_equal(rep.rows[0].waybill, "RR100000003VN");
    assert_string_equal(rep.rows[0].leg, "return");
    assert_string_equal(rep.rows[2].waybill, "EE100000005VN");
    assert_string_equal(rep.rows[2].leg, "send");
    store_cod_report_free(&rep);
    assert_int_equal(store_admin_cod_report(tx, NOW, NOW + 86400000LL, "000.00.31.H24", &rep), STORE_OK);
    assert_int_equal(rep.n, 1);
    assert_int_equal(rep.total, 0);
    assert_int_equal(rep.pickup_total, 15000);
    store_cod_report_free(&rep);
    assert_int_equal(store_admin_cod_report(tx, NOW, NOW + 86400000LL, "000.00.01.H01", &rep), STORE_OK);
    assert_int_equal(rep.n, 0);
    store_cod_report_free(&rep);
    store_tx_abort(&tx);
    store_fixture_close(&f);
}

/* import - one statement in its own committed write transaction; the store's answer */
static store_rc_t
import(store_fixture_t *f, const store_remittance_t *stmt, int *created, size_t *unknown)
{
    store_tx_t *tx = NULL;
    store_rc_t rc;

    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    rc = store_admin_remittance_import(tx, stmt, NOW, created, unknown);
    if (rc == STORE_OK)
        return store_tx_commit(&tx);
    store_tx_abort(&tx);
    return rc;
}

static void
test_remittance_import(void **state)
{
    store_fixture_t f;
    const store_remittance_line_t lines[] = {
        { "RR100000003VN", 50000, NOW + 86400000LL },
        { "RR100000017VN", 15000, NOW + 86400000LL },
        { "RR999999995VN", 9000, NOW + 86400000LL },
    };
    store_remittance_t stmt = { "vnpost", "VNP-2025-11-25", "hash-1", NULL, "admin-1", lines, 3 };
    int created = -1;
    size_t unknown = 99;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed_dossiers(&f);
    assert_int_equal(import(&f, &stmt, &created, &unknown), STORE_OK);
    if (created != 1 || unknown != 1)
        fail_msg("first import: got created %d, %zu unknown waybills, want 1 and 1", created, unknown);
    assert_int_equal(store_fixture_int(&f, "SELECT COUNT(*) FROM remittance_lines WHERE shipment_id IS NOT NULL"),
                     2);
    assert_int_equal(store_fixture_int(&f, "SELECT shipment_id FROM remittance_lines WHERE position = 2"), 2);
    /* the same statement again: recognised, nothing written */
    assert_int_equal(import(&f, &stmt, &created, &unknown), STORE_OK);
    assert_int_equal(created, 0);
    assert_int_equal(store_fixture_int(&f, "SELECT COUNT(*) FROM remittance_lines"), 3);
    /* the same id with other lines: refused */
    stmt.content_hash = "hash-2";
    assert_int_equal(import(&f, &stmt, &created, &unknown), STORE_CONFLICT);
    assert_int_equal(store_fixture_int(&f, "SELECT COUNT(*) FROM remittances"), 1);
    /* an agency-bound statement ties only that agency's shipments: the others' waybills are unknown */
    stmt.statement_id = "VNP-H24";
    stmt.agency_code = "000.00.31.H24";
    assert_int_equal(import(&f, &stmt, &created, &unknown), STORE_OK);
    if (created != 1 || unknown != 3)
        fail_msg("agency-bound import: got created %d, %zu unknown, want 1 and 3", created, unknown);
    store_fixture_close(&f);
}

/* the report reconciles: expected, collected and remitted per shipment, flags, and lines naming no shipment */
static void
test_cod_reconciliation(void **state)
{
    store_fixture_t f;
    store_tx_t *tx = NULL;
    store_cod_report_t rep = { 0 };
    /* shipment 1 paid in full, shipment 2 short, one waybill unknown */
    const store_remittance_line_t lines[] = {
        { "RR100000003VN", 50000, NOW + 3600000LL },
        { "RR100000017VN", 15000, NOW + 3600000LL },
        { "RR999999995VN", 9000, NOW + 3600000LL },
    };
    store_remittance_t stmt = { "vnpost", "VNP-1", "h", NULL, "admin-1", lines, 3 };
    int created;
    size_t unknown, i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed_dossiers(&f);
    /* a fourth dossier: COD expected, delivered that day, nothing collected */
    must_exec(&f, "INSERT INTO dossiers (id, code, agency_code, created_at) VALUES"
                  " (4, '000.00.31.H23-231124-0004', '000.00.31.H23', 0)");
    must_exec(&f, "INSERT INTO submissions (id, dossier_id, service, body, body_hash, created_at) VALUES"
                  " (4, 4, 'return', '{}', 'h4', 0)");
    must_exec(&f, "INSERT INTO shipments (id, dossier_id, submission_id, leg, carrier, waybill, status, status_time,"
                  " cod_amount, created_at, updated_at, delivered_at) VALUES"
                  " (4, 4, 4, 'return', 'vnpost', 'RR100000034VN', 'delivered', 1000, 30000, 0, 1000, 1764010000000)");
    assert_int_equal(import(&f, &stmt, &created, &unknown), STORE_OK);
    assert_int_equal(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_admin_cod_report(tx, NOW, NOW + 86400000LL, NULL, &rep), STORE_OK);
    store_tx_abort(&tx);
    if (rep.n != 3 || rep.nunknown != 1)
        fail_msg("report: got %zu rows and %zu unknown lines, want 3 and 1", rep.n, rep.nunknown);
    assert_string_equal(rep.unknown[0].waybill, "RR999999995VN");
    assert_int_equal(rep.unknown[0].amount, 9000);
    assert_string_equal(rep.unknown[0].statement_id, "VNP-1");
    for (i = 0; i < rep.n; i++) {
        const store_cod_row_t *r = &rep.rows[i];
        unsigned fl = store_cod_flags(r, NOW + 86400000LL);

        if (strcmp(r->waybill, "RR100000003VN") == 0) {
            assert_int_equal(r->expected, 50000);
            assert_int_equal(r->remitted, 50000);
            assert_int_equal(fl, 0);
        } else if (strcmp(r->waybill, "RR100000017VN") == 0) {
            assert_int_equal(r->remitted, 15000);
            assert_int_equal(fl, STORE_COD_REMITTED_MISMATCH);
        } else {
            assert_string_equal(r->waybill, "RR100000034VN");
            assert_int_equal(r->expected, 30000);
            assert_int_equal(r->amount, 0);
            assert_int_equal(fl, STORE_COD_COLLECTED_MISMATCH);
        }
    }
    /* collected and never remitted: flagged only once the deadline has passed */
    rep.rows[0].remitted_lines = 0;
    rep.rows[0].remitted = 0;
    assert_int_equal(store_cod_flags(&rep.rows[0], rep.rows[0].collected_at + 86400000LL), 0);
    assert_int_equal(store_cod_flags(&rep.rows[0], rep.rows[0].collected_at + STORE_COD_REMIT_DAYS * 86400000LL),
                     STORE_COD_NOT_REMITTED);
    store_cod_report_free(&rep);
    /* another agency sees neither these rows nor the unknown lines of a statement not bound to it */
    assert_int_equal(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_admin_cod_report(tx, NOW, NOW + 86400000LL, "000.00.31.H24", &rep), STORE_OK);
    store_tx_abort(&tx);
    assert_int_equal(rep.n, 0);
    assert_int_equal(rep.nunknown, 0);
    store_cod_report_free(&rep);
    store_fixture_close(&f);
}

static void
test_backup_is_private_and_never_overwrites(void **state)
{
    store_fixture_t f;
    char dest[700], err[512];
    long long pages = 0;
    struct stat sb;
    mode_t old = umask(022); /* the usual umask, which made backups 0644 */

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed_dossiers(&f);
    if (!store_fixture_sqlite()) {
        /* PostgreSQL's own tools copy a live database; the store says which instead of copying */
        assert_int_equal(store_admin_backup(f.store, "unused.db", &pages, err, sizeof err), STORE_ERROR);
        assert_non_null(strstr(err, "pg_dump"));
        assert_int_equal(access("unused.db", F_OK), -1);
        umask(old);
        store_fixture_close(&f);
        return;
    }
    snprintf(dest, sizeof dest, "%s/backup.db", f.dir);
    if (store_admin_backup(f.store, dest, &pages, err, sizeof err) != STORE_OK)
        fail_msg("backup: got '%s', want ok", err);
    assert_true(pages > 0);
    assert_int_equal(stat(dest, &sb), 0);
    if ((sb.st_mode & 0777) != 0600)
        fail_msg("backup mode: got %03o, want 600 (it holds names, phones and addresses)", sb.st_mode & 0777);
    assert_int_equal(store_admin_backup(f.store, dest, &pages, err, sizeof err), STORE_CONFLICT);
    assert_non_null(strstr(err, "never overwritten"));
    umask(old);
    unlink(dest);
    store_fixture_close(&f);
}

/* a request's lookup (store_admin_token_find, remembered on SQLite) forgets at every token
 * change that commits: a revoked token is refused at the next find, a new one is found at
 * once (unknown tokens are never remembered), a change rolled back changes nothing */
static void
test_find_follows_every_token_change(void **state)
{
    store_fixture_t f;
    store_tx_t *tx = NULL;
    store_token_t t;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    assert_int_equal(create(&f, "admin", "admin", NULL, "h-admin"), STORE_OK);
    assert_int_equal(create(&f, "desk", "clerk", "000.00.31.H23", "h-desk"), STORE_OK);
    assert_int_equal(store_admin_token_find(f.store, "h-desk", &t), STORE_OK);
    assert_int_equal(store_admin_token_find(f.store, "h-desk", &t), STORE_OK); /* remembered */
    assert_string_equal(t.name, "desk");
    assert_string_equal(t.role, "clerk");
    assert_string_equal(t.agency_code, "000.00.31.H23");

    assert_int_equal(store_admin_token_find(f.store, "h-late", &t), STORE_NOT_FOUND);
    assert_int_equal(create(&f, "late", "post_office", NULL, "h-late"), STORE_OK);
    assert_int_equal(store_admin_token_find(f.store, "h-late", &t), STORE_OK);

    /* a revocation rolled back: the token still works */
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_admin_token_revoke(tx, "desk", NOW), STORE_OK);
    store_tx_abort(&tx);
    assert_int_equal(store_admin_token_find(f.store, "h-desk", &t), STORE_OK);

    assert_int_equal(revoke_token(&f, "desk"), STORE_OK);
    assert_int_equal(store_admin_token_find(f.store, "h-desk", &t), STORE_NOT_FOUND);
    assert_int_equal(store_admin_token_find(f.store, "h-late", &t), STORE_OK);
    assert_int_equal(revoke_token(&f, "late"), STORE_OK);
    assert_int_equal(store_admin_token_find(f.store, "h-late", &t), STORE_NOT_FOUND);
    assert_int_equal(store_admin_token_find(f.store, "h-admin", &t), STORE_OK);
    store_fixture_close(&f);
}

/* SQLite: when the shared generation cannot be kept (here PATH-tokens is a directory), the
 * store still opens and every lookup reads the database, so a revocation counts at once */
static void
test_without_a_generation_file_every_find_reads(void **state)
{
    static const char *const db_files[] = { "", "-wal", "-shm" };
    store_fixture_t f;
    size_t i;
    char path[700], uri[800], err[512];
    store_tx_t *tx = NULL;
    store_token_t t;
    store_t *s;

    (void)state;
    if (!store_fixture_sqlite())
        skip(); /* PostgreSQL keeps no generation at all: test_revocation_seen_by_every_instance */
    assert_int_equal(store_fixture_open(&f), 0);
    snprintf(path, sizeof path, "%s/nogen.db-tokens", f.dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(uri, sizeof uri, "sqlite:%s/nogen.db", f.dir);
    s = store_open(uri, err, sizeof err);
    if (!s)
        fail_msg("open without a generation file: %s", err);
    assert_int_equal(store_tx_begin(s, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_admin_token_create(tx, "admin", "admin", NULL, "h-admin", NOW), STORE_OK);
    assert_int_equal(store_admin_token_create(tx, "desk", "clerk", NULL, "h-desk", NOW), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    assert_int_equal(store_admin_token_find(s, "h-desk", &t), STORE_OK);
    assert_int_equal(store_admin_token_find(s, "h-desk", &t), STORE_OK);
    assert_int_equal(store_tx_begin(s, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_admin_token_revoke(tx, "desk", NOW), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    assert_int_equal(store_admin_token_find(s, "h-desk", &t), STORE_NOT_FOUND);
    store_close(&s);
    rmdir(path);
    for (i = 0; i < sizeof db_files / sizeof db_files[0]; i++) {
        snprintf(path, sizeof path, "%s/nogen.db%s", f.dir, db_files[i]);
        unlink(path);
    }
    store_fixture_close(&f);
}

/* --------------------------------------------- two instances on one database */

static store_t *
second_instance(store_fixture_t *f)
{
    char err[512];
    store_t *s = store_open(f->uri, err, sizeof err);

    if (!s)
        fail_msg("second instance: %s", err);
    return s;
}

/* lookup_on - a request's lookup (store_admin_token_find) on one instance */
static store_rc_t
lookup_on(store_t *store, const char *hash)
{
    store_token_t t;

    return store_admin_token_find(store, hash, &t);
}

/* a token revoked through one instance is refused by the other at its next lookup, however
 * often the other found it just before (on SQLite each store_t maps the shared generation on
 * its own, as two bccid processes on one file do) */
static void
test_revocation_seen_by_every_instance(void **state)
{
    store_fixture_t f;
    store_t *b;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    b = second_instance(&f);
    assert_int_equal(create(&f, "admin", "admin", NULL, "h-admin"), STORE_OK);
    assert_int_equal(create(&f, "clerk", "clerk", "000.00.31.H23", "h-clerk"), STORE_OK);
    assert_int_equal(lookup_on(b, "h-clerk"), STORE_OK);
    assert_int_equal(lookup_on(b, "h-clerk"), STORE_OK);
    assert_int_equal(revoke_token(&f, "clerk"), STORE_OK);
    assert_int_equal(lookup_on(b, "h-clerk"), STORE_NOT_FOUND);
    assert_int_equal(lookup_on(b, "h-admin"), STORE_OK);
    store_close(&b);
    store_fixture_close(&f);
}

typedef struct {
    store_t *store;
    store_rc_t rc;
    char message[512];
} revoker_t;

static void *
revoker(void *arg)
{
    revoker_t *r = arg;
    store_tx_t *tx = NULL;

    r->rc = store_tx_begin(r->store, STORE_WRITE, &tx);
    if (r->rc == STORE_OK)
        r->rc = store_admin_token_revoke(tx, "admin-2", NOW);
    if (tx)
        snprintf(r->message, sizeof r->message, "%s", store_tx_message(tx));
    if (r->rc == STORE_OK)
        r->rc = store_tx_commit(&tx);
    else
        store_tx_abort(&tx);
    return NULL;
}

/* two instances revoking the last two admin tokens at once: one of them is refused */
static void
test_two_instances_keep_the_last_admin(void **state)
{
    store_fixture_t f;
    store_tx_t *tx = NULL;
    revoker_t other;
    pthread_t th;

    (void)state;
    if (store_fixture_sqlite())
        skip(); /* one bccid per SQLite file */
    assert_int_equal(store_fixture_open(&f), 0);
    assert_int_equal(create(&f, "admin-1", "admin", NULL, "h-admin-1"), STORE_OK);
    assert_int_equal(create(&f, "admin-2", "admin", NULL, "h-admin-2"), STORE_OK);
    memset(&other, 0, sizeof other);
    other.store = second_instance(&f);
    /* this instance revokes admin-1 and has not committed when the other revokes admin-2 */
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_admin_token_revoke(tx, "admin-1", NOW), STORE_OK);
    assert_int_equal(pthread_create(&th, NULL, revoker, &other), 0);
    usleep(300 * 1000); /* room for the other to reach the admins' lock (it waits there) */
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    pthread_join(th, NULL);
    store_close(&other.store);
    if (other.rc != STORE_CONFLICT || !strstr(other.message, "last live admin"))
        fail_msg("the other instance: got %s (%s), want conflict naming the last live admin token",
                 store_rc_name(other.rc), other.message);
    if (count(&f, "admin") != 1)
        fail_msg("admins: got %lld live, want 1", count(&f, "admin"));
    store_fixture_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_find_follows_every_token_change),
        cmocka_unit_test(test_without_a_generation_file_every_find_reads),
        cmocka_unit_test(test_last_admin_is_never_revoked),
        cmocka_unit_test(test_revoke_fails_cleanly_at_every_step),
        cmocka_unit_test(test_purge),
        cmocka_unit_test(test_cod_report),
        cmocka_unit_test(test_remittance_import),
        cmocka_unit_test(test_cod_reconciliation),
        cmocka_unit_test(test_backup_is_private_and_never_overwrites),
        cmocka_unit_test(test_revocation_seen_by_every_instance),
        cmocka_unit_test(test_two_instances_keep_the_last_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
