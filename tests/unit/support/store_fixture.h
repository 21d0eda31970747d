/*
 * store_fixture - a fresh store for unit tests, on the backend the environment picks
 *
 * BCCI_TEST_STORE unset or "sqlite": "sqlite:DIR/bcci.db" in a new temporary directory
 * under TMPDIR. BCCI_TEST_STORE=postgresql: a database of its own per test process on the
 * server named by BCCI_TEST_PG_URI (postgresql://USER@HOST:PORT/) with the password in
 * BCCI_TEST_PG_PASSWORD_FILE (tests/pg/pg_server.py run sets both), emptied at every
 * store_fixture_open, so each test starts from the freshly migrated schema.
 * store_fixture_close closes the store and removes what it made. The fixture owns both.
 *
 * store_fixture_exec / store_fixture_int / store_fixture_text let a test seed or inspect
 * rows with SQL that both backends understand (same tables and columns); tests that poke
 * one backend's internals start with STORE_FIXTURE_SQLITE_ONLY().
 */
#ifndef BCCI_STORE_FIXTURE_H
#define BCCI_STORE_FIXTURE_H

#include <stddef.h>

#include "gateway/store/store.h"

typedef struct {
    char dir[512];
    char uri[1200];
    store_t *store;
    void *pg; /* the fixture's own connection on PostgreSQL (PGconn *) */
} store_fixture_t;

/* store_fixture_sqlite - 1 when the tests run on SQLite (the default) */
int store_fixture_sqlite(void);
/* STORE_FIXTURE_SQLITE_ONLY - at the top of a cmocka test that reaches SQLite's internals */
#define STORE_FIXTURE_SQLITE_ONLY()                                                                                    \
    do {                                                                                                               \
        if (!store_fixture_sqlite())                                                                                   \
            skip();                                                                                                    \
    } while (0)

/* store_fixture_open - 0, or -1 with a message on stderr */
int store_fixture_open(store_fixture_t *f);
void store_fixture_close(store_fixture_t *f);

/* store_fixture_exec - run sql (one or more statements, no parameters) outside any
 * transaction of the store; 0, or -1 with the database's message on stderr. On
 * PostgreSQL the id sequences move past rows inserted with explicit ids. */
int store_fixture_exec(store_fixture_t *f, const char *sql);
/* store_fixture_int - the first column of sql's first row; -1 when there is no row */
long long store_fixture_int(store_fixture_t *f, const char *sql);
/* store_fixture_text - the same as text into out ("(none)" when there is no row) */
const char *store_fixture_text(store_fixture_t *f, const char *sql, char *out, size_t len);

#endif
