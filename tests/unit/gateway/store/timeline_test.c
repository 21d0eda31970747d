/*
 * timeline_test - the case timeline on a temporary store: append, dedup, order, the keyed
 * chain and its sealed head, tampering of every kind detected, the one-time re-seal of
 * an upgrade, an append failed at its Nth step (clean STORE_BUSY, nothing written; SQLite),
 * and two instances appending to one dossier at once keeping its chain valid (PostgreSQL)
 *
 * Runs on the backend BCCI_TEST_STORE picks (store_fixture.h).
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

#include "gateway/store/sqlite/db.h"
#include "gateway/store/store_timeline.h"
#include "tests/unit/support/store_fixture.h"

static const char KEY[] = "timeline-test-key";

static int64_t
sql_int(store_fixture_t *f, const char *sql)
{
    return store_fixture_int(f, sql);
}

static void
sql(store_fixture_t *f, const char *text)
{
    if (store_fixture_exec(f, text) != 0)
        fail_msg("%s failed (the reason is above)", text);
}

static store_rc_t
append(store_fixture_t *f, int64_t time, const char *text, const char *details, const char *dedup)
{
    store_timeline_event_t ev;
    store_tx_t *tx = NULL;
    store_rc_t r;

    memset(&ev, 0, sizeof ev);
    ev.dossier_id = 1;
    ev.event_time = time;
    ev.received_at = 100;
    ev.source = "carrier";
    ev.status = "in_transit";
    ev.text = text;
    ev.details = details;
    ev.dedup_key = dedup;
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    r = store_timeline_append(tx, &ev);
    if (r == STORE_OK || r == STORE_EXISTS)
        assert_int_equal(store_tx_commit(&tx), STORE_OK);
    else
        store_tx_abort(&tx);
    return r;
}

/* verify - the verdict, and why in why */
static store_rc_t
verify(store_fixture_t *f, char *why, size_t whylen)
{
    store_tx_t *tx = NULL;
    store_rc_t r;

    why[0] = '\0';
    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    r = store_timeline_verify(tx, 1, why, whylen);
    store_tx_abort(&tx);
    return r;
}

static void
expect_broken(store_fixture_t *f, const char *want, const char *tamper)
{
    char why[200];
    store_rc_t r = verify(f, why, sizeof why);

    if (r != STORE_CONFLICT || !strstr(why, want))
        fail_msg("after %s: got %s (%s), want conflict naming '%s'", tamper, store_rc_name(r), why, want);
}

static int
setup(void **state)
{
    store_fixture_t *f = calloc(1, sizeof *f);

    if (!f || store_fixture_open(f) != 0)
        return -1;
    store_set_chain_key(f->store, KEY, sizeof KEY - 1);
    sql(f, "INSERT INTO dossiers (code, agency_code, created_at) VALUES ('000.00.31.H23-231124-0001', 'a', 1)");
    assert_int_equal(append(f, 300, "ba", "{\"n\":1}", "k1"), STORE_OK);
    assert_int_equal(append(f, 100, "một", NULL, NULL), STORE_OK);
    assert_int_equal(append(f, 200, "hai", "{}", "k2"), STORE_OK);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    store_timeline_list_t none = { NULL, 0 };

    store_timeline_list_free(&none); /* an empty list frees cleanly */
    store_set_chain_key(((store_fixture_t *)*state)->store, KEY, sizeof KEY - 1);
    store_fixture_close(*state);
    free(*state);
    return 0;
}

static void
test_append_dedup_and_order(void **state)
{
    store_fixture_t *f = *state;
    store_timeline_list_t list;
    store_tx_t *tx = NULL;
    char hash[STORE_HASH_HEX_LEN], why[200];
    int64_t count;

    assert_int_equal(append(f, 400, "again", "{}", "k1"), STORE_EXISTS);
    assert_int_equal(append(f, 400, "not json", "{\"a\":", NULL), STORE_ERROR);
    assert_int_equal(append(f, 400, "not an object", "[1]", NULL), STORE_ERROR);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline"), 3);
    assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
    assert_int_equal(store_timeline_list(tx, 1, &list), STORE_OK);
    assert_int_equal(store_timeline_head(tx, 1, &count, hash), STORE_OK);
    store_tx_abort(&tx);
    assert_int_equal(list.n, 3);
    /* carrier-time order for readers; seq is the append order */
    assert_string_equal(list.items[0].text, "một");
    assert_int_equal(list.items[0].seq, 2);
    assert_string_equal(list.items[2].text, "ba");
    assert_string_equal(list.items[1].details, "{}");
    assert_string_equal(list.items[0].details, "{}"); /* NULL details are stored as {} */
    assert_int_equal(count, 3);
    /* the head names the last appended event */
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline t JOIN dossiers d ON d.id = t.dossier_id"
                                " WHERE t.seq = 3 AND t.hash = d.timeline_head"),
                     1);
    assert_int_equal(strlen(hash), 64);
    store_timeline_list_free(&list);
    assert_int_equal(verify(f, why, sizeof why), STORE_OK);
}

static void
test_edit_detected(void **state)
{
    store_fixture_t *f = *state;

    sql(f, "UPDATE timeline SET text = 'bốn' WHERE seq = 2");
    expect_broken(f, "event 2 was altered", "an edited text");
}

static void
test_deleted_last_event_detected(void **state)
{
    store_fixture_t *f = *state;

    sql(f, "DELETE FROM timeline WHERE seq = 3");
    expect_broken(f, "the last ones were deleted", "deleting the last event");
    /* and pointing the head back at the new end, as one can without the key */
    sql(f, "UPDATE dossiers SET timeline_count = 2, timeline_head = (SELECT hash FROM timeline WHERE seq = 2)");
    expect_broken(f, "sealed head", "deleting the last event and moving the head");
}

static void
test_chain_recomputed_without_the_key_detected(void **state)
{
    store_fixture_t *f = *state;
    store_tx_t *tx = NULL;
    int sealed = 0;

    /* the whole chain and head recomputed by someone who has another key */
    sql(f, "UPDATE timeline SET text = 'bốn' WHERE seq = 2");
    sql(f, "DELETE FROM metrics WHERE name = 'timeline_keyed'");
    store_set_chain_key(f->store, "guessed", 7);
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_timeline_seal_all(tx, &sealed), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    store_set_chain_key(f->store, KEY, sizeof KEY - 1);
    expect_broken(f, "sealed head", "a chain recomputed with another key");
}

static void
test_reseal_once_at_the_upgrade(void **state)
{
    store_fixture_t *f = *state;
    store_tx_t *tx = NULL;
    char why[200];
    int sealed = -1;

    /* a database from before keyed chains: heads unset, hashes from another scheme */
    sql(f, "UPDATE dossiers SET timeline_count = NULL, timeline_head = NULL, timeline_seal = NULL");
    sql(f, "UPDATE timeline SET hash = 'old' || seq, prev_hash = 'old' || (seq - 1)");
    sql(f, "DELETE FROM metrics WHERE name = 'timeline_keyed'");
    expect_broken(f, "no sealed head", "an unsealed timeline");
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_timeline_seal_all(tx, &sealed), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    assert_int_equal(sealed, 1);
    assert_int_equal(verify(f, why, sizeof why), STORE_OK);
    /* never again: a later start must not bless an edit */
    sql(f, "UPDATE timeline SET text = 'bốn' WHERE seq = 2");
    assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_timeline_seal_all(tx, &sealed), STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    assert_int_equal(sealed, 0);
    expect_broken(f, "altered", "an edit after the re-seal");
    /* appends continue the re-sealed chain */
    sql(f, "UPDATE timeline SET text = 'một' WHERE seq = 2");
    assert_int_equal(append(f, 500, "năm", NULL, NULL), STORE_OK);
    assert_int_equal(verify(f, why, sizeof why), STORE_OK);
}

static void
test_append_failing_at_each_step_writes_nothing(void **state)
{
    store_fixture_t *f = *state;
    store_timeline_event_t ev;
    char why[200], head[STORE_HASH_HEX_LEN], head_after[STORE_HASH_HEX_LEN];
    int64_t count, count_after;
    long n;

    STORE_FIXTURE_SQLITE_ONLY(); /* db_fail_at is SQLite's failure injection */
    memset(&ev, 0, sizeof ev);
    ev.dossier_id = 1;
    ev.event_time = 600;
    ev.received_at = 600;
    ev.source = "gateway";
    ev.text = "sáu";
    ev.dedup_key = "k6";
    for (n = 1; n < 100; n++) {
        store_tx_t *tx = NULL;
        store_rc_t r;

        assert_int_equal(store_tx_begin(f->store, STORE_WRITE, &tx), STORE_OK);
        assert_int_equal(store_timeline_head(tx, 1, &count, head), STORE_OK);
        db_fail_at(n);
        r = store_timeline_append(tx, &ev);
        db_fail_at(0);
        if (r == STORE_OK) {
            assert_int_equal(store_tx_commit(&tx), STORE_OK);
            break;
        }
        if (r != STORE_BUSY)
            fail_msg("step %ld: got %s (%s), want busy", n, store_rc_name(r), store_tx_message(tx));
        store_tx_abort(&tx);
        assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline"), 3);
        assert_int_equal(store_tx_begin(f->store, STORE_READ, &tx), STORE_OK);
        assert_int_equal(store_timeline_head(tx, 1, &count_after, head_after), STORE_OK);
        store_tx_abort(&tx);
        if (count_after != count || strcmp(head, head_after) != 0)
            fail_msg("step %ld: the head moved without its event", n);
        assert_int_equal(verify(f, why, sizeof why), STORE_OK);
    }
    if (n < 4)
        fail_msg("got success at step %ld; an append has more steps", n);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline"), 4);
    assert_int_equal(verify(f, why, sizeof why), STORE_OK);
}

/* --------------------------------------------- two instances on one database */

#define CONCURRENT_APPENDS 40

typedef struct {
    store_t *store;
    int instance;
    int appended;
    char failure[300];
} appender_t;

/* appender - CONCURRENT_APPENDS events on dossier 1, each in a write transaction of its own,
 * retried when the database says busy (a deadlock or serialisation failure) */
static void *
appender(void *arg)
{
    appender_t *a = arg;
    int i, tries;

    for (i = 0; i < CONCURRENT_APPENDS && !a->failure[0]; i++) {
        char text[64];
        store_timeline_event_t ev;

        snprintf(text, sizeof text, "instance %d event %d", a->instance, i);
        memset(&ev, 0, sizeof ev);
        ev.dossier_id = 1;
        ev.event_time = 1000 + i;
        ev.received_at = 1000 + i;
        ev.source = "gateway";
        ev.text = text;
        for (tries = 0; tries < 20; tries++) {
            store_tx_t *tx = NULL;
            store_rc_t r = store_tx_begin(a->store, STORE_WRITE, &tx);

            if (r == STORE_OK && (r = store_timeline_append(tx, &ev)) == STORE_OK) {
                r = store_tx_commit(&tx);
            } else if (tx) {
                snprintf(a->failure, sizeof a->failure, "append %d: %s (%s)", i, store_rc_name(r),
                         store_tx_message(tx));
                store_tx_abort(&tx);
            }
            if (r == STORE_OK) {
                a->failure[0] = '\0';
                a->appended++;
                break;
            }
            if (r != STORE_BUSY)
                break;
        }
    }
    return NULL;
}

static void
test_two_instances_append_at_once(void **state)
{
    store_fixture_t *f = *state;
    appender_t a[2];
    pthread_t th[2];
    char err[512], why[200];
    int i;

    if (store_fixture_sqlite())
        skip(); /* one bccid per SQLite file */
    memset(a, 0, sizeof a);
    a[0].store = f->store;
    a[1].store = store_open(f->uri, err, sizeof err); /* a second instance on the same database */
    if (!a[1].store)
        fail_msg("second instance: %s", err);
    for (i = 0; i < 2; i++) {
        a[i].instance = i + 1;
        assert_int_equal(pthread_create(&th[i], NULL, appender, &a[i]), 0);
    }
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    store_close(&a[1].store);
    for (i = 0; i < 2; i++)
        if (a[i].failure[0] || a[i].appended != CONCURRENT_APPENDS)
            fail_msg("instance %d appended %d of %d: %s", i + 1, a[i].appended, CONCURRENT_APPENDS, a[i].failure);
    assert_int_equal(sql_int(f, "SELECT COUNT(*) FROM timeline WHERE dossier_id = 1"), 3 + 2 * CONCURRENT_APPENDS);
    assert_int_equal(sql_int(f, "SELECT COUNT(DISTINCT prev_hash) FROM timeline WHERE dossier_id = 1"),
                     3 + 2 * CONCURRENT_APPENDS);
    assert_int_equal(verify(f, why, sizeof why), STORE_OK);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_dedup_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_last_event_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_recomputed_without_the_key_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reseal_once_at_the_upgrade, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_failing_at_each_step_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_instances_append_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
