/*
 * dossiers_test - the dossiers area of the store: intake, the code pool, the views, the
 * clerk page's search, and failure injected at every step of intake and of the view reads; on PostgreSQL, two
 * instances (two stores on one database) taking the same dossier and S10 numbers at once
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain/s10.h"
#include "gateway/store/sqlite/db.h"
#include "gateway/store/store.h"
#include "gateway/store/store_dossiers.h"
#include "gateway/store/store_shipments.h"
#include "gateway/store/store_timeline.h"
#include "tests/unit/support/store_fixture.h"

#define NOW 1732406400000LL /* 2024-11-24 */
#define AGENCY "000.00.31.H23"

static void
want_rc(store_rc_t got, store_rc_t want, const char *what)
{
    if (got != want)
        fail_msg("%s: got %s, want %s", what, store_rc_name(got), store_rc_name(want));
}

static store_intake_t
intake_of(const char *code, const char *service, const char *hash)
{
    store_intake_t in = {
        .code = code,
        .service = service,
        .carrier = "vnpost",
        .agency_code = AGENCY,
        .canonical_body = "{\"recipient\": {\"name\": \"Nguyễn Văn An\", \"province_code\": \"79\","
                          " \"commune_code\": \"26734\"}, \"agency\": {\"name\": \"UBND phường Bến Thành\"}}",
        .body_hash = hash,
        .book_payload = "{}",
        .cod_amount = 25000,
        .transit_days = 2,
    };
    return in;
}

/* write - run one operation in its own committed write transaction */
static store_rc_t
import(store_t *s, const char *prefix, long long from, long long count, store_code_range_t *overlap)
{
    store_tx_t *tx = NULL;
    store_rc_t rc = store_tx_begin(s, STORE_WRITE, &tx);

    if (rc != STORE_OK)
        return rc;
    rc = store_dossiers_import_codes(tx, prefix, "VN", from, count, NOW, overlap);
    if (rc != STORE_OK) {
        store_tx_abort(&tx);
        return rc;
    }
    return store_tx_commit(&tx);
}

static store_rc_t
intake(store_t *s, const store_intake_t *in, store_intake_result_t *out)
{
    store_tx_t *tx = NULL;
    store_rc_t rc = store_tx_begin(s, STORE_WRITE, &tx);

    if (rc != STORE_OK)
        return rc;
    rc = store_dossiers_intake(tx, in, NOW, out);
    if (rc != STORE_OK) {
        store_tx_abort(&tx);
        return rc;
    }
    return store_tx_commit(&tx);
}

static store_health_counts_t
counts(store_t *s)
{
    store_health_counts_t n;
    store_tx_t *tx = NULL;

    want_rc(store_tx_begin(s, STORE_READ, &tx), STORE_OK, "read transaction");
    want_rc(store_dossiers_health_counts(tx, &n), STORE_OK, "health counts");
    store_tx_abort(&tx);
    return n;
}

static void
test_intake_created_replay_conflict_empty(void **state)
{
    static const struct {
        const char *code, *service, *hash;
        store_rc_t want;
        unsigned long serial; /* of the waybill, when created */
        int existed;          /* the dossier was there before (another service of it) */
    } steps[] = {
        { "000.00.31.H23-241124-0001", "return", "h1", STORE_OK, 100, 0 },
        { "000.00.31.H23-241124-0001", "return", "h1", STORE_EXISTS, 0, 0 },   /* identical replay */
        { "000.00.31.H23-241124-0001", "return", "h2", STORE_CONFLICT, 0, 0 }, /* different body */
        { "000.00.31.H23-241124-0002", "return", "h3", STORE_OK, 101, 0 },
        { "000.00.31.H23-241124-0003", "send", "h4", STORE_OK, 102, 0 },
        { "000.00.31.H23-241124-0003", "return", "h6", STORE_OK, 103, 1 },   /* its second leg */
        { "000.00.31.H23-241124-0004", "return", "h5", STORE_EMPTY, 0, 0 },  /* four numbers only */
    };
    store_fixture_t f;
    store_dossier_view_t view;
    store_tx_t *tx = NULL;
    char why[200] = "";
    size_t i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(import(f.store, "RR", 100, 4, NULL), STORE_OK, "import");
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        store_intake_t in = intake_of(steps[i].code, steps[i].service, steps[i].hash);
        store_intake_result_t out;
        char want[S10_LEN + 1], what[80];

        snprintf(what, sizeof what, "step %zu (%s %s)", i, steps[i].code, steps[i].hash);
        want_rc(intake(f.store, &in, &out), steps[i].want, what);
        if (steps[i].want != STORE_OK)
            continue;
        s10_format("RR", steps[i].serial, "VN", want, sizeof want);
        if (strcmp(out.waybill, want) != 0)
            fail_msg("%s: got waybill %s, want %s", what, out.waybill, want);
        assert_string_equal(out.leg, strcmp(steps[i].service, "return") == 0 ? "return" : "send");
        if (out.dossier_existed != steps[i].existed)
            fail_msg("%s: dossier_existed %d, want %d", what, out.dossier_existed, steps[i].existed);
    }
    assert_int_equal(counts(f.store).dossiers, 3);
    assert_int_equal(counts(f.store).jobs_pending, 4);
    assert_int_equal(counts(f.store).codes_left, 0);
    /* the new dossier's chain starts at its first event, the second leg's event follows it */
    want_rc(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK, "read transaction");
    want_rc(store_dossiers_view(tx, "000.00.31.H23-241124-0003", &view), STORE_OK, "view");
    if (store_timeline_verify(tx, view.id, why, sizeof why) != STORE_OK)
        fail_msg("timeline of the two-leg dossier: %s", why);
    {
        int64_t count = 0;
        char head[STORE_HASH_HEX_LEN];

        want_rc(store_timeline_head(tx, view.id, &count, head), STORE_OK, "timeline head");
        assert_int_equal(count, 2);
    }
    store_dossier_view_free(&view);
    store_tx_abort(&tx);
    store_fixture_close(&f);
}

static void
test_import_overlap_and_status(void **state)
{
    static const struct {
        const char *prefix;
        long long from, count;
        store_rc_t want;
    } steps[] = {
        { "RR", 1000, 100, STORE_OK },
        { "RR", 1050, 100, STORE_CONFLICT }, /* inside */
        { "RR", 900, 101, STORE_CONFLICT },  /* touches the first number */
        { "RR", 1099, 1, STORE_CONFLICT },   /* the last number */
        { "RR", 1100, 50, STORE_OK },        /* right after */
        { "EE", 1000, 10, STORE_OK },        /* another service indicator */
    };
    store_code_range_t overlap;
    store_codes_t codes;
    store_tx_t *tx = NULL;
    store_fixture_t f;
    size_t i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char what[64];

        snprintf(what, sizeof what, "import %s %lld+%lld", steps[i].prefix, steps[i].from, steps[i].count);
        want_rc(import(f.store, steps[i].prefix, steps[i].from, steps[i].count, &overlap), steps[i].want, what);
        if (steps[i].want == STORE_CONFLICT && (overlap.first != 1000 || overlap.last != 1099))
            fail_msg("%s: got overlap %lld..%lld, want 1000..1099", what, overlap.first, overlap.last);
    }
    want_rc(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK, "read");
    want_rc(store_dossiers_codes_status(tx, &codes), STORE_OK, "codes status");
    store_tx_abort(&tx);
    assert_int_equal(codes.nranges, 3);
    if (codes.left != 160)
        fail_msg("left: got %lld, want 160", codes.left);
    assert_string_equal(codes.ranges[2].prefix, "EE");
    store_codes_free(&codes);
    assert_null(codes.ranges);
    store_fixture_close(&f);
}

/* importing a range failing at its Nth step: a clean STORE_BUSY and no range after the abort */
static void
test_import_failure_injection(void **state)
{
    store_fixture_t f;
    long n;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    for (n = 1; n < 50; n++) {
        store_tx_t *tx = NULL;
        store_rc_t rc;
        long long left;

        db_fail_at(n);
        rc = store_tx_begin(f.store, STORE_WRITE, &tx);
        if (rc == STORE_OK) {
            rc = store_dossiers_import_codes(tx, "RR", "VN", 100, 10, NOW, NULL);
            if (rc == STORE_OK)
                rc = store_tx_commit(&tx);
        }
        db_fail_at(0);
        store_tx_abort(&tx);
        left = counts(f.store).codes_left;
        if (rc == STORE_OK) {
            if (left != 10)
                fail_msg("after success at %ld: got %lld codes left, want 10", n, left);
            break;
        }
        if (rc != STORE_BUSY)
            fail_msg("import failing at step %ld: got %s, want busy", n, store_rc_name(rc));
        if (left != 0)
            fail_msg("import failing at step %ld left %lld codes, want 0", n, left);
    }
    if (n == 50)
        fail_msg("import never succeeded");
    store_fixture_close(&f);
}

static void
test_views(void **state)
{
    store_intake_t in = intake_of("000.00.31.H23-241124-0001", "return", "h1");
    store_intake_result_t made;
    store_dossier_view_t v;
    store_timeline_t t;
    store_tracking_t tr;
    char code[STORE_CODE_MAX], agency[STORE_CODE_MAX];
    store_tx_t *tx = NULL;
    store_fixture_t f;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(import(f.store, "RR", 100, 10, NULL), STORE_OK, "import");
    want_rc(intake(f.store, &in, &made), STORE_OK, "intake");
    want_rc(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK, "read");

    want_rc(store_dossiers_view(tx, in.code, &v), STORE_OK, "view");
    assert_string_equal(v.code, in.code);
    assert_string_equal(v.agency_code, AGENCY);
    assert_int_equal(v.created_at, NOW);
    assert_int_equal(v.nsubmissions, 1);
    assert_string_equal(v.submissions[0].service, "return");
    assert_string_equal(v.submissions[0].body, in.canonical_body);
    assert_int_equal(v.nshipments, 1);
    assert_string_equal(v.shipments[0].waybill, made.waybill);
    assert_string_equal(v.shipments[0].status, "created");
    assert_string_equal(v.shipments[0].carrier_ref, "");
    assert_int_equal(v.shipments[0].fee, -1);
    assert_int_equal(v.shipments[0].cod_amount, 25000);
    assert_string_equal(v.status, "created");
    store_dossier_view_free(&v);
    want_rc(store_dossiers_view(tx, "000.00.31.H23-241124-9999", &v), STORE_NOT_FOUND, "view of an unknown code");
    assert_non_null(strstr(store_tx_message(tx), "no dossier"));

    want_rc(store_dossiers_code_of_waybill(tx, made.waybill, code), STORE_OK, "code of waybill");
    assert_string_equal(code, in.code);
    want_rc(store_dossiers_code_of_waybill(tx, "RR000000000VN", code), STORE_NOT_FOUND, "unknown waybill");

    want_rc(store_dossiers_timeline(tx, in.code, &t), STORE_OK, "timeline");
    assert_int_equal(t.nevents, 1);
    assert_string_equal(t.events[0].status, "created");
    assert_string_equal(t.events[0].source, "gateway");
    assert_string_equal(t.events[0].waybill, made.waybill);
    assert_non_null(strstr(t.events[0].text, made.waybill));
    assert_string_equal(t.events[0].details, "{}");
    assert_int_equal(t.chain_valid, 1);
    store_timeline_free(&t);

    want_rc(store_dossiers_tracking(tx, made.waybill, &tr), STORE_OK, "tracking");
    assert_string_equal(tr.recipient_name, "Nguyễn Văn An");
    assert_string_equal(tr.commune_code, "26734");
    assert_string_equal(tr.leg, "return");
    assert_int_equal(tr.nevents, 1);
    store_tracking_free(&tr);

    {
        store_clerk_list_t list;

        want_rc(store_dossiers_clerk_list(tx, STORE_CLERK_READY, AGENCY, 0, 10, &list), STORE_OK, "clerk ready");
        if (list.nrows != 1 || strcmp(list.rows[0].waybill, made.waybill) != 0)
            fail_msg("clerk ready list: got %zu rows, want 1 with %s", list.nrows, made.waybill);
        assert_string_equal(list.rows[0].recipient_name, "Nguyễn Văn An");
        assert_non_null(strstr(list.rows[0].last_event, made.waybill));
        store_clerk_list_free(&list);
        want_rc(store_dossiers_clerk_list(tx, STORE_CLERK_READY, "000.00.01.H01", 0, 10, &list), STORE_OK,
                "clerk ready, other agency");
        assert_int_equal(list.nrows, 0);
        store_clerk_list_free(&list);
        want_rc(store_dossiers_clerk_list(tx, STORE_CLERK_PROBLEMS, "", 0, 10, &list), STORE_OK, "clerk problems");
        assert_int_equal(list.nrows, 0);
        store_clerk_list_free(&list);
    }
    {
        /* the search: by waybill (any case), code, name; filters; the token's agency */
        static const char *const hits[] = { "rr00000", "000.00.31", "Văn An", NULL };
        static const char *const misses[] = { "Văn Bình", "%", "RR9", NULL };
        store_search_t q;
        store_clerk_list_t list;
        long long total = -1;
        size_t i;

        memset(&q, 0, sizeof q);
        q.limit = 10;
        for (i = 0; hits[i]; i++) {
            q.q = hits[i];
            want_rc(store_dossiers_search(tx, &q, &list, &total), STORE_OK, "search");
            if (total != 1 || list.nrows != 1 || strcmp(list.rows[0].waybill, made.waybill) != 0)
                fail_msg("search %s: got %lld (%zu rows), want %s", hits[i], total, list.nrows, made.waybill);
            assert_string_equal(list.rows[0].leg, "return");
            assert_non_null(list.rows[0].recipient_phone);
            store_clerk_list_free(&list);
        }
        for (i = 0; misses[i]; i++) {
            q.q = misses[i];
            want_rc(store_dossiers_search(tx, &q, &list, &total), STORE_OK, "search");
            if (total != 0 || list.nrows != 0)
                fail_msg("search %s: got %lld, want none", misses[i], total);
            store_clerk_list_free(&list);
        }
        q.q = "";
        q.status = "delivered";
        want_rc(store_dossiers_search(tx, &q, &list, &total), STORE_OK, "search by status");
        assert_int_equal(total, 0);
        store_clerk_list_free(&list);
        q.status = "created";
        q.scope_agency = "000.00.01.H01";
        want_rc(store_dossiers_search(tx, &q, &list, &total), STORE_OK, "search, other agency's token");
        assert_int_equal(total, 0);
        store_clerk_list_free(&list);
        q.scope_agency = AGENCY;
        q.sort = STORE_SEARCH_WAYBILL;
        q.offset = 1; /* the second page of one match is empty, the total stays */
        want_rc(store_dossiers_search(tx, &q, &list, &total), STORE_OK, "search, page 2");
        if (total != 1 || list.nrows != 0)
            fail_msg("page 2: got %lld (%zu rows), want 1 (0 rows)", total, list.nrows);
        store_clerk_list_free(&list);
    }
    want_rc(store_dossiers_agency_of(tx, STORE_OWNED_WAYBILL, made.waybill, agency), STORE_OK, "agency of");
    assert_string_equal(agency, AGENCY);
    want_rc(store_dossiers_agency_of(tx, STORE_OWNED_DOSSIER, "nope", agency), STORE_NOT_FOUND, "agency of nothing");
    {
        /* the citizen's page reads what a cancel would see, in a read transaction (no locks) */
        store_cancel_target_t ct;

        want_rc(store_dossiers_cancel_target(tx, made.waybill, &ct), STORE_OK, "cancel target, reading");
        assert_int_equal(ct.shipment_id, made.shipment_id);
        assert_string_equal(ct.status, "created");
        assert_string_equal(ct.book_state, "ready");
        assert_int_equal(ct.has_carrier_ref, 0);
    }
    store_tx_abort(&tx);
    store_fixture_close(&f);
}

/* the clerk page's search on three dossiers: each filter, the text as a code or waybill
 * prefix, a name (ASCII letters in any case, LIKE's wildcards taken literally) or a phone
 * number as written, the token's agency, every sort order, pages and the total, and the
 * fields of a search row */
enum { S1, S2, S3, NSEARCH };
static const struct {
    const char *code, *agency, *service, *carrier, *name, *phone;
    int64_t created_at;
} searched[NSEARCH] = {
    { "000.00.31.H23-241124-0001", AGENCY, "return", "vnpost", "Nguyễn Văn An", "0912 345 678", NOW },
    { "000.00.31.H23-241124-0002", AGENCY, "send", "viettel", "Trần Thị Bình", "+84 987 654 321", NOW + 2000 },
    { "000.00.01.H01-241124-0003", "000.00.01.H01", "return", "vnpost", "Lê Văn C_1%", "", NOW + 1000 },
};

/* search_ids - the shipments q finds, as a string of S1..S3 digits ("312"), and *total */
static const char *
search_ids(store_t *s, const store_search_t *q, const store_intake_result_t made[NSEARCH], char out[8],
           long long *total)
{
    store_clerk_list_t list;
    store_tx_t *tx = NULL;
    size_t i, k, o = 0;

    want_rc(store_tx_begin(s, STORE_READ, &tx), STORE_OK, "read");
    want_rc(store_dossiers_search(tx, q, &list, total), STORE_OK, "search");
    for (i = 0; i < list.nrows && o < 7; i++)
        for (k = 0; k < NSEARCH; k++)
            if (strcmp(list.rows[i].waybill, made[k].waybill) == 0)
                out[o++] = (char)('1' + k);
    out[o] = '\0';
    store_clerk_list_free(&list);
    store_tx_abort(&tx);
    return out;
}

static void
test_search(void **state)
{
    /* intake order S2, S1, S3: waybill order differs from every other */
    static const int order[NSEARCH] = { S2, S1, S3 };
    static const struct {
        const char *what, *q, *status, *service, *carrier, *agency, *scope;
        int64_t from, to;
        const char *want; /* newest first */
    } finds[] = {
        { "everything", "", NULL, NULL, NULL, NULL, NULL, 0, 0, "231" },
        { "a code prefix", "000.00.31", NULL, NULL, NULL, NULL, NULL, 0, 0, "21" },
        { "not a prefix of a code", "H23-241124", NULL, NULL, NULL, NULL, NULL, 0, 0, "" },
        { "a name in other ASCII case", "văn an", NULL, NULL, NULL, NULL, NULL, 0, 0, "1" },
        { "part of a name", "Thị", NULL, NULL, NULL, NULL, NULL, 0, 0, "2" },
        { "an underscore, literally", "_", NULL, NULL, NULL, NULL, NULL, 0, 0, "3" },
        { "a percent sign, literally", "%", NULL, NULL, NULL, NULL, NULL, 0, 0, "3" },
        { "both, literally", "C_1%", NULL, NULL, NULL, NULL, NULL, 0, 0, "3" },
        { "a backslash", "\\", NULL, NULL, NULL, NULL, NULL, 0, 0, "" },
        { "a phone without spaces", "0912345678", NULL, NULL, NULL, NULL, NULL, 0, 0, "1" },
        { "a phone with +84", "+84 912 345 678", NULL, NULL, NULL, NULL, NULL, 0, 0, "1" },
        { "a phone stored with +84", "0987654321", NULL, NULL, NULL, NULL, NULL, 0, 0, "2" },
        { "part of a phone", "654-321", NULL, NULL, NULL, NULL, NULL, 0, 0, "2" },
        { "three digits are no phone", "345", NULL, NULL, NULL, NULL, NULL, 0, 0, "" },
        { "a status", "", "delivery_failed", NULL, NULL, NULL, NULL, 0, 0, "1" },
        { "a service", "", NULL, "return", NULL, NULL, NULL, 0, 0, "31" },
        { "a carrier", "", NULL, NULL, "viettel", NULL, NULL, 0, 0, "2" },
        { "an agency", "", NULL, NULL, NULL, "000.00.01.H01", NULL, 0, 0, "3" },
        { "the token's agency", "", NULL, NULL, NULL, NULL, AGENCY, 0, 0, "21" },
        { "another agency than the token's", "", NULL, NULL, NULL, "000.00.01.H01", AGENCY, 0, 0, "" },
        { "from", "", NULL, NULL, NULL, NULL, NULL, NOW + 1000, 0, "23" },
        { "to, excluded", "", NULL, NULL, NULL, NULL, NULL, 0, NOW + 1000, "1" },
        { "filters together", "Văn", NULL, "return", "vnpost", NULL, AGENCY, 0, 0, "1" },
    };
    /* each order a different permutation of the three */
    static const char *const sorted[STORE_SEARCH_SORTS] = {
        [STORE_SEARCH_NEWEST] = "231",  [STORE_SEARCH_OLDEST] = "132",  [STORE_SEARCH_STATUS_TIME] = "123",
        [STORE_SEARCH_WAYBILL] = "213", [STORE_SEARCH_DOSSIER] = "312", [STORE_SEARCH_AGENCY] = "321",
    };
    store_intake_result_t made[NSEARCH];
    store_dossier_view_t v;
    store_clerk_list_t list;
    store_search_t q;
    store_tx_t *tx = NULL;
    store_fixture_t f;
    long long total;
    char got[8];
    size_t i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(import(f.store, "RR", 100, 10, NULL), STORE_OK, "import");
    for (i = 0; i < NSEARCH; i++) {
        int k = order[i];
        char body[400];
        store_intake_t in = intake_of(searched[k].code, searched[k].service, "h");

        snprintf(body, sizeof body,
                 "{\"recipient\": {\"name\": \"%s\", \"phone\": \"%s\", \"province_code\": \"79\","
                 " \"commune_code\": \"26734\"}, \"agency\": {\"name\": \"UBND phường Bến Thành\"}}",
                 searched[k].name, searched[k].phone);
        in.canonical_body = body;
        in.agency_code = searched[k].agency;
        in.carrier = searched[k].carrier;
        want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
        want_rc(store_dossiers_intake(tx, &in, searched[k].created_at, &made[k]), STORE_OK, "intake");
        want_rc(store_tx_commit(&tx), STORE_OK, "commit");
    }
    /* S1's delivery failed last, with the carrier's reason */
    want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
    want_rc(store_dossiers_view(tx, searched[S1].code, &v), STORE_OK, "view");
    {
        store_timeline_event_t ev = {
            .dossier_id = v.id,
            .shipment_id = made[S1].shipment_id,
            .event_time = NOW + 5000,
            .received_at = NOW + 5000,
            .source = "carrier",
            .status = "delivery_failed",
            .text = "Phát không thành công",
            .details = "{\"reason\": \"Không có người nhận\"}",
        };

        want_rc(store_timeline_append(tx, &ev), STORE_OK, "failed delivery event");
    }
    store_dossier_view_free(&v);
    want_rc(store_shipments_set_status(tx, made[S1].shipment_id, "delivery_failed", NOW + 5000, NOW + 5000), STORE_OK,
            "status");
    want_rc(store_shipments_record_attempt(tx, made[S1].shipment_id, NOW + 5000, 1), STORE_OK, "attempt");
    want_rc(store_tx_commit(&tx), STORE_OK, "commit");

    for (i = 0; i < sizeof finds / sizeof finds[0]; i++) {
        memset(&q, 0, sizeof q);
        q.q = finds[i].q;
        q.status = finds[i].status;
        q.service = finds[i].service;
        q.carrier = finds[i].carrier;
        q.agency = finds[i].agency;
        q.scope_agency = finds[i].scope;
        q.from = finds[i].from;
        q.to = finds[i].to;
        q.limit = 10;
        search_ids(f.store, &q, made, got, &total);
        if (strcmp(got, finds[i].want) != 0 || total != (long long)strlen(finds[i].want))
            fail_msg("search for %s (%s): got \"%s\" of %lld, want \"%s\"", finds[i].what, finds[i].q, got, total,
                     finds[i].want);
    }
    memset(&q, 0, sizeof q);
    q.limit = 10;
    for (i = 0; i < STORE_SEARCH_SORTS; i++) {
        q.sort = (store_search_sort_t)i;
        if (strcmp(search_ids(f.store, &q, made, got, &total), sorted[i]) != 0)
            fail_msg("sort %zu: got %s, want %s", i, got, sorted[i]);
    }
    q.sort = (store_search_sort_t)99; /* no such order: the newest first */
    assert_string_equal(search_ids(f.store, &q, made, got, &total), sorted[STORE_SEARCH_NEWEST]);
    q.sort = STORE_SEARCH_NEWEST;
    q.limit = 2;
    assert_string_equal(search_ids(f.store, &q, made, got, &total), "23");
    assert_int_equal(total, 3);
    q.offset = 2;
    assert_string_equal(search_ids(f.store, &q, made, got, &total), "1");
    assert_int_equal(total, 3);
    q.offset = 3;
    assert_string_equal(search_ids(f.store, &q, made, got, &total), "");
    assert_int_equal(total, 3);

    /* a search row's fields */
    memset(&q, 0, sizeof q);
    q.q = made[S1].waybill;
    q.limit = 10;
    want_rc(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK, "read");
    want_rc(store_dossiers_search(tx, &q, &list, &total), STORE_OK, "search");
    assert_int_equal(list.nrows, 1);
    {
        const store_clerk_row_t *r = &list.rows[0];

        assert_string_equal(r->dossier_code, searched[S1].code);
        assert_string_equal(r->agency_code, AGENCY);
        assert_string_equal(r->status, "delivery_failed");
        assert_string_equal(r->carrier, "vnpost");
        assert_int_equal(r->status_time, NOW + 5000);
        assert_int_equal(r->created_at, NOW);
        assert_int_equal(r->cod_amount, 25000);
        assert_int_equal(r->label_prints, 0);
        assert_string_equal(r->recipient_name, "Nguyễn Văn An");
        assert_string_equal(r->province_code, "79");
        assert_string_equal(r->commune_code, "26734");
        assert_string_equal(r->last_event, "Phát không thành công");
        assert_int_equal(r->booking_dead, 0);
        assert_string_equal(r->leg, "return");
        assert_string_equal(r->service, "return");
        assert_string_equal(r->recipient_phone, "0912 345 678");
        assert_string_equal(r->agency_name, "UBND phường Bến Thành");
        assert_string_equal(r->fail_reason, "Không có người nhận");
        assert_int_equal(r->last_attempt_at, NOW + 5000);
        assert_int_equal(r->attempts, 1);
    }
    store_clerk_list_free(&list);
    q.q = made[S2].waybill;
    want_rc(store_dossiers_search(tx, &q, &list, &total), STORE_OK, "search");
    assert_int_equal(list.nrows, 1);
    assert_string_equal(list.rows[0].leg, "send");
    assert_string_equal(list.rows[0].service, "send");
    assert_string_equal(list.rows[0].fail_reason, "");
    assert_int_equal(list.rows[0].attempts, 0);
    assert_int_equal(list.rows[0].last_attempt_at, 0);
    store_clerk_list_free(&list);
    /* the clerk's problems list reads the same row, without the search's fields */
    want_rc(store_dossiers_clerk_list(tx, STORE_CLERK_PROBLEMS, AGENCY, 0, 10, &list), STORE_OK, "problems");
    if (list.nrows != 1 || strcmp(list.rows[0].waybill, made[S1].waybill) != 0)
        fail_msg("problems: got %zu rows, want %s", list.nrows, made[S1].waybill);
    assert_string_equal(list.rows[0].status, "delivery_failed");
    assert_string_equal(list.rows[0].last_event, "Phát không thành công");
    assert_string_equal(list.rows[0].leg, "");
    assert_null(list.rows[0].fail_reason);
    store_clerk_list_free(&list);
    store_tx_abort(&tx);
    store_fixture_close(&f);
}

/* the defect "truncated reads answered 200": a read failing at its Nth step must be a clean
 * STORE_BUSY with nothing returned, never part of the dossier or timeline */
static void
test_view_reads_fail_cleanly(void **state)
{
    store_intake_t a = intake_of("000.00.31.H23-241124-0001", "send", "h1");
    store_intake_t b = intake_of("000.00.31.H23-241124-0001", "return", "h2");
    store_intake_result_t made;
    store_fixture_t f;
    int which;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(import(f.store, "RR", 100, 10, NULL), STORE_OK, "import");
    want_rc(intake(f.store, &a, &made), STORE_OK, "intake send");
    want_rc(intake(f.store, &b, &made), STORE_OK, "intake return");
    for (which = 0; which < 3; which++) {
        long n;

        for (n = 1; n < 100; n++) {
            store_tx_t *tx = NULL;
            store_dossier_view_t v;
            store_timeline_t t;
            store_tracking_t tr;
            store_rc_t rc;

            memset(&v, 0, sizeof v);
            memset(&t, 0, sizeof t);
            memset(&tr, 0, sizeof tr);
            db_fail_at(n);
            rc = store_tx_begin(f.store, STORE_READ, &tx);
            if (rc == STORE_OK) {
                if (which == 0)
                    rc = store_dossiers_view(tx, a.code, &v);
                else if (which == 1)
                    rc = store_dossiers_timeline(tx, a.code, &t);
                else
                    rc = store_dossiers_tracking(tx, made.waybill, &tr);
            }
            db_fail_at(0);
            store_tx_abort(&tx);
            if (rc == STORE_OK) {
                if (which == 0 && (v.nshipments != 2 || v.nsubmissions != 2))
                    fail_msg("view after %ld: got %zu shipments, %zu submissions, want 2 and 2", n, v.nshipments,
                             v.nsubmissions);
                if (which == 1 && (t.nevents != 2 || !t.chain_valid))
                    fail_msg("timeline after %ld: got %zu events (chain %d), want 2 (chain 1)", n, t.nevents,
                             t.chain_valid);
                store_dossier_view_free(&v);
                store_timeline_free(&t);
                store_tracking_free(&tr);
                break;
            }
            if (rc != STORE_BUSY)
                fail_msg("read %d failing at step %ld: got %s, want busy", which, n, store_rc_name(rc));
            if (v.shipments || v.submissions || t.events || tr.events || tr.recipient_name)
                fail_msg("read %d failing at step %ld returned a partial record", which, n);
        }
        if (n == 100)
            fail_msg("read %d never succeeded", which);
    }
    store_fixture_close(&f);
}

/* intake failing at its Nth step: a clean STORE_BUSY, and after the abort no dossier, no
 * shipment, no job, the pool unchanged */
static void
test_intake_failure_injection(void **state)
{
    store_intake_t in = intake_of("000.00.31.H23-241124-0001", "return", "h1");
    store_fixture_t f;
    long n;

    (void)state;
    /* injects SQLite's failures, and counts the pool number by number (PostgreSQL reserves blocks) */
    STORE_FIXTURE_SQLITE_ONLY();
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(import(f.store, "RR", 100, 10, NULL), STORE_OK, "import");
    for (n = 1; n < 200; n++) {
        store_intake_result_t made;
        store_health_counts_t c;
        store_tx_t *tx = NULL;
        store_rc_t rc;

        db_fail_at(n);
        rc = store_tx_begin(f.store, STORE_WRITE, &tx);
        if (rc == STORE_OK) {
            rc = store_dossiers_intake(tx, &in, NOW, &made);
            if (rc == STORE_OK)
                rc = store_tx_commit(&tx);
        }
        db_fail_at(0);
        store_tx_abort(&tx);
        c = counts(f.store);
        if (rc == STORE_OK) {
            if (c.dossiers != 1 || c.jobs_pending != 1 || c.codes_left != 9)
                fail_msg("after success at %ld: got %lld dossiers, %lld jobs, %lld codes left, want 1, 1, 9", n,
                         c.dossiers, c.jobs_pending, c.codes_left);
            break;
        }
        if (rc != STORE_BUSY)
            fail_msg("intake failing at step %ld: got %s, want busy", n, store_rc_name(rc));
        if (c.dossiers != 0 || c.jobs_pending != 0 || c.codes_left != 10)
            fail_msg("intake failing at step %ld left %lld dossiers, %lld jobs, %lld codes left; want 0, 0, 10", n,
                     c.dossiers, c.jobs_pending, c.codes_left);
        {
            store_dossier_view_t v;

            want_rc(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK, "read");
            want_rc(store_dossiers_view(tx, in.code, &v), STORE_NOT_FOUND, "dossier after a failed intake");
            store_tx_abort(&tx);
        }
    }
    if (n == 200)
        fail_msg("intake never succeeded");
    store_fixture_close(&f);
}

static void
copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[8192];
    size_t n;

    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void
reopen(store_fixture_t *f)
{
    char err[256];

    store_close(&f->store);
    f->store = store_open(f->uri, err, sizeof err);
    if (!f->store)
        fail_msg("reopen: %s", err);
}

static unsigned long
serial_of(const char *waybill)
{
    return strtoul(waybill + 2, NULL, 10) / 10; /* 8 digits of serial, 1 check digit */
}

/* the defect "a restore re-issues S10 numbers": back up, hand out more, restore the backup,
 * and the next number is still one never handed out */
static void
test_restore_never_reissues(void **state)
{
    store_intake_t a = intake_of("000.00.31.H23-241124-0001", "return", "h1");
    store_intake_t b = intake_of("000.00.31.H23-241124-0002", "return", "h2");
    store_intake_t c = intake_of("000.00.31.H23-241124-0003", "return", "h3");
    store_intake_t d = intake_of("000.00.31.H23-241124-0004", "return", "h4");
    store_intake_result_t made;
    char db[600], backup[600];
    unsigned long issued_max;
    store_fixture_t f;

    (void)state;
    STORE_FIXTURE_SQLITE_ONLY(); /* restores a copy of the database file */
    assert_int_equal(store_fixture_open(&f), 0);
    snprintf(db, sizeof db, "%s/bcci.db", f.dir);
    snprintf(backup, sizeof backup, "%s/backup.db", f.dir);
    want_rc(import(f.store, "RR", 100, 5000, NULL), STORE_OK, "import");
    want_rc(intake(f.store, &a, &made), STORE_OK, "intake a");
    store_close(&f.store); /* checkpoints the WAL into the file */
    copy_file(db, backup);
    reopen(&f);
    want_rc(intake(f.store, &b, &made), STORE_OK, "intake b");
    want_rc(intake(f.store, &c, &made), STORE_OK, "intake c");
    issued_max = serial_of(made.waybill);
    store_close(&f.store);
    copy_file(backup, db); /* the operator restores the backup */
    reopen(&f);
    want_rc(intake(f.store, &d, &made), STORE_OK, "intake d after the restore");
    if (serial_of(made.waybill) <= issued_max)
        fail_msg("after the restore: got waybill %s (serial %lu), want a serial above %lu, the last one issued",
                 made.waybill, serial_of(made.waybill), issued_max);
    store_fixture_close(&f);
}

/* the cancel rule's reads and writes: the target, no manifest to leave, the booking withdrawn,
 * a carrier cancel queued with its timeline note */
static void
test_cancel_steps(void **state)
{
    store_intake_t a = intake_of("000.00.31.H23-241124-0001", "return", "h1");
    store_intake_result_t made;
    store_cancel_target_t t;
    store_timeline_t tl;
    store_tx_t *tx = NULL;
    store_fixture_t f;
    int left = -1;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(import(f.store, "RR", 100, 10, NULL), STORE_OK, "import");
    want_rc(intake(f.store, &a, &made), STORE_OK, "intake");
    want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
    want_rc(store_dossiers_cancel_target(tx, "RR000000000VN", &t), STORE_NOT_FOUND, "unknown waybill");
    want_rc(store_dossiers_cancel_target(tx, made.waybill, &t), STORE_OK, "target");
    assert_int_equal(t.shipment_id, made.shipment_id);
    assert_string_equal(t.status, "created");
    assert_string_equal(t.carrier, "vnpost");
    assert_string_equal(t.book_state, "ready");
    assert_int_equal(t.has_carrier_ref, 0);
    want_rc(store_dossiers_leave_manifest(tx, &t, "clerk", NOW, &left), STORE_OK, "leave manifest");
    if (left != 0)
        fail_msg("leave manifest: got left %d, want 0 (on no manifest)", left);
    want_rc(store_dossiers_withdraw_booking(tx, t.shipment_id, NOW), STORE_OK, "withdraw booking");
    want_rc(store_dossiers_request_cancel(tx, &t, "clerk", NOW), STORE_OK, "request cancel");
    want_rc(store_tx_commit(&tx), STORE_OK, "commit");
    if (counts(f.store).jobs_pending != 1)
        fail_msg("jobs pending: got %lld, want 1 (the cancel job; the booking was withdrawn)",
                 counts(f.store).jobs_pending);
    want_rc(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK, "read");
    want_rc(store_dossiers_timeline(tx, a.code, &tl), STORE_OK, "timeline");
    if (tl.nevents != 2 || strcmp(tl.events[1].source, "clerk") != 0 || !tl.chain_valid)
        fail_msg("timeline: got %zu events, want 2 with the clerk's cancel note last and the chain intact",
                 tl.nevents);
    store_timeline_free(&tl);
    store_tx_abort(&tx);
    store_fixture_close(&f);
}

/* a clean stop and start skips no number: the close lowered the reservation to what was used */
static void
test_clean_restart_skips_nothing(void **state)
{
    store_intake_t a = intake_of("000.00.31.H23-241124-0001", "return", "h1");
    store_intake_t b = intake_of("000.00.31.H23-241124-0002", "return", "h2");
    store_intake_result_t made;
    store_fixture_t f;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(import(f.store, "RR", 100, 5000, NULL), STORE_OK, "import");
    want_rc(intake(f.store, &a, &made), STORE_OK, "intake a");
    reopen(&f);
    want_rc(intake(f.store, &b, &made), STORE_OK, "intake b");
    if (serial_of(made.waybill) != 101)
        fail_msg("after a clean restart: got serial %lu, want 101", serial_of(made.waybill));
    store_fixture_close(&f);
}

static void
test_reassign_waybill(void **state)
{
    store_intake_t a = intake_of("000.00.31.H23-241124-0001", "return", "h1");
    store_intake_result_t made;
    char fresh[STORE_WAYBILL_MAX], code[STORE_CODE_MAX];
    store_tx_t *tx = NULL;
    store_fixture_t f;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(import(f.store, "RR", 100, 2, NULL), STORE_OK, "import");
    want_rc(intake(f.store, &a, &made), STORE_OK, "intake");
    want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
    want_rc(store_dossiers_reassign_waybill(tx, made.shipment_id, NOW, fresh), STORE_OK, "reassign");
    if (strcmp(fresh, made.waybill) == 0)
        fail_msg("reassign: got the same waybill %s, want a new one", fresh);
    want_rc(store_dossiers_reassign_waybill(tx, made.shipment_id, NOW, fresh), STORE_EMPTY, "reassign, pool empty");
    want_rc(store_dossiers_reassign_waybill(tx, 9999, NOW, fresh), STORE_NOT_FOUND, "reassign unknown");
    want_rc(store_tx_commit(&tx), STORE_OK, "commit");
    want_rc(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK, "read");
    want_rc(store_dossiers_code_of_waybill(tx, made.waybill, code), STORE_NOT_FOUND, "old waybill");
    store_tx_abort(&tx);
    store_fixture_close(&f);
}


/* an import and intakes in one write transaction (one batch of the engine): the intakes take
 * their numbers from the range not committed yet */
/* clerk_has - the row of waybill in list, or NULL */
static const store_clerk_row_t *
clerk_has(const store_clerk_list_t *list, const char *waybill)
{
    size_t i;

    for (i = 0; i < list->nrows; i++)
        if (strcmp(list->rows[i].waybill, waybill) == 0)
            return &list->rows[i];
    return NULL;
}

/* the problem list also holds items past their due date still on the way (not once delivered
 * or cancelled) and deliveries whose proof did not match the dossier (a timeline note of kind
 * proof_mismatch); the rows say which ones are past due */
static void
test_clerk_problems_breaches_and_proof_mismatch(void **state)
{
    static const char *const codes[3] = { AGENCY "-241124-0001", AGENCY "-241124-0002", AGENCY "-241124-0003" };
    store_intake_result_t made[3];
    const store_clerk_row_t *row;
    store_clerk_list_t list;
    store_shipment_t ship;
    store_tx_t *tx = NULL;
    store_fixture_t f;
    int i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(import(f.store, "RR", 100, 10, NULL), STORE_OK, "import");
    for (i = 0; i < 3; i++) {
        store_intake_t in = intake_of(codes[i], "return", codes[i]);

        want_rc(intake(f.store, &in, &made[i]), STORE_OK, "intake");
    }
    want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
    /* 0: past due, in transit; 1: past due, then delivered; 2: delivered to the wrong person */
    want_rc(store_shipments_set_status(tx, made[0].shipment_id, "in_transit", NOW + 1, NOW + 1), STORE_OK, "transit");
    want_rc(store_shipments_mark_breached(tx, made[0].shipment_id), STORE_OK, "breach 0");
    want_rc(store_shipments_mark_breached(tx, made[1].shipment_id), STORE_OK, "breach 1");
    want_rc(store_shipments_set_status(tx, made[1].shipment_id, "delivered", NOW + 2, NOW + 2), STORE_OK, "delivered");
    want_rc(store_shipments_set_status(tx, made[2].shipment_id, "delivered", NOW + 3, NOW + 3), STORE_OK, "delivered");
    want_rc(store_shipments_get(tx, made[2].shipment_id, &ship), STORE_OK, "get");
    {
        store_timeline_event_t note = {
            .dossier_id = ship.dossier_id, .shipment_id = ship.id, .event_time = NOW + 4, .received_at = NOW + 4,
            .source = "gateway", .text = "Người nhận không khớp với hồ sơ",
            .details = "{\"kind\":\"proof_mismatch\",\"relation\":\"neighbour\"}",
        };
        want_rc(store_timeline_append(tx, &note), STORE_OK, "proof mismatch note");
    }
    want_rc(store_tx_commit(&tx), STORE_OK, "commit");

    want_rc(store_tx_begin(f.store, STORE_READ, &tx), STORE_OK, "read");
    want_rc(store_dossiers_clerk_list(tx, STORE_CLERK_PROBLEMS, AGENCY, 0, 10, &list), STORE_OK, "clerk problems");
    if (list.nrows != 2 || !clerk_has(&list, made[0].waybill) || !clerk_has(&list, made[2].waybill))
        fail_msg("clerk problems: got %zu rows, want the past-due one in transit and the proof mismatch", list.nrows);
    row = clerk_has(&list, made[0].waybill);
    assert_int_equal(row->sla_breached, 1);
    row = clerk_has(&list, made[2].waybill);
    assert_int_equal(row->sla_breached, 0);
    store_clerk_list_free(&list);
    store_tx_abort(&tx);
    store_fixture_close(&f);
}

static void
test_import_and_intake_in_one_transaction(void **state)
{
    store_intake_t a = intake_of("000.00.31.H23-241124-0001", "return", "h1");
    store_intake_t b = intake_of("000.00.31.H23-241124-0002", "return", "h2");
    store_intake_result_t made;
    store_tx_t *tx = NULL;
    store_fixture_t f;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
    want_rc(store_dossiers_import_codes(tx, "RR", "VN", 100, 50, NOW, NULL), STORE_OK, "import");
    want_rc(store_dossiers_intake(tx, &a, NOW, &made), STORE_OK, "intake in the importing transaction");
    want_rc(store_tx_commit(&tx), STORE_OK, "commit");
    if (serial_of(made.waybill) != 100)
        fail_msg("intake beside the import: got serial %lu, want 100", serial_of(made.waybill));
    want_rc(intake(f.store, &b, &made), STORE_OK, "intake after");
    if (serial_of(made.waybill) != 101)
        fail_msg("intake after the import: got serial %lu, want 101", serial_of(made.waybill));
    store_fixture_close(&f);
}

/* ------------------------------------------- several instances on one database */

static store_t *
second_instance(const store_fixture_t *f)
{
    char err[512];
    store_t *s = store_open(f->uri, err, sizeof err);

    if (!s)
        fail_msg("second instance: %s", err);
    return s;
}

typedef struct {
    store_t *store;
    store_intake_t in;
    store_intake_result_t out;
    store_rc_t rc;
} intake_call_t;

static void *
intake_thread(void *arg)
{
    intake_call_t *c = arg;

    c->rc = intake(c->store, &c->in, &c->out);
    return NULL;
}

/* wait_for_a_lock_wait - until a session on the test's database waits for a lock (bounded:
 * an ordering aid, not a timed assertion) */
static void
wait_for_a_lock_wait(store_fixture_t *f)
{
    int i;

    for (i = 0; i < 2000; i++) {
        if (store_fixture_int(f, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                 " AND wait_event_type = 'Lock'") > 0)
            return;
        usleep(5000);
    }
    fail_msg("the second instance never waited for the first one's uncommitted dossier");
}

/* the same dossier sent to two instances at once: the second waits for the first's
 * uncommitted dossier, then answers as a replay (same body: the first's waybill) or a
 * conflict (another body); one shipment either way */
static void
test_same_dossier_on_two_instances(void **state)
{
    static const struct {
        const char *code, *second_hash;
        store_rc_t want;
    } cases[] = {
        { "000.00.31.H23-241124-0001", "h1", STORE_EXISTS },
        { "000.00.31.H23-241124-0002", "other", STORE_CONFLICT },
    };
    store_fixture_t f;
    store_t *b;
    size_t i;

    (void)state;
    if (store_fixture_sqlite())
        skip(); /* one process per SQLite file */
    assert_int_equal(store_fixture_open(&f), 0);
    b = second_instance(&f);
    want_rc(import(f.store, "RR", 100, 1000, NULL), STORE_OK, "import");
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_intake_t first = intake_of(cases[i].code, "return", "h1");
        intake_call_t second = { .store = b, .in = intake_of(cases[i].code, "return", cases[i].second_hash) };
        store_intake_result_t made;
        store_dossier_view_t v;
        store_tx_t *tx = NULL;
        pthread_t th;

        want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write on the first instance");
        want_rc(store_dossiers_intake(tx, &first, NOW, &made), STORE_OK, "intake on the first instance");
        assert_int_equal(pthread_create(&th, NULL, intake_thread, &second), 0);
        wait_for_a_lock_wait(&f);
        want_rc(store_tx_commit(&tx), STORE_OK, "commit on the first instance");
        assert_int_equal(pthread_join(th, NULL), 0);
        want_rc(second.rc, cases[i].want, "the same dossier on the second instance");

        want_rc(store_tx_begin(b, STORE_READ, &tx), STORE_OK, "read on the second instance");
        want_rc(store_dossiers_view(tx, cases[i].code, &v), STORE_OK, "view on the second instance");
        store_tx_abort(&tx);
        if (v.nshipments != 1 || strcmp(v.shipments[0].waybill, made.waybill) != 0)
            fail_msg("case %zu: got %zu shipments (first %s), want 1 with %s", i, v.nshipments,
                     v.nshipments ? v.shipments[0].waybill : "-", made.waybill);
        store_dossier_view_free(&v);
    }
    assert_int_equal(counts(f.store).dossiers, 2);
    assert_int_equal(counts(b).jobs_pending, 2);
    store_close(&b);
    store_fixture_close(&f);
}

#define BLOCK_INTAKES 80

typedef struct {
    store_t *store;
    int who;
    char codes[BLOCK_INTAKES][STORE_CODE_MAX];
    char waybills[BLOCK_INTAKES][STORE_WAYBILL_MAX]; /* committed or rolled back */
    store_rc_t failed;                                 /* the first result that was not STORE_OK */
    int committed;
} intakes_t;

/* many_intakes - BLOCK_INTAKES intakes, each in its own transaction; every fifth rolls back */
static void *
many_intakes(void *arg)
{
    intakes_t *w = arg;
    int i;

    for (i = 0; i < BLOCK_INTAKES && w->failed == STORE_OK; i++) {
        store_intake_t in;
        store_intake_result_t out;
        store_tx_t *tx = NULL;
        store_rc_t rc;

        snprintf(w->codes[i], sizeof w->codes[i], "000.00.31.H23-241124-%d%03d", w->who, i);
        in = intake_of(w->codes[i], "return", w->codes[i]);
        rc = store_tx_begin(w->store, STORE_WRITE, &tx);
        if (rc == STORE_OK)
            rc = store_dossiers_intake(tx, &in, NOW, &out);
        if (rc == STORE_OK) {
            snprintf(w->waybills[i], sizeof w->waybills[i], "%s", out.waybill);
            if (i % 5 == 4) {
                store_tx_abort(&tx);
                continue;
            }
            rc = store_tx_commit(&tx);
            w->committed += rc == STORE_OK;
        }
        store_tx_abort(&tx);
        if (rc != STORE_OK)
            w->failed = rc;
    }
    return NULL;
}

static int
by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* S10 numbers in blocks per instance: a block outlives the rolled-back intake that took it,
 * and two instances taking numbers at once (from small ranges, so blocks are taken often and
 * ranges run out under them) never hand out one number twice */
static void
test_s10_blocks_on_two_instances(void **state)
{
    store_intake_t a1 = intake_of("000.00.31.H23-241124-0001", "return", "h1");
    store_intake_t b1 = intake_of("000.00.31.H23-241124-0002", "return", "h2");
    store_intake_t a2 = intake_of("000.00.31.H23-241124-0003", "return", "h3");
    char all[2 * BLOCK_INTAKES][STORE_WAYBILL_MAX];
    store_intake_result_t first, made;
    static intakes_t w[2];
    store_tx_t *tx = NULL;
    store_fixture_t f;
    long long next_free;
    size_t n = 0, i;
    store_t *b;
    pthread_t th[2];
    int k;

    (void)state;
    if (store_fixture_sqlite())
        skip(); /* one process per SQLite file */
    assert_int_equal(store_fixture_open(&f), 0);
    b = second_instance(&f);
    /* ranges of 10 and 30: blocks are taken often and ranges run out under the instances */
    want_rc(import(f.store, "RR", 100, 10, NULL), STORE_OK, "import");
    for (k = 0; k < 10; k++)
        want_rc(import(f.store, "EE", 1000 + 100 * k, 30, NULL), STORE_OK, "import a small range");

    /* the first instance's intake rolls back; its block (all of RR) stays its own */
    want_rc(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK, "write");
    want_rc(store_dossiers_intake(tx, &a1, NOW, &first), STORE_OK, "intake rolled back");
    store_tx_abort(&tx);
    want_rc(intake(b, &b1, &made), STORE_OK, "intake on the second instance");
    if (strncmp(made.waybill, "RR", 2) == 0)
        fail_msg("second instance: got %s, inside the first instance's block RR 100..109", made.waybill);
    want_rc(intake(f.store, &a2, &made), STORE_OK, "intake on the first instance again");
    if (serial_of(made.waybill) != serial_of(first.waybill) + 1)
        fail_msg("first instance: got serial %lu, want %lu (its block, the rolled-back number skipped)",
                 serial_of(made.waybill), serial_of(first.waybill) + 1);

    /* both at once */
    memset(w, 0, sizeof w);
    for (k = 0; k < 2; k++) {
        w[k].store = k ? b : f.store;
        w[k].who = k + 1;
        assert_int_equal(pthread_create(&th[k], NULL, many_intakes, &w[k]), 0);
    }
    for (k = 0; k < 2; k++)
        assert_int_equal(pthread_join(th[k], NULL), 0);
    for (k = 0; k < 2; k++) {
        if (w[k].failed != STORE_OK)
            fail_msg("instance %d: an intake answered %s", k + 1, store_rc_name(w[k].failed));
        for (i = 0; i < BLOCK_INTAKES; i++)
            memcpy(all[n++], w[k].waybills[i], STORE_WAYBILL_MAX);
    }
    qsort(all, n, sizeof all[0], by_text);
    for (i = 1; i < n; i++)
        if (strcmp(all[i - 1], all[i]) == 0)
            fail_msg("waybill %s was handed out twice", all[i]);
    if (store_fixture_int(&f, "SELECT count(*) FROM shipments") != 2 + w[0].committed + w[1].committed)
        fail_msg("got %lld shipments, want %d", store_fixture_int(&f, "SELECT count(*) FROM shipments"),
                 2 + w[0].committed + w[1].committed);
    /* code_ranges.next is the first serial nobody reserved: every number handed out is below it */
    for (i = 0; i < n; i++) {
        char sql[200];

        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM code_ranges WHERE prefix = '%.2s' AND %lu BETWEEN first AND next - 1",
                 all[i], serial_of(all[i]));
        if (store_fixture_int(&f, sql) != 1)
            fail_msg("waybill %s was handed out without being reserved in code_ranges", all[i]);
    }
    next_free = store_fixture_int(&f, "SELECT COALESCE(SUM(last - next + 1), 0) FROM code_ranges");
    if (next_free < 0 || next_free > 310 - 3 - (long long)n)
        fail_msg("codes left: got %lld, want at most %lld", next_free, 310 - 3 - (long long)n);
    store_close(&b);
    store_fixture_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intake_created_replay_conflict_empty),
        cmocka_unit_test(test_import_overlap_and_status),
        cmocka_unit_test(test_import_failure_injection),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_view_reads_fail_cleanly),
        cmocka_unit_test(test_intake_failure_injection),
        cmocka_unit_test(test_restore_never_reissues),
        cmocka_unit_test(test_cancel_steps),
        cmocka_unit_test(test_clean_restart_skips_nothing),
        cmocka_unit_test(test_reassign_waybill),
        cmocka_unit_test(test_clerk_problems_breaches_and_proof_mismatch),
        cmocka_unit_test(test_import_and_intake_in_one_transaction),
        cmocka_unit_test(test_same_dossier_on_two_instances),
        cmocka_unit_test(test_s10_blocks_on_two_instances),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
