/*
 * store_test - the store's front: backends by URI scheme, transactions, savepoints
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "gateway/store/store.h"
#include "tests/unit/support/store_fixture.h"

static void
test_open_by_scheme(void **state)
{
    char err[256];
    store_fixture_t f;

    (void)state;
    assert_null(store_open("pigeon:/nowhere", err, sizeof err));
    assert_non_null(strstr(err, "unknown backend 'pigeon'"));
    assert_null(store_open("var/bcci.db", err, sizeof err));
    assert_non_null(strstr(err, "sqlite:PATH"));
    assert_int_equal(store_fixture_open(&f), 0);
    assert_string_equal(store_backend_name(f.store), "sqlite");
    assert_string_equal(store_uri(f.store), f.uri);
    store_fixture_close(&f);
}

static void
test_transactions_and_savepoints(void **state)
{
    store_fixture_t f;
    store_tx_t *tx = NULL, *rd = NULL;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_tx_savepoint(tx), STORE_OK);
    assert_int_equal(store_tx_release(tx, 0), STORE_OK);
    assert_int_equal(store_tx_release(tx, 1), STORE_ERROR); /* no savepoint open */
    assert_int_equal(store_tx_begin(f.store, STORE_READ, &rd), STORE_OK);
    store_tx_abort(&rd);
    assert_null(rd);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    assert_null(tx);
    assert_int_equal(store_health(f.store, NULL), STORE_OK);
    store_fixture_close(&f);
}

/* one process owns a SQLite file: it holds every role, at every call, inside a write
 * transaction or outside one (the engine asks from its maintenance, mid-transaction) */
static void
test_sqlite_always_holds_the_leader_role(void **state)
{
    store_fixture_t f;
    store_tx_t *tx = NULL;
    int held = -1, i;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    for (i = 0; i < 3; i++) {
        held = -1;
        assert_int_equal(store_leader_try(f.store, "scheduler", &held), STORE_OK);
        assert_int_equal(held, 1);
    }
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    held = 0;
    assert_int_equal(store_leader_try(f.store, "scheduler", &held), STORE_OK);
    assert_int_equal(held, 1);
    assert_int_equal(store_leader_try(f.store, "another-role", &held), STORE_OK);
    assert_int_equal(held, 1);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    store_fixture_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_by_scheme),
        cmocka_unit_test(test_transactions_and_savepoints),
        cmocka_unit_test(test_sqlite_always_holds_the_leader_role),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
