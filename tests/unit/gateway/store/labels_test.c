/*
 * labels_test - the store's labels area: prints, manifests (one agency, no final
 * shipments, one open manifest per shipment), the list of past manifests, scans through the
 * status machine, receipts; every step of a manifest creation failing on purpose (SQLite);
 * two instances handing over one shipment at once (PostgreSQL: one open manifest gets it).
 * Runs on the backend BCCI_TEST_STORE picks (store_fixture.h).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/store/sqlite/db.h"
#include "gateway/store/store_labels.h"
#include "tests/unit/support/store_fixture.h"

#define NOW 1764000000000LL
#define AGENCY_A "000.00.31.H23"
#define AGENCY_B "000.00.31.H24"

/* the shipments of the tests: waybill, agency, status */
static const struct {
    const char *waybill, *agency, *status;
} ships[] = {
    { "RR100000003VN", AGENCY_A, "created" },
    { "RR100000017VN", AGENCY_A, "booked" },
    { "RR100000025VN", AGENCY_A, "delivered" },
    { "RR100000034VN", AGENCY_B, "booked" },
    { "RR100000048VN", AGENCY_A, "cancelled" },
    { "RR100000051VN", AGENCY_A, "in_transit" },
};
enum { CREATED, BOOKED, DELIVERED, OTHER_AGENCY, CANCELLED, IN_TRANSIT };

static void
seed(store_fixture_t *f)
{
    size_t i;

    for (i = 0; i < sizeof ships / sizeof ships[0]; i++) {
        char sql[1200];
        int id = (int)i + 1;

        /* the waybill doubles as the dossier's code: any unique code */
        snprintf(sql, sizeof sql,
                 "INSERT INTO dossiers (id, code, agency_code, created_at) VALUES (%d, '%s', '%s', 0);"
                 "INSERT INTO submissions (id, dossier_id, service, body, body_hash, created_at)"
                 " VALUES (%d, %d, 'return', '{\"recipient\":{\"name\":\"Nguyễn Văn A\"}}', 'h', 0);"
                 "INSERT INTO shipments (id, dossier_id, submission_id, leg, carrier, waybill, status,"
                 " status_time, cod_amount, created_at, updated_at) VALUES (%d, %d, %d, 'return', 'vnpost',"
                 " '%s', '%s', 1000, 15000, 0, 1000)",
                 id, ships[i].waybill, ships[i].agency, id, id, id, id, id, ships[i].waybill, ships[i].status);
        assert_int_equal(store_fixture_exec(f, sql), 0);
    }
}

/* scalar - one integer from the database (for checks after an abort) */
static long long
scalar(store_fixture_t *f, const char *sql)
{
    return store_fixture_int(f, sql);
}

static const char *
status_of(store_fixture_t *f, const char *waybill, char *out, size_t len)
{
    char sql[200];

    snprintf(sql, sizeof sql, "SELECT status FROM shipments WHERE waybill = '%s'", waybill);
    return store_fixture_text(f, sql, out, len);
}

static store_rc_t
create_manifest(store_fixture_t *f, const char *const *waybills, size_t n, const char *agency, const char *id,
                store_manifest_t *m, store_labels_refusal_t *why)
{
    store_manifest_new_t req;
    store_tx_t *tx = NULL;
    store_rc_t rc;

    memset(&req, 0, sizeof req);
    req.waybills = waybills;
    req.n = n;
    req.agency_code = agency;
    req.public_id = id;
    req.code = "BCCI-MF:test";
    req.created_by = "desk";
    req.max = 100;
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    rc = store_labels_manifest_create(tx, &req, NOW, m, why);
    if (rc == STORE_OK)
        return store_tx_commit(&tx);
    store_tx_abort(&tx);
    return rc;
}

static void
test_manifest_rules(void **state)
{
    static const struct {
        const char *name;
        const char *waybills[3];
        size_t n;
        const char *agency;
        store_rc_t want;
        store_labels_reason_t reason;
    } cases[] = {
        { "a final shipment", { "RR100000003VN", "RR100000025VN" }, 2, NULL, STORE_CONFLICT, STORE_LABELS_FINAL },
        { "a cancelled shipment", { "RR100000048VN" }, 1, NULL, STORE_CONFLICT, STORE_LABELS_FINAL },
        { "two agencies", { "RR100000003VN", "RR100000034VN" }, 2, NULL, STORE_CONFLICT,
          STORE_LABELS_MIXED_AGENCIES },
        { "another agency's, for an agency", { "RR100000034VN" }, 1, AGENCY_A, STORE_NOT_FOUND,
          STORE_LABELS_UNKNOWN },
        { "an unknown waybill", { "RR999999995VN" }, 1, NULL, STORE_CONFLICT, STORE_LABELS_UNKNOWN_ON_MANIFEST },
        { "one agency", { "RR100000003VN", "RR100000017VN" }, 2, AGENCY_A, STORE_OK, STORE_LABELS_OK },
        { "already on an open manifest", { "RR100000017VN" }, 1, NULL, STORE_CONFLICT,
          STORE_LABELS_ON_OPEN_MANIFEST },
    };
    store_fixture_t f;
    size_t i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed(&f);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_manifest_t m;
        store_labels_refusal_t why;
        char id[32];
        store_rc_t got;

        snprintf(id, sizeof id, "BB-20251124-AAAAAAA%zu", i);
        got = create_manifest(&f, cases[i].waybills, cases[i].n, cases[i].agency, id, &m, &why);
        if (got != cases[i].want || (got != STORE_OK && why.reason != cases[i].reason))
            fail_msg("%s: got %s (reason %d), want %s (reason %d)", cases[i].name, store_rc_name(got), why.reason,
                     store_rc_name(cases[i].want), cases[i].reason);
        if (got == STORE_OK) {
            if (m.n != 2 || strcmp(m.agency_code, AGENCY_A) || strcmp(m.items[1].waybill, "RR100000017VN"))
                fail_msg("%s: got %zu items of %s, want 2 of %s", cases[i].name, m.n, m.agency_code, AGENCY_A);
            store_manifest_free(&m);
        } else if (m.n != 0 || m.items) {
            fail_msg("%s: got a refused manifest with %zu items, want none", cases[i].name, m.n);
        }
    }
    if (scalar(&f, "SELECT COUNT(*) FROM manifests") != 1 || scalar(&f, "SELECT COUNT(*) FROM manifest_items") != 2)
        fail_msg("got %lld manifests with %lld items, want 1 with 2: refusals write nothing",
                 scalar(&f, "SELECT COUNT(*) FROM manifests"), scalar(&f, "SELECT COUNT(*) FROM manifest_items"));
    store_fixture_close(&f);
}

static void
test_print_counts_and_refuses_cancelled(void **state)
{
    static const char *const two[] = { "RR100000003VN", "RR100000017VN" };
    static const char *const cancelled[] = { "RR100000003VN", "RR100000048VN" };
    store_fixture_t f;
    store_label_print_t req;
    store_label_list_t out;
    store_labels_refusal_t why;
    store_tx_t *tx = NULL;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed(&f);
    memset(&req, 0, sizeof req);
    req.waybills = two;
    req.n = 2;
    req.format = "pdf";
    req.max = 10;
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_labels_print(tx, &req, NOW, &out, &why), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    if (out.n != 2 || out.items[0].prints != 1 || !strstr(out.items[0].body, "Nguyễn Văn A"))
        fail_msg("print: got %zu labels, first print %lld, want 2, 1, with the stored submission", out.n,
                 out.items[0].prints);
    store_label_list_free(&out);
    req.waybills = cancelled;
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_labels_print(tx, &req, NOW, &out, &why), STORE_CONFLICT);
    store_tx_abort(&tx);
    if (why.reason != STORE_LABELS_CANCELLED || strcmp(why.waybill, "RR100000048VN"))
        fail_msg("cancelled: got reason %d for %s, want cancelled for RR100000048VN", why.reason, why.waybill);
    assert_null(out.items);
    if (scalar(&f, "SELECT label_prints FROM shipments WHERE id = 1") != 1)
        fail_msg("got %lld prints of the first label, want 1: the refused print rolled back",
                 scalar(&f, "SELECT label_prints FROM shipments WHERE id = 1"));
    if (scalar(&f, "SELECT COUNT(*) FROM timeline") != 2)
        fail_msg("got %lld timeline events, want 2 (one per print)", scalar(&f, "SELECT COUNT(*) FROM timeline"));
    /* ready: created/booked on no manifest, of one agency */
    memset(&req, 0, sizeof req);
    req.ready = 1;
    req.agency_code = AGENCY_B;
    req.format = "zpl";
    req.max = 10;
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_labels_print(tx, &req, NOW, &out, &why), STORE_OK);
    assert_int_equal(out.n, 1);
    assert_string_equal(out.items[0].waybill, "RR100000034VN");
    store_label_list_free(&out);
    store_tx_abort(&tx);
    store_fixture_close(&f);
}

static void
test_scans_follow_the_status_machine(void **state)
{
    static const struct {
        int ship;
        store_rc_t want;
        int accepted;
        const char *status;
    } cases[] = {
        { CREATED, STORE_OK, 1, "accepted" },
        { CREATED, STORE_OK, 0, "accepted" },     /* a second scan is a duplicate */
        { DELIVERED, STORE_OK, 1, "delivered" },  /* recorded; a final status never moves */
        { CANCELLED, STORE_CONFLICT, 0, "cancelled" },
    };
    store_fixture_t f;
    char st[32];
    size_t i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed(&f);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_scan_result_t res;
        store_labels_refusal_t why;
        store_tx_t *tx = NULL;
        const char *wb = ships[cases[i].ship].waybill;
        store_rc_t got;

        assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
        got = store_labels_scan_waybill(tx, wb, NOW, &res, &why);
        if (got == STORE_OK)
            assert_int_equal(store_tx_commit(&tx), STORE_OK);
        else
            store_tx_abort(&tx);
        if (got != cases[i].want || (got == STORE_OK && res.accepted != cases[i].accepted))
            fail_msg("scan %zu of %s: got %s accepted %d, want %s accepted %d", i, wb, store_rc_name(got),
                     res.accepted, store_rc_name(cases[i].want), cases[i].accepted);
        if (strcmp(status_of(&f, wb, st, sizeof st), cases[i].status) != 0)
            fail_msg("scan %zu of %s: got status %s, want %s", i, wb, st, cases[i].status);
    }
    {
        store_scan_result_t res;
        store_tx_t *tx = NULL;

        assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
        assert_int_equal(store_labels_scan_waybill(tx, "RR999999995VN", NOW, &res, NULL), STORE_NOT_FOUND);
        store_tx_abort(&tx);
    }
    store_fixture_close(&f);
}

static void
test_manifest_scan_and_void(void **state)
{
    static const char *const items[] = { "RR100000003VN", "RR100000017VN" };
    store_fixture_t f;
    store_manifest_t m;
    store_labels_refusal_t why;
    store_scan_result_t res;
    store_tx_t *tx = NULL;
    char st[32];

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed(&f);
    assert_int_equal(create_manifest(&f, items, 2, NULL, "BB-20251124-SCANNED1", &m, &why), STORE_OK);
    store_manifest_free(&m);
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_labels_scan_manifest(tx, "BB-20251124-SCANNED1", NOW, &res), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    if (res.accepted != 2 || res.items != 2)
        fail_msg("manifest scan: got %d of %zu accepted, want 2 of 2", res.accepted, res.items);
    assert_string_equal(status_of(&f, "RR100000017VN", st, sizeof st), "accepted");
    assert_int_equal(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_labels_manifest_get(tx, "BB-20251124-SCANNED1", &m), STORE_OK);
    if (strcmp(m.state, "accepted") || m.n != 2 || strcmp(m.code, "BCCI-MF:test"))
        fail_msg("manifest: got state %s with %zu items, want accepted with 2", m.state, m.n);
    store_manifest_free(&m);
    assert_int_equal(store_labels_manifest_get(tx, "BB-20251124-NOSUCHID", &m), STORE_NOT_FOUND);
    store_tx_abort(&tx);

    /* every item left the manifest (cancelled): it reads back with no items, for the caller to call void */
    assert_int_equal(create_manifest(&f, (const char *const[]){ "RR100000034VN" }, 1, NULL, "BB-20251124-VOIDVOID",
                                     &m, &why),
                     STORE_OK);
    store_manifest_free(&m);
    assert_int_equal(store_fixture_exec(&f, "DELETE FROM manifest_items WHERE shipment_id = 4"), 0);
    assert_int_equal(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_labels_manifest_get(tx, "BB-20251124-VOIDVOID", &m), STORE_OK);
    if (m.n != 0)
        fail_msg("void manifest: got %zu items, want 0", m.n);
    store_manifest_free(&m);
    store_tx_abort(&tx);
    store_fixture_close(&f);
}

/* the clerk page's past manifests: newest first, of one agency or all, a page at a time with
 * the total over every page, each with its state, acceptance time, creator and item count */
static void
test_manifest_list(void **state)
{
    static const struct {
        const char *agency;
        int limit, offset;
        long long total;
        const char *ids[3]; /* the page, in order */
    } pages[] = {
        { NULL, 10, 0, 3, { "BB-20251124-LISTTHRE", "BB-20251124-LISTTWO0", "BB-20251124-LISTONE0" } },
        { "", 10, 0, 3, { "BB-20251124-LISTTHRE", "BB-20251124-LISTTWO0", "BB-20251124-LISTONE0" } },
        { AGENCY_A, 10, 0, 2, { "BB-20251124-LISTTHRE", "BB-20251124-LISTONE0" } },
        { AGENCY_A, 1, 1, 2, { "BB-20251124-LISTONE0" } },
        { AGENCY_A, 10, 5, 2, { NULL } },
        { "000.00.01.H01", 10, 0, 0, { NULL } },
    };
    store_manifest_t m;
    store_manifest_list_t list;
    store_labels_refusal_t why;
    store_scan_result_t res;
    store_tx_t *tx = NULL;
    store_fixture_t f;
    long long total;
    size_t i, k;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed(&f);
    /* made at the same time: the later one (larger row) lists first */
    assert_int_equal(create_manifest(&f, (const char *const[]){ "RR100000003VN" }, 1, NULL, "BB-20251124-LISTONE0",
                                     &m, &why),
                     STORE_OK);
    store_manifest_free(&m);
    assert_int_equal(create_manifest(&f, (const char *const[]){ "RR100000034VN" }, 1, NULL, "BB-20251124-LISTTWO0",
                                     &m, &why),
                     STORE_OK);
    store_manifest_free(&m);
    assert_int_equal(create_manifest(&f, (const char *const[]){ "RR100000017VN" }, 1, NULL, "BB-20251124-LISTTHRE",
                                     &m, &why),
                     STORE_OK);
    store_manifest_free(&m);
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_labels_scan_manifest(tx, "BB-20251124-LISTONE0", NOW + 5000, &res), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);

    assert_int_equal(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK);
    for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        total = -1;
        assert_int_equal(store_labels_manifest_list(tx, pages[i].agency, pages[i].limit, pages[i].offset, &list,
                                                    &total),
                         STORE_OK);
        for (k = 0; k < 3 && pages[i].ids[k]; k++)
            ;
        if (total != pages[i].total || list.n != k)
            fail_msg("page %zu: got %zu rows of %lld, want %zu of %lld", i, list.n, total, k, pages[i].total);
        for (k = 0; k < list.n; k++)
            if (strcmp(list.rows[k].id, pages[i].ids[k]) != 0)
                fail_msg("page %zu row %zu: got %s, want %s", i, k, list.rows[k].id, pages[i].ids[k]);
        if (i == 0) {
            const store_manifest_row_t *three = &list.rows[0], *two = &list.rows[1], *one = &list.rows[2];

            assert_string_equal(one->state, "accepted");
            assert_int_equal(one->accepted_at, NOW + 5000);
            assert_string_equal(three->state, "open");
            assert_int_equal(three->accepted_at, 0);
            assert_string_equal(two->agency_code, AGENCY_B);
            assert_string_equal(three->agency_code, AGENCY_A);
            assert_string_equal(three->created_by, "desk");
            assert_int_equal(three->created_at, NOW);
            assert_int_equal(three->items, 1);
        }
        store_manifest_list_free(&list);
    }
    store_tx_abort(&tx);
    store_fixture_close(&f);
}

/* the Nth step of a manifest creation fails: each time a clean STORE_BUSY and, after the
 * abort, no manifest and no item; at last it succeeds */
static void
test_manifest_create_fails_cleanly_at_every_step(void **state)
{
    static const char *const items[] = { "RR100000003VN", "RR100000017VN" };
    store_fixture_t f;
    long nth;
    int succeeded = 0;

    (void)state;
    STORE_FIXTURE_SQLITE_ONLY(); /* db_fail_at is SQLite's failure injection */
    assert_int_equal(store_fixture_open(&f), 0);
    seed(&f);
    for (nth = 1; nth < 80; nth++) {
        store_manifest_new_t req;
        store_manifest_t m;
        store_labels_refusal_t why;
        store_tx_t *tx = NULL;
        store_rc_t rc;

        memset(&req, 0, sizeof req);
        req.waybills = items;
        req.n = 2;
        req.public_id = "BB-20251124-FAILSTEP";
        req.code = "BCCI-MF:test";
        req.max = 100;
        assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
        db_fail_at(nth);
        rc = store_labels_manifest_create(tx, &req, NOW, &m, &why);
        if (rc == STORE_OK) {
            store_manifest_free(&m);
            rc = store_tx_commit(&tx);
        }
        db_fail_at(0);
        if (rc == STORE_OK) {
            succeeded = 1;
            break;
        }
        if (rc != STORE_BUSY)
            fail_msg("step %ld failing: got %s (%s), want busy", nth, store_rc_name(rc),
                     tx ? store_tx_message(tx) : "");
        if (m.items || m.n)
            fail_msg("step %ld failing: got a result with %zu items, want none", nth, m.n);
        store_tx_abort(&tx);
        if (scalar(&f, "SELECT COUNT(*) FROM manifests") != 0 || scalar(&f, "SELECT COUNT(*) FROM manifest_items") != 0)
            fail_msg("step %ld failing: got a half-written manifest, want nothing", nth);
    }
    if (!succeeded || nth < 5)
        fail_msg("got success %d at step %ld, want success after several injected failures", succeeded, nth);
    if (scalar(&f, "SELECT COUNT(*) FROM manifest_items") != 2)
        fail_msg("got %lld items, want 2", scalar(&f, "SELECT COUNT(*) FROM manifest_items"));
    store_fixture_close(&f);
}

static store_rc_t
create_receipt(store_fixture_t *f, const char *const *waybills, size_t n, const char *agency, const char *id,
               store_receipt_t *r, store_labels_refusal_t *why)
{
    store_receipt_new_t req;
    store_tx_t *tx = NULL;
    store_rc_t rc;

    memset(&req, 0, sizeof req);
    req.waybills = waybills;
    req.n = n;
    req.agency_code = agency;
    req.public_id = id;
    req.officer = "Nguyễn Văn An";
    req.created_by = "desk";
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    rc = store_labels_receipt_create(tx, &req, NOW, r, why);
    if (rc == STORE_OK)
        return store_tx_commit(&tx);
    store_tx_abort(&tx);
    return rc;
}

/* receipts (send leg at the agency): only send legs, arrived, not cancelled, of one agency, once */
static void
test_receipt_rules(void **state)
{
    static const struct {
        const char *name;
        const char *waybills[3];
        size_t n;
        const char *agency;
        store_rc_t want;
        store_labels_reason_t reason;
        int existing;
    } cases[] = {
        { "a return leg", { "RR100000003VN" }, 1, NULL, STORE_CONFLICT, STORE_LABELS_NOT_SEND_LEG, 0 },
        { "not yet arrived", { "RR100000017VN" }, 1, NULL, STORE_CONFLICT, STORE_LABELS_NOT_ARRIVED, 0 },
        { "cancelled", { "RR100000048VN" }, 1, NULL, STORE_CONFLICT, STORE_LABELS_CANCELLED, 0 },
        { "another agency's, for an agency", { "RR100000034VN" }, 1, AGENCY_A, STORE_NOT_FOUND,
          STORE_LABELS_UNKNOWN, 0 },
        { "two agencies", { "RR100000025VN", "RR100000034VN" }, 2, NULL, STORE_CONFLICT,
          STORE_LABELS_MIXED_AGENCIES, 0 },
        { "delivered and out for delivery", { "RR100000025VN", "RR100000051VN" }, 2, AGENCY_A, STORE_OK,
          STORE_LABELS_OK, 0 },
        { "the same again", { "RR100000025VN", "RR100000051VN" }, 2, AGENCY_A, STORE_OK, STORE_LABELS_OK, 1 },
        { "one of them again", { "RR100000051VN" }, 1, NULL, STORE_OK, STORE_LABELS_OK, 1 },
        { "a new item beside a received one", { "RR100000034VN", "RR100000025VN" }, 2, NULL, STORE_CONFLICT,
          STORE_LABELS_ALREADY_RECEIVED, 0 },
        { "a received item beside a new one", { "RR100000025VN", "RR100000034VN" }, 2, NULL, STORE_CONFLICT,
          STORE_LABELS_ALREADY_RECEIVED, 0 },
    };
    store_fixture_t f;
    size_t i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    seed(&f);
    assert_int_equal(store_fixture_exec(&f, "UPDATE shipments SET leg = 'send' WHERE id > 1;"
                                            "UPDATE shipments SET status = 'out_for_delivery' WHERE id IN (4, 6);"),
                     0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_receipt_t r;
        store_labels_refusal_t why;
        char id[32];
        store_rc_t got;

        snprintf(id, sizeof id, "TN-20251124-AAAAAAA%zu", i);
        got = create_receipt(&f, cases[i].waybills, cases[i].n, cases[i].agency, id, &r, &why);
        if (got != cases[i].want || (got != STORE_OK && why.reason != cases[i].reason))
            fail_msg("%s: got %s (reason %d), want %s (reason %d)", cases[i].name, store_rc_name(got), why.reason,
                     store_rc_name(cases[i].want), cases[i].reason);
        if (got == STORE_OK) {
            if (r.existing != cases[i].existing || strcmp(r.id, "TN-20251124-AAAAAAA5") != 0 ||
                strcmp(r.agency_code, AGENCY_A) != 0 || strcmp(r.officer, "Nguyễn Văn An") != 0 || r.n != 2 ||
                strcmp(r.items[1].waybill, "RR100000051VN") != 0 || r.shipment_ids[1] != 6 || r.created_at != NOW)
                fail_msg("%s: got receipt %s (existing %d) of %s with %zu items, want TN-20251124-AAAAAAA5 "
                         "(existing %d) of %s with 2",
                         cases[i].name, r.id, r.existing, r.agency_code, r.n, cases[i].existing, AGENCY_A);
            store_receipt_free(&r);
        } else if (r.n != 0 || r.items) {
            fail_msg("%s: got a refused receipt with %zu items, want none", cases[i].name, r.n);
        }
    }
    if (scalar(&f, "SELECT COUNT(*) FROM receipts") != 1 || scalar(&f, "SELECT COUNT(*) FROM receipt_items") != 2)
        fail_msg("got %lld receipts with %lld items, want 1 with 2: refusals and repeats write nothing",
                 scalar(&f, "SELECT COUNT(*) FROM receipts"), scalar(&f, "SELECT COUNT(*) FROM receipt_items"));
    store_fixture_close(&f);
}

/* --------------------------------------------- two instances on one database */

typedef struct {
    store_t *store;
    store_rc_t rc;
    store_labels_refusal_t why;
} manifester_t;

/* manifester - the other instance puts RR100000017VN on a manifest of its own */
static void *
manifester(void *arg)
{
    static const char *const items[] = { "RR100000017VN" };
    manifester_t *m = arg;
    store_manifest_new_t req;
    store_manifest_t out;
    store_tx_t *tx = NULL;

    memset(&req, 0, sizeof req);
    req.waybills = items;
    req.n = 1;
    req.public_id = "BB-20251124-OTHERINS";
    req.code = "BCCI-MF:other";
    req.max = 100;
    m->rc = store_tx_begin(m->store, STORE_WRITE, &tx);
    if (m->rc == STORE_OK)
        m->rc = store_labels_manifest_create(tx, &req, NOW, &out, &m->why);
    if (m->rc == STORE_OK) {
        store_manifest_free(&out);
        m->rc = store_tx_commit(&tx);
    } else {
        store_tx_abort(&tx);
    }
    return NULL;
}

/* two instances handing over the same shipment at once: one manifest gets it, the other is refused */
static void
test_two_instances_one_open_manifest(void **state)
{
    static const char *const items[] = { "RR100000003VN", "RR100000017VN" };
    store_fixture_t f;
    store_manifest_new_t req;
    store_manifest_t m;
    store_labels_refusal_t why;
    manifester_t other;
    store_tx_t *tx = NULL;
    pthread_t th;
    char err[512];

    (void)state;
    if (store_fixture_sqlite())
        skip(); /* one bccid per SQLite file */
    assert_int_equal(store_fixture_open(&f), 0);
    seed(&f);
    memset(&other, 0, sizeof other);
    other.store = store_open(f.uri, err, sizeof err);
    if (!other.store)
        fail_msg("second instance: %s", err);
    /* this instance's manifest is written and not yet committed when the other asks */
    memset(&req, 0, sizeof req);
    req.waybills = items;
    req.n = 2;
    req.public_id = "BB-20251124-THISINST";
    req.code = "BCCI-MF:this";
    req.max = 100;
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_labels_manifest_create(tx, &req, NOW, &m, &why), STORE_OK);
    store_manifest_free(&m);
    assert_int_equal(pthread_create(&th, NULL, manifester, &other), 0);
    usleep(300 * 1000); /* room for the other to reach the shipment's lock (it waits there) */
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    pthread_join(th, NULL);
    store_close(&other.store);
    if (other.rc != STORE_CONFLICT || other.why.reason != STORE_LABELS_ON_OPEN_MANIFEST ||
        strcmp(other.why.other, "BB-20251124-THISINST") != 0)
        fail_msg("the other instance: got %s (reason %d, %s), want conflict: on open manifest BB-20251124-THISINST",
                 store_rc_name(other.rc), (int)other.why.reason, other.why.other);
    assert_int_equal(scalar(&f, "SELECT COUNT(*) FROM manifests"), 1);
    assert_int_equal(scalar(&f, "SELECT COUNT(*) FROM manifest_items"), 2);
    store_fixture_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_rules),
        cmocka_unit_test(test_print_counts_and_refuses_cancelled),
        cmocka_unit_test(test_scans_follow_the_status_machine),
        cmocka_unit_test(test_manifest_scan_and_void),
        cmocka_unit_test(test_manifest_list),
        cmocka_unit_test(test_manifest_create_fails_cleanly_at_every_step),
        cmocka_unit_test(test_receipt_rules),
        cmocka_unit_test(test_two_instances_one_open_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
