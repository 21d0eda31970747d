/*
 * jobs_test - the job table through the store's interface (store_jobs.h) on a temporary store of
 * the backend BCCI_TEST_STORE picks (store_fixture.h)
 *
 * Enqueue is unique per (shipment, kind, purpose); leases, settling, retries
 * into dead, lease expiry and revival move jobs as store_jobs.h says;
 * listings and counts are typed. Failure injection fails the Nth SQLite step
 * of an operation (N = 1, 2, 3, … until it succeeds): each failure must be a
 * clean STORE_BUSY or STORE_ERROR, leave nothing half-written once the
 * transaction is aborted, and a read must never answer a partial result (SQLite).
 * On PostgreSQL, two instances on one database: their dispatchers never lease one job
 * twice (SKIP LOCKED), a starting instance puts back only its own leases, and a dead
 * instance's leases come back when they expire.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/store/sqlite/db.h"
#include "gateway/store/sqlite/sqlite_internal.h"
#include "gateway/store/store.h"
#include "domain/dossier.h"
#include "gateway/store/store_dossiers.h"
#include "gateway/store/store_jobs.h"
#include "tests/unit/support/store_fixture.h"

#define NOW 1700000000000LL

static void
check_rc(store_rc_t got, store_rc_t want, const char *what)
{
    if (got != want)
        fail_msg("%s: got %s, want %s", what, store_rc_name(got), store_rc_name(want));
}

static store_tx_t *
begin(store_fixture_t *f, store_mode_t mode)
{
    store_tx_t *tx = NULL;

    check_rc(store_tx_begin(f->store, mode, &tx), STORE_OK, "begin");
    return tx;
}

static void
commit(store_tx_t **tx)
{
    check_rc(store_tx_commit(tx), STORE_OK, "commit");
}

static void
enqueue(store_fixture_t *f, store_job_kind_t kind, int64_t shipment, const char *purpose, const char *carrier,
        int64_t run_at)
{
    store_tx_t *tx = begin(f, STORE_WRITE);

    check_rc(store_jobs_enqueue(tx, kind, shipment, purpose, carrier, "{\"n\":1}", run_at, NOW), STORE_OK, "enqueue");
    commit(&tx);
}

static store_job_t
get(store_fixture_t *f, int64_t id)
{
    store_tx_t *tx = begin(f, STORE_READ);
    store_job_t job;

    check_rc(store_jobs_get(tx, id, &job), STORE_OK, "get");
    store_tx_abort(&tx);
    return job;
}

static void
check_state(store_fixture_t *f, int64_t id, const char *want)
{
    store_job_t job = get(f, id);

    if (strcmp(job.state, want) != 0)
        fail_msg("job %lld: got state %s, want %s", (long long)id, job.state, want);
}

static int
setup(void **state)
{
    store_fixture_t *f = calloc(1, sizeof *f);

    if (!f || store_fixture_open(f) != 0)
        return -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    store_fixture_t *f = *state;

    db_fail_at(0);
    store_fixture_close(f);
    free(f);
    return 0;
}

static int64_t
total_jobs(store_fixture_t *f)
{
    store_tx_t *tx = begin(f, STORE_READ);
    store_job_counts_t c;
    int64_t n = 0;
    int k, s;

    check_rc(store_jobs_counts(tx, &c), STORE_OK, "counts");
    store_tx_abort(&tx);
    for (k = 0; k < STORE_JOB_KINDS; k++)
        for (s = 0; s < STORE_JOB_STATES; s++)
            n += c.n[k][s];
    return n;
}

static void
test_enqueue_is_unique_per_shipment_kind_purpose(void **state)
{
    static const struct {
        store_job_kind_t kind;
        int64_t shipment;
        const char *purpose;
        store_rc_t want;
    } cases[] = {
        { STORE_JOB_BOOK, 1, "", STORE_OK },
        { STORE_JOB_BOOK, 1, "", STORE_EXISTS },     /* the same job twice */
        { STORE_JOB_NOTIFY, 1, "booked", STORE_OK }, /* another kind of the same shipment */
        { STORE_JOB_NOTIFY, 1, "booked", STORE_EXISTS },
        { STORE_JOB_NOTIFY, 1, "delivered", STORE_OK }, /* another purpose */
        { STORE_JOB_BOOK, 2, "", STORE_OK },            /* another shipment */
    };
    store_fixture_t *f = *state;
    store_tx_t *tx = begin(f, STORE_WRITE);
    store_job_counts_t c;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_rc_t rc = store_jobs_enqueue(tx, cases[i].kind, cases[i].shipment, cases[i].purpose, "vnpost", "{}",
                                           NOW, NOW);
        if (rc != cases[i].want)
            fail_msg("case %zu (%s of shipment %lld, purpose '%s'): got %s, want %s", i,
                     store_job_kind_name(cases[i].kind), (long long)cases[i].shipment, cases[i].purpose,
                     store_rc_name(rc), store_rc_name(cases[i].want));
    }
    check_rc(store_jobs_counts(tx, &c), STORE_OK, "counts");
    commit(&tx);
    if (c.n[STORE_JOB_BOOK][STORE_JOB_READY] != 2 || c.n[STORE_JOB_NOTIFY][STORE_JOB_READY] != 2)
        fail_msg("got %lld book and %lld notify jobs ready, want 2 and 2",
                 (long long)c.n[STORE_JOB_BOOK][STORE_JOB_READY], (long long)c.n[STORE_JOB_NOTIFY][STORE_JOB_READY]);
}

static void
test_lease_due_oldest_first_per_carrier(void **state)
{
    store_fixture_t *f = *state;
    store_job_lease_t leases[8];
    store_job_inflight_t inflight[4];
    store_tx_t *tx;
    int n = -1, i, ninflight = 0;
    int64_t next = 0;

    enqueue(f, STORE_JOB_BOOK, 1, "", "vnpost", NOW - 30);
    enqueue(f, STORE_JOB_BOOK, 2, "", "vnpost", NOW - 20);
    enqueue(f, STORE_JOB_BOOK, 3, "", "vnpost", NOW - 10);
    enqueue(f, STORE_JOB_BOOK, 4, "", "viettel", NOW - 40);
    enqueue(f, STORE_JOB_BOOK, 5, "", "vnpost", NOW + 5000); /* not yet due */

    tx = begin(f, STORE_WRITE);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w1", NOW, 2, leases, &n), STORE_OK, "lease 2");
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++) {
        if (leases[i].shipment_id != i + 1 || leases[i].attempt != 1 || strcmp(leases[i].carrier, "vnpost") != 0 ||
            !leases[i].payload || strcmp(leases[i].payload, "{\"n\":1}") != 0 || leases[i].lease == 0)
            fail_msg("lease %d: got shipment %lld attempt %d carrier %s payload %s, want shipment %d attempt 1 "
                     "vnpost {\"n\":1}",
                     i, (long long)leases[i].shipment_id, leases[i].attempt, leases[i].carrier,
                     leases[i].payload ? leases[i].payload : "(null)", i + 1);
        store_job_lease_free(&leases[i]);
    }
    check_rc(store_jobs_lease_due(tx, "vnpost", "w1", NOW, 8, leases, &n), STORE_OK, "lease the rest");
    assert_int_equal(n, 1);
    assert_int_equal(leases[0].shipment_id, 3);
    store_job_lease_free(&leases[0]);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w1", NOW, 8, leases, &n), STORE_OK, "lease none");
    if (n != 0)
        fail_msg("got %d more leases, want 0 (the last job is due later)", n);
    check_rc(store_jobs_next_due(tx, &next), STORE_OK, "next due");
    if (next != NOW - 40)
        fail_msg("next due: got %lld, want %lld (viettel's job)", (long long)next, (long long)(NOW - 40));
    check_rc(store_jobs_inflight(tx, inflight, 4, &ninflight), STORE_OK, "inflight");
    if (ninflight != 1 || strcmp(inflight[0].carrier, "vnpost") != 0 || inflight[0].leased != 3)
        fail_msg("in flight: got %d carriers (%s %d), want vnpost 3", ninflight, ninflight ? inflight[0].carrier : "",
                 ninflight ? inflight[0].leased : 0);
    commit(&tx);
    check_state(f, 1, "leased");
    assert_int_equal(get(f, 1).attempts, 1);
}

static void
test_settle_retry_dead_revive(void **state)
{
    store_fixture_t *f = *state;
    store_job_lease_t leases[4];
    store_tx_t *tx;
    store_job_t job;
    int n = 0, dead = -1;

    enqueue(f, STORE_JOB_BOOK, 1, "", "vnpost", NOW);
    enqueue(f, STORE_JOB_TRACK, 1, "", "vnpost", NOW);
    tx = begin(f, STORE_WRITE);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w1", NOW, 4, leases, &n), STORE_OK, "lease");
    assert_int_equal(n, 2);
    store_job_lease_free(&leases[0]);
    store_job_lease_free(&leases[1]);
    check_rc(store_jobs_complete(tx, 1, NOW), STORE_OK, "complete");
    /* attempt 1 of 2 fails: back to ready later, with the reason */
    check_rc(store_jobs_retry(tx, 2, 1000, "carrier answered 503", 2, NOW, &dead), STORE_OK, "retry 1");
    assert_int_equal(dead, 0);
    check_rc(store_jobs_get(tx, 2, &job), STORE_OK, "get");
    if (strcmp(job.state, "ready") || job.next_attempt_at != NOW + 1000 || strcmp(job.last_error, "carrier answered 503"))
        fail_msg("after retry: got %s at %lld '%s', want ready at %lld 'carrier answered 503'", job.state,
                 (long long)job.next_attempt_at, job.last_error, (long long)(NOW + 1000));
    /* attempt 2 of 2 fails: dead */
    check_rc(store_jobs_lease_due(tx, "vnpost", "w1", NOW + 1000, 4, leases, &n), STORE_OK, "lease again");
    assert_int_equal(n, 1);
    assert_int_equal(leases[0].attempt, 2);
    store_job_lease_free(&leases[0]);
    check_rc(store_jobs_retry(tx, 2, 1000, "carrier answered 503 again", 2, NOW + 1000, &dead), STORE_OK, "retry 2");
    assert_int_equal(dead, 1);
    check_rc(store_jobs_retry(tx, 99, 1000, "x", 2, NOW, NULL), STORE_NOT_FOUND, "retry of an unknown job");
    check_rc(store_jobs_revive(tx, 1, NOW), STORE_NOT_FOUND, "revive of a done job");
    check_rc(store_jobs_revive(tx, 2, NOW + 2000), STORE_OK, "revive");
    check_rc(store_jobs_get(tx, 2, &job), STORE_OK, "get");
    if (strcmp(job.state, "ready") || job.attempts != 0)
        fail_msg("after revive: got %s with %d attempts, want ready with 0", job.state, job.attempts);
    check_rc(store_jobs_kill(tx, 2, "refused: unknown address", NOW), STORE_OK, "kill");
    check_rc(store_jobs_kill(tx, 99, "x", NOW), STORE_NOT_FOUND, "kill of an unknown job");
    check_rc(store_jobs_get(tx, 99, &job), STORE_NOT_FOUND, "get of an unknown job");
    commit(&tx);
    check_state(f, 1, "done");
    check_state(f, 2, "dead");
}

/* a paused carrier's job goes back to ready with its attempt given back; dead jobs come back in
 * bulk by kind, carrier and the time they died */
static void
test_pause_and_revive_all(void **state)
{
    store_fixture_t *f = *state;
    store_job_lease_t leases[4];
    store_tx_t *tx;
    store_job_t job;
    int n = 0, count = -1;

    enqueue(f, STORE_JOB_BOOK, 1, "", "vnpost", NOW);
    enqueue(f, STORE_JOB_NOTIFY, 1, "a", "vnpost", NOW);
    enqueue(f, STORE_JOB_NOTIFY, 1, "b", "viettel", NOW);
    enqueue(f, STORE_JOB_TRACK, 1, "", "vnpost", NOW);
    tx = begin(f, STORE_WRITE);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w1", NOW, 1, leases, &n), STORE_OK, "lease");
    assert_int_equal(n, 1);
    store_job_lease_free(&leases[0]);
    check_rc(store_jobs_pause(tx, 1, 0, "check carrier.vnpost.password_file", NOW + 5), STORE_OK, "pause");
    check_rc(store_jobs_get(tx, 1, &job), STORE_OK, "get");
    if (strcmp(job.state, "ready") || job.attempts != 0 || job.next_attempt_at != NOW + 5 ||
        strcmp(job.last_error, "check carrier.vnpost.password_file"))
        fail_msg("after pause: got %s with %d attempts at %lld '%s', want ready with 0 at now", job.state,
                 job.attempts, (long long)job.next_attempt_at, job.last_error);
    check_rc(store_jobs_pause(tx, 99, 0, "x", NOW), STORE_NOT_FOUND, "pause of an unknown job");
    check_rc(store_jobs_kill(tx, 2, "case system refused", NOW + 100), STORE_OK, "kill 2");
    check_rc(store_jobs_kill(tx, 3, "case system refused", NOW + 100), STORE_OK, "kill 3");
    check_rc(store_jobs_kill(tx, 4, "unknown order", NOW + 100), STORE_OK, "kill 4");
    check_rc(store_jobs_revive_all(tx, "notify", "vnpost", 0, NOW + 200, &count), STORE_OK, "by kind and carrier");
    assert_int_equal(count, 1);
    check_rc(store_jobs_revive_all(tx, "notify", NULL, NOW + 101, NOW + 200, &count), STORE_OK, "since later");
    assert_int_equal(count, 0);
    check_rc(store_jobs_revive_all(tx, NULL, "", NOW + 100, NOW + 200, &count), STORE_OK, "every kind");
    assert_int_equal(count, 2);
    check_rc(store_jobs_revive_all(tx, NULL, NULL, 0, NOW + 300, &count), STORE_OK, "nothing left");
    assert_int_equal(count, 0);
    commit(&tx);
    check_state(f, 2, "ready");
    check_state(f, 3, "ready");
    check_state(f, 4, "ready");
}

static void
test_requeue_on_lease_expiry_and_worker_loss(void **state)
{
    store_fixture_t *f = *state;
    store_job_lease_t leases[4];
    store_tx_t *tx;
    int n = 0, count = -1;

    enqueue(f, STORE_JOB_BOOK, 1, "", "vnpost", NOW);
    enqueue(f, STORE_JOB_BOOK, 2, "", "vnpost", NOW);
    tx = begin(f, STORE_WRITE);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w1", NOW, 1, leases, &n), STORE_OK, "lease to w1");
    store_job_lease_free(&leases[0]);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w2", NOW + 10, 1, leases, &n), STORE_OK, "lease to w2");
    store_job_lease_free(&leases[0]);
    check_rc(store_jobs_expire_leases(tx, NOW + JOBS_LEASE_MS - 1, &count), STORE_OK, "expire early");
    if (count != 0)
        fail_msg("expired before the lease ended: got %d, want 0", count);
    check_rc(store_jobs_requeue_leased(tx, "w9", NOW, &count), STORE_OK, "requeue of an unknown worker");
    assert_int_equal(count, 0);
    check_rc(store_jobs_requeue_leased(tx, "w2", NOW, &count), STORE_OK, "requeue w2");
    assert_int_equal(count, 1);
    check_rc(store_jobs_expire_leases(tx, NOW + JOBS_LEASE_MS + 1, &count), STORE_OK, "expire");
    if (count != 1)
        fail_msg("expired leases: got %d, want 1 (w1's)", count);
    commit(&tx);
    check_state(f, 1, "ready");
    check_state(f, 2, "ready");
    tx = begin(f, STORE_WRITE);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w3", NOW, 4, leases, &n), STORE_OK, "lease after recovery");
    assert_int_equal(n, 2);
    assert_int_equal(leases[0].attempt, 2); /* the lost attempt counts */
    store_job_lease_free(&leases[0]);
    store_job_lease_free(&leases[1]);
    check_rc(store_jobs_requeue_leased(tx, NULL, NOW, &count), STORE_OK, "requeue everyone's (restart)");
    assert_int_equal(count, 2);
    commit(&tx);
}

/* add_shipment - a dossier of agency with one shipment (id returned), for the agency filter */
static int64_t
add_shipment(store_fixture_t *f, const char *code, const char *agency)
{
    char sql[1200];

    snprintf(sql, sizeof sql,
             "INSERT INTO dossiers (code, agency_code, created_at) VALUES ('%s', '%s', 0);"
             "INSERT INTO submissions (dossier_id, service, body, body_hash, created_at)"
             " VALUES ((SELECT id FROM dossiers WHERE code = '%s'), 'return', '{}', 'h', 0);"
             "INSERT INTO shipments (dossier_id, submission_id, leg, carrier, waybill, status, status_time,"
             " created_at, updated_at) VALUES ((SELECT id FROM dossiers WHERE code = '%s'),"
             " (SELECT s.id FROM submissions s JOIN dossiers d ON d.id = s.dossier_id WHERE d.code = '%s'),"
             " 'return', 'vnpost', 'W%s', 'created', 0, 0, 0)",
             code, agency, code, code, code, code);
    assert_int_equal(store_fixture_exec(f, sql), 0);
    snprintf(sql, sizeof sql, "SELECT id FROM shipments WHERE waybill = 'W%s'", code);
    return store_fixture_int(f, sql);
}

static void
test_list_filters_newest_first(void **state)
{
    store_fixture_t *f = *state;
    int64_t a = add_shipment(f, "D1", "000.00.31.H23"), b = add_shipment(f, "D2", "000.00.32.H23");
    static const struct {
        int any_state;
        store_job_state_t state;
        const char *agency;
        int limit;
        size_t want_n;
        int64_t want_first;
    } cases[] = {
        { 1, STORE_JOB_READY, NULL, 10, 4, 4 },
        { 1, STORE_JOB_READY, "", 2, 2, 4 },
        { 0, STORE_JOB_DONE, NULL, 10, 1, 1 },
        { 0, STORE_JOB_READY, NULL, 10, 3, 4 },
        { 1, STORE_JOB_READY, "000.00.31.H23", 10, 2, 3 },
        { 0, STORE_JOB_DEAD, NULL, 10, 0, 0 },
    };
    store_tx_t *tx;
    size_t i;

    enqueue(f, STORE_JOB_BOOK, a, "", "vnpost", NOW);
    enqueue(f, STORE_JOB_BOOK, b, "", "vnpost", NOW);
    enqueue(f, STORE_JOB_TRACK, a, "", "vnpost", NOW);
    enqueue(f, STORE_JOB_BOOK, 77, "", "vnpost", NOW);
    tx = begin(f, STORE_WRITE);
    check_rc(store_jobs_complete(tx, 1, NOW), STORE_OK, "complete");
    commit(&tx);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store_job_filter_t filter = { cases[i].any_state, cases[i].state, cases[i].agency, cases[i].limit };
        store_job_list_t list;

        tx = begin(f, STORE_READ);
        check_rc(store_jobs_list(tx, &filter, &list), STORE_OK, "list");
        store_tx_abort(&tx);
        if (list.n != cases[i].want_n || (list.n && list.items[0].id != cases[i].want_first))
            fail_msg("case %zu: got %zu jobs, first %lld; want %zu, first %lld", i, list.n,
                     list.n ? (long long)list.items[0].id : 0LL, cases[i].want_n, (long long)cases[i].want_first);
        store_job_list_free(&list);
    }
}

/* ------------------------------------------------------- failure injection */

static void
check_clean_failure(store_rc_t rc, long nth, const char *what)
{
    if (rc != STORE_BUSY && rc != STORE_ERROR)
        fail_msg("%s with step %ld failing: got %s, want busy or error", what, nth, store_rc_name(rc));
}

static void
test_enqueue_under_failure_injection(void **state)
{
    store_fixture_t *f = *state;
    long nth;

    STORE_FIXTURE_SQLITE_ONLY(); /* SQLite's failure injection and files */

    for (nth = 1; nth < 50; nth++) {
        store_tx_t *tx = begin(f, STORE_WRITE);
        store_rc_t rc;

        db_fail_at(nth);
        rc = store_jobs_enqueue(tx, STORE_JOB_BOOK, 1, "", "vnpost", "{}", NOW, NOW);
        if (rc == STORE_OK)
            rc = store_jobs_enqueue(tx, STORE_JOB_NOTIFY, 1, "booked", JOBS_CASE_SYSTEM, "{}", NOW, NOW);
        db_fail_at(0);
        if (rc == STORE_OK) {
            commit(&tx);
            break;
        }
        check_clean_failure(rc, nth, "enqueue");
        assert_true(store_tx_message(tx)[0] != '\0');
        store_tx_abort(&tx);
        if (total_jobs(f) != 0)
            fail_msg("after a failed enqueue (step %ld) and abort: got %lld jobs, want 0", nth,
                     (long long)total_jobs(f));
    }
    if (nth < 2)
        fail_msg("the first injected failure did not fail enqueue");
    assert_int_equal(total_jobs(f), 2);
}

static void
test_lease_under_failure_injection(void **state)
{
    store_fixture_t *f = *state;
    store_job_lease_t leases[8];
    int i, n;
    long nth;

    STORE_FIXTURE_SQLITE_ONLY(); /* SQLite's failure injection and files */

    for (i = 1; i <= 3; i++)
        enqueue(f, STORE_JOB_BOOK, i, "", "vnpost", NOW);
    for (nth = 1; nth < 50; nth++) {
        store_tx_t *tx = begin(f, STORE_WRITE);
        store_rc_t rc;

        n = -1;
        db_fail_at(nth);
        rc = store_jobs_lease_due(tx, "vnpost", "w1", NOW, 8, leases, &n);
        db_fail_at(0);
        if (rc == STORE_OK) {
            assert_int_equal(n, 3);
            for (i = 0; i < n; i++)
                store_job_lease_free(&leases[i]);
            commit(&tx);
            break;
        }
        check_clean_failure(rc, nth, "lease_due");
        if (n != 0)
            fail_msg("failed lease (step %ld): got %d leases handed out, want 0", nth, n);
        store_tx_abort(&tx);
        for (i = 1; i <= 3; i++)
            check_state(f, i, "ready");
    }
    if (nth < 4)
        fail_msg("lease_due succeeded with step %ld failing; it takes at least 4 steps", nth);
    for (i = 1; i <= 3; i++)
        check_state(f, i, "leased");
}

/* reads: a step failing mid-way is STORE_BUSY, never a shorter list */
static void
test_reads_never_answer_partial_results(void **state)
{
    store_fixture_t *f = *state;
    store_job_filter_t filter = { 1, STORE_JOB_READY, NULL, 100 };
    int i, failures = 0;
    long nth;

    STORE_FIXTURE_SQLITE_ONLY(); /* SQLite's failure injection and files */

    for (i = 1; i <= 5; i++)
        enqueue(f, (store_job_kind_t)(i % STORE_JOB_KINDS), i, "", "vnpost", NOW);
    for (nth = 1; nth < 20; nth++) {
        store_tx_t *tx = begin(f, STORE_READ);
        store_job_list_t list = { NULL, 0 };
        store_rc_t rc;

        db_fail_at(nth);
        rc = store_jobs_list(tx, &filter, &list);
        db_fail_at(0);
        store_tx_abort(&tx);
        if (rc == STORE_OK) {
            if (list.n != 5)
                fail_msg("list with step %ld failing: got %zu jobs and ok, want 5", nth, list.n);
            store_job_list_free(&list);
            break;
        }
        failures++;
        check_rc(rc, STORE_BUSY, "a list cut short by an I/O error");
        if (list.n != 0 || list.items)
            fail_msg("failed list (step %ld): got %zu jobs handed out, want none", nth, list.n);
    }
    if (failures != 6)
        fail_msg("the list failed at %d steps, want 6 (5 rows and the end)", failures);
    for (nth = 1; nth < 20; nth++) {
        store_tx_t *tx = begin(f, STORE_READ);
        store_job_counts_t c;
        store_job_inflight_t inflight[4];
        store_gauges_t g;
        store_rc_t rc;
        int n = 0;

        db_fail_at(nth);
        rc = store_jobs_counts(tx, &c);
        if (rc == STORE_OK)
            rc = store_jobs_inflight(tx, inflight, 4, &n);
        if (rc == STORE_OK)
            rc = store_jobs_gauges(tx, &g);
        db_fail_at(0);
        store_tx_abort(&tx);
        if (rc == STORE_OK)
            break;
        check_rc(rc, STORE_BUSY, "counts, in flight or gauges cut short");
    }
}

/* an outside write (the sqlite3 shell) while a statement of the writer was left on a row
 * must not wedge the writer: the store resets such statements at transaction boundaries */
static void
test_outside_write_does_not_wedge_the_writer(void **state)
{
    static const char SQL_ANY_JOB[] = "SELECT id FROM jobs";
    store_fixture_t *f = *state;
    store_tx_t *tx;
    sqlite3_stmt *st;
    sqlite3 *outside = NULL;
    char path[600];

    STORE_FIXTURE_SQLITE_ONLY(); /* SQLite's failure injection and files */

    enqueue(f, STORE_JOB_BOOK, 1, "", "vnpost", NOW);
    enqueue(f, STORE_JOB_BOOK, 2, "", "vnpost", NOW);
    tx = begin(f, STORE_WRITE);
    st = db_stmt(sqlite_tx_db(tx), SQL_ANY_JOB);
    assert_non_null(st);
    assert_int_equal(db_step(st), SQLITE_ROW); /* left on its first row, as a careless reader would */
    commit(&tx);
    snprintf(path, sizeof path, "%s/bcci.db", f->dir);
    assert_int_equal(sqlite3_open(path, &outside), SQLITE_OK);
    sqlite3_busy_timeout(outside, 2000);
    assert_int_equal(sqlite3_exec(outside, "CREATE TABLE operator_notes (a)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(outside);
    tx = NULL;
    check_rc(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK, "a write transaction after an outside write");
    check_rc(store_jobs_enqueue(tx, STORE_JOB_BOOK, 3, "", "vnpost", "{}", NOW, NOW), STORE_OK, "enqueue");
    commit(&tx);
    assert_int_equal(total_jobs(f), 3);
}

/* --------------------------------------------- two instances on one database */

#define SHARED_JOBS 60
#define LEASE_BATCH 4

typedef struct {
    store_t *store;
    const char *worker;
    int64_t ids[SHARED_JOBS];
    int n;
    char failure[300];
} dispatcher_t;

/* dispatcher - lease batches of due jobs until a few rounds find none, as an instance's
 * dispatcher does; each batch stays uncommitted a moment so the two overlap */
static void *
dispatcher(void *arg)
{
    dispatcher_t *d = arg;
    int empty = 0;

    while (empty < 3 && !d->failure[0]) {
        store_job_lease_t leases[LEASE_BATCH];
        store_tx_t *tx = NULL;
        store_rc_t r = store_tx_begin(d->store, STORE_WRITE, &tx);
        int n = 0, i;

        if (r == STORE_OK)
            r = store_jobs_lease_due(tx, "vnpost", d->worker, NOW, LEASE_BATCH, leases, &n);
        if (r != STORE_OK) {
            snprintf(d->failure, sizeof d->failure, "lease: %s (%s)", store_rc_name(r),
                     tx ? store_tx_message(tx) : "");
            store_tx_abort(&tx);
            break;
        }
        for (i = 0; i < n; i++) {
            if (d->n < SHARED_JOBS)
                d->ids[d->n] = leases[i].id;
            d->n++;
            store_job_lease_free(&leases[i]);
        }
        usleep(2000);
        if ((r = store_tx_commit(&tx)) != STORE_OK) {
            snprintf(d->failure, sizeof d->failure, "commit: %s", store_rc_name(r));
            break;
        }
        empty = n ? 0 : empty + 1;
    }
    return NULL;
}

/* second_instance - another store on the fixture's database, as a second bccid */
static store_t *
second_instance(store_fixture_t *f)
{
    char err[512];
    store_t *s = store_open(f->uri, err, sizeof err);

    if (!s)
        fail_msg("second instance: %s", err);
    return s;
}

/* SKIP LOCKED: two dispatchers on one database lease every job exactly once between them */
static void
test_two_instances_never_lease_one_job(void **state)
{
    store_fixture_t *f = *state;
    dispatcher_t d[2];
    pthread_t th[2];
    static char seen[SHARED_JOBS + 1];
    int i, k;

    if (store_fixture_sqlite())
        skip(); /* one bccid per SQLite file */
    for (i = 1; i <= SHARED_JOBS; i++)
        enqueue(f, STORE_JOB_BOOK, i, "", "vnpost", NOW - SHARED_JOBS + i);
    memset(d, 0, sizeof d);
    memset(seen, 0, sizeof seen);
    d[0].store = f->store;
    d[0].worker = "w-a";
    d[1].store = second_instance(f);
    d[1].worker = "w-b";
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, dispatcher, &d[i]), 0);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    store_close(&d[1].store);
    for (i = 0; i < 2; i++) {
        if (d[i].failure[0])
            fail_msg("instance %d: %s", i + 1, d[i].failure);
        for (k = 0; k < d[i].n && k < SHARED_JOBS; k++) {
            if (d[i].ids[k] < 1 || d[i].ids[k] > SHARED_JOBS || seen[d[i].ids[k]]++)
                fail_msg("job %lld leased twice (or unknown)", (long long)d[i].ids[k]);
        }
    }
    if (d[0].n + d[1].n != SHARED_JOBS)
        fail_msg("leased %d + %d jobs, want %d in all", d[0].n, d[1].n, SHARED_JOBS);
    assert_int_equal(store_fixture_int(f, "SELECT COUNT(*) FROM jobs WHERE state = 'leased' AND attempts = 1"),
                     SHARED_JOBS);
    /* each lease names the instance that holds it */
    assert_int_equal(store_fixture_int(f, "SELECT COUNT(*) FROM jobs WHERE lease_instance IS NULL"), 0);
}

/* a restarting instance puts back only its own leases; a dead instance's come back when they expire */
static void
test_dead_instance_leases_come_back_on_expiry(void **state)
{
    store_fixture_t *f = *state;
    store_job_lease_t leases[8];
    store_t *b;
    store_tx_t *tx = NULL;
    int n = 0, count = -1, i;

    if (store_fixture_sqlite())
        skip(); /* one bccid per SQLite file */
    for (i = 1; i <= 3; i++)
        enqueue(f, STORE_JOB_BOOK, i, "", "vnpost", NOW);
    b = second_instance(f);
    /* instance A leases everything, then dies (its store closes without settling anything) */
    tx = begin(f, STORE_WRITE);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w-a", NOW, 8, leases, &n), STORE_OK, "A leases");
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++)
        store_job_lease_free(&leases[i]);
    commit(&tx);
    store_close(&f->store);
    /* instance B starts: its restart recovery must leave a live neighbour's leases alone */
    check_rc(store_tx_begin(b, STORE_WRITE, &tx), STORE_OK, "B begins");
    check_rc(store_jobs_requeue_leased(tx, NULL, NOW + 1, &count), STORE_OK, "B requeues its own");
    if (count != 0)
        fail_msg("B's start put back %d of A's leases, want 0", count);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w-b", NOW + 1, 8, leases, &n), STORE_OK, "B leases");
    if (n != 0)
        fail_msg("B leased %d jobs A still holds, want 0", n);
    check_rc(store_jobs_expire_leases(tx, NOW + JOBS_LEASE_MS - 1, &count), STORE_OK, "expire early");
    assert_int_equal(count, 0);
    /* A never renews: once its leases expire B's maintenance puts them back, and B runs them */
    check_rc(store_jobs_expire_leases(tx, NOW + JOBS_LEASE_MS + 1, &count), STORE_OK, "expire");
    if (count != 3)
        fail_msg("expired %d of A's leases, want 3", count);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w-b", NOW + JOBS_LEASE_MS + 1, 8, leases, &n), STORE_OK,
             "B leases A's jobs");
    assert_int_equal(n, 3);
    for (i = 0; i < n; i++) {
        assert_int_equal(leases[i].attempt, 2); /* A's lost attempt counts */
        store_job_lease_free(&leases[i]);
    }
    check_rc(store_tx_commit(&tx), STORE_OK, "B commits");
    store_close(&b);
}

/* a book job queued at intake without a payload: the lease carries the submission's canonical
 * text (payload_of_dossier), and the payload cancel and tracking copy is built from it, the
 * same as the worker builds it (dossier_book_payload) */
static void
test_intake_booking_is_built_from_the_dossier(void **state)
{
    static const char body[] =
        "{\"dossier_code\": \"000.00.31.H23-231124-0007\", \"service\": \"return\","
        " \"procedure\": {\"code\": \"1.001234.000.00.00.H23\", \"name\": \"Cấp bản sao trích lục\"},"
        " \"agency\": {\"code\": \"000.00.31.H23\", \"name\": \"UBND phường Hồng Bàng\", \"address\": \"Số 1\","
        " \"phone\": \"02253842123\", \"province_code\": \"31\", \"commune_code\": \"11311\"},"
        " \"recipient\": {\"name\": \"Nguyễn Thị Ánh Tuyết\", \"phone\": \"0912345678\", \"address\": \"Số 12\","
        " \"province_code\": \"01\", \"commune_code\": \"00004\"},"
        " \"result\": {\"summary\": \"Trích lục khai sinh\"}}";
    store_fixture_t *f = *state;
    dossier_t *d = NULL;
    api_error_t err;
    store_intake_t in;
    store_intake_result_t made;
    store_job_lease_t leases[2];
    store_tx_t *tx;
    char *payload = NULL, *want;
    int n = 0;

    if (dossier_from_json(body, strlen(body), "vnpost", &d, &err) != 0)
        fail_msg("the test dossier was refused: %s %s", err.field, err.message);
    memset(&in, 0, sizeof in);
    in.code = d->code;
    in.service = d->service;
    in.carrier = d->carrier;
    in.agency_code = d->agency_code;
    in.canonical_body = d->canonical_text;
    in.body_hash = d->body_hash;
    in.book_payload = NULL; /* as the HTTP intake queues it */
    in.cod_amount = d->cod_amount;
    in.transit_days = d->transit_days;
    tx = begin(f, STORE_WRITE);
    check_rc(store_dossiers_import_codes(tx, "RR", "VN", 100, 10, NOW, NULL), STORE_OK, "import");
    check_rc(store_dossiers_intake(tx, &in, NOW, &made), STORE_OK, "intake");
    commit(&tx);
    assert_int_equal(store_fixture_int(f, "SELECT COUNT(*) FROM jobs WHERE kind = 'book' AND payload = ''"), 1);

    tx = begin(f, STORE_WRITE);
    check_rc(store_jobs_lease_due(tx, "vnpost", "w1", NOW, 2, leases, &n), STORE_OK, "lease");
    commit(&tx);
    assert_int_equal(n, 1);
    assert_int_equal(leases[0].payload_of_dossier, 1);
    assert_string_equal(leases[0].payload, d->canonical_text);
    assert_string_equal(leases[0].waybill, made.waybill);
    store_job_lease_free(&leases[0]);

    tx = begin(f, STORE_READ);
    check_rc(store_jobs_book_payload(tx, made.shipment_id, &payload), STORE_OK, "book payload");
    store_tx_abort(&tx);
    want = dossier_book_payload_text(d->canonical_text);
    assert_non_null(want);
    assert_string_equal(payload, want);
    assert_non_null(strstr(payload, "\"receiver\""));
    assert_non_null(strstr(payload, "Nguyễn Thị Ánh Tuyết"));
    free(payload);
    free(want);
    dossier_destroy(&d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enqueue_is_unique_per_shipment_kind_purpose, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_due_oldest_first_per_carrier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settle_retry_dead_revive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_and_revive_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requeue_on_lease_expiry_and_worker_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_newest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_under_failure_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_under_failure_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads_never_answer_partial_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_write_does_not_wedge_the_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_instances_never_lease_one_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_instance_leases_come_back_on_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intake_booking_is_built_from_the_dossier, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
