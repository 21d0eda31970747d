/*
 * store_test - the store's front: backends by URI scheme, transactions, savepoints, the
 * schema version; on PostgreSQL, the leadership lock of several instances
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "gateway/store/postgresql/pg_internal.h"
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
    assert_null(store_open("postgresql:bcci@db/bcci", err, sizeof err));
    assert_non_null(strstr(err, "postgresql://USER@HOST:PORT/DBNAME"));
    assert_int_equal(store_fixture_open(&f), 0);
    assert_string_equal(store_backend_name(f.store), store_fixture_sqlite() ? "sqlite" : "postgresql");
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

/* a database left by a newer bccid is refused at open, with what to do */
static void
test_newer_schema_refused(void **state)
{
    store_fixture_t f;
    char err[512];
    store_t *again;

    (void)state;
    assert_int_equal(store_fixture_open(&f), 0);
    assert_int_equal(store_fixture_exec(&f, "INSERT INTO schema_version (version) VALUES (999)"), 0);
    again = store_open(f.uri, err, sizeof err);
    assert_null(again);
    if (!strstr(err, "newer than this bccid"))
        fail_msg("got '%s', want a refusal naming the newer schema", err);
    store_fixture_exec(&f, "DELETE FROM schema_version WHERE version = 999");
    store_fixture_close(&f);
}

typedef struct {
    const char *uri;
    store_t *store;
    char err[512];
} opener_t;

static void *
opener(void *arg)
{
    opener_t *o = arg;

    o->store = store_open(o->uri, o->err, sizeof o->err);
    return NULL;
}

/* PostgreSQL: instances starting at once on an empty database migrate it once between them
 * (fails without the schema lock: "relation already exists" or a duplicate schema_version) */
static void
test_instances_migrate_at_once(void **state)
{
    store_fixture_t f;
    opener_t o[4];
    pthread_t th[4];
    int i;

    (void)state;
    if (store_fixture_sqlite())
        skip();
    assert_int_equal(store_fixture_open(&f), 0);
    store_close(&f.store);
    assert_int_equal(store_fixture_exec(&f, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
    for (i = 0; i < 4; i++) {
        memset(&o[i], 0, sizeof o[i]);
        o[i].uri = f.uri;
        assert_int_equal(pthread_create(&th[i], NULL, opener, &o[i]), 0);
    }
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (i = 0; i < 4; i++) {
        if (!o[i].store)
            fail_msg("instance %d: %s", i + 1, o[i].err);
        store_close(&o[i].store);
    }
    /* each migration recorded once (a duplicate would mean two instances ran it) */
    assert_int_equal(store_fixture_int(&f, "SELECT COUNT(*) - COUNT(DISTINCT version) FROM schema_version"), 0);
    assert_int_equal(store_fixture_int(&f, "SELECT COUNT(*) FROM schema_version"), 2);
    store_fixture_close(&f);
}

/* PostgreSQL: one instance at a time leads a role; a new instance id at every open; the
 * leadership passes on when its holder's store closes */
static void
test_leadership_is_exclusive(void **state)
{
    store_fixture_t f;
    store_t *other;
    store_tx_t *a = NULL, *b = NULL;
    char err[512];
    int held = -1;

    (void)state;
    if (store_fixture_sqlite())
        skip();
    assert_int_equal(store_fixture_open(&f), 0);
    other = store_open(f.uri, err, sizeof err);
    assert_non_null(other);
    assert_int_equal(pg_leader_try(f.store, "scheduler", &held), STORE_OK);
    assert_int_equal(held, 1);
    assert_int_equal(pg_leader_try(f.store, "scheduler", &held), STORE_OK);
    assert_int_equal(held, 1); /* still ours */
    assert_int_equal(pg_leader_try(other, "scheduler", &held), STORE_OK);
    assert_int_equal(held, 0);
    assert_int_equal(pg_leader_try(other, "purge", &held), STORE_OK);
    assert_int_equal(held, 1); /* another role, another lock */
    assert_int_equal(store_tx_begin(f.store, STORE_READ, &a), STORE_OK);
    assert_int_equal(store_tx_begin(other, STORE_READ, &b), STORE_OK);
    assert_string_not_equal(pg_tx_instance(a), pg_tx_instance(b));
    assert_int_equal(strlen(pg_tx_instance(a)), 16);
    store_tx_abort(&a);
    store_tx_abort(&b);
    store_close(&f.store);
    assert_int_equal(pg_leader_try(other, "scheduler", &held), STORE_OK);
    assert_int_equal(held, 1);
    store_close(&other);
    store_fixture_close(&f);
}

/* PostgreSQL: a failed statement spoils only its savepoint; a commit after an unrecovered
 * failure is refused, not reported as done */
static void
test_failed_statement_and_commit(void **state)
{
    store_fixture_t f;
    store_tx_t *tx = NULL;
    pg_params_t p;

    (void)state;
    if (store_fixture_sqlite())
        skip();
    assert_int_equal(store_fixture_open(&f), 0);
    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(store_tx_savepoint(tx), STORE_OK);
    pg_params_init(&p);
    pg_param_text(&p, "m1");
    pg_param_int(&p, 1);
    assert_int_equal(pg_exec(tx, "adding a metric", "INSERT INTO metrics (name, value) VALUES ($1, $2)", &p, NULL),
                     STORE_OK);
    assert_int_equal(pg_exec(tx, "adding it twice", "INSERT INTO metrics (name, value) VALUES ($1, $2)", &p, NULL),
                     STORE_ERROR);
    assert_string_equal(pg_tx_sqlstate(tx), "23505");
    assert_non_null(strstr(store_tx_message(tx), "adding it twice"));
    assert_int_equal(store_tx_release(tx, 0), STORE_OK); /* undone, the transaction goes on */
    assert_int_equal(pg_exec(tx, "adding a metric", "INSERT INTO metrics (name, value) VALUES ($1, $2)", &p, NULL),
                     STORE_OK);
    assert_int_equal(store_tx_commit(&tx), STORE_OK);
    assert_int_equal(store_fixture_int(&f, "SELECT value FROM metrics WHERE name = 'm1'"), 1);

    assert_int_equal(store_tx_begin(f.store, STORE_WRITE, &tx), STORE_OK);
    assert_int_equal(pg_exec(tx, "adding it twice", "INSERT INTO metrics (name, value) VALUES ($1, $2)", &p, NULL),
                     STORE_ERROR);
    assert_int_equal(store_tx_commit(&tx), STORE_ERROR);
    assert_int_equal(store_health(f.store, NULL), STORE_OK); /* a refused commit is no outage */
    store_fixture_close(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_by_scheme),
        cmocka_unit_test(test_transactions_and_savepoints),
        cmocka_unit_test(test_sqlite_always_holds_the_leader_role),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_instances_migrate_at_once),
        cmocka_unit_test(test_leadership_is_exclusive),
        cmocka_unit_test(test_failed_statement_and_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
