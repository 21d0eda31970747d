/*
 * pg_conn - one PostgreSQL connection with its prepared-statement cache, and the
 * backend's transaction (pg_db.c and pg_store.c only; the areas use pg_internal.h)
 *
 * A pg_conn_t owns its PGconn. Statements are prepared on first use and named
 * after their slot in the cache, keyed by the SQL string's address; a reset
 * (the server came back) forgets them, since a new session has none.
 */
#ifndef BCCI_PG_CONN_H
#define BCCI_PG_CONN_H

#include "gateway/store/postgresql/pg_internal.h"

#define PG_STMT_CACHE 192

typedef struct pg_conn {
    PGconn *h;
    const char *cache[PG_STMT_CACHE]; /* slot i holds the statement named "s<i>" */
    int n;
} pg_conn_t;

/* pg_conn_open - connect with conninfo (a libpq URI) and password (NULL: libpq's own
 * lookup, e.g. PGPASSFILE); a pg_conn_t even when the server is unreachable (check
 * pg_conn_ok), NULL only when out of memory */
pg_conn_t *pg_conn_open(const char *conninfo, const char *password);
void pg_conn_close(pg_conn_t **self);
/* pg_conn_ok - 1 when the session is up and outside any failed transaction */
int pg_conn_ok(const pg_conn_t *self);
/* pg_conn_reset - reconnect a lost session (statements forgotten); 1 when up again */
int pg_conn_reset(pg_conn_t *self);
/* pg_conn_error - libpq's last message on one line (static buffer of the connection) */
const char *pg_conn_error(const pg_conn_t *self, char *buf, size_t len);

struct pg_tx {
    store_tx_t base;
    pg_conn_t *conn;
    int depth;        /* open savepoints */
    int releases;     /* savepoints released but not told yet: sent ahead of the next statement */
    char sqlstate[6]; /* of the last failure */
};

/* PG_RELEASE - what a deferred release sends; pg_with_releases prefixes sql with tx's
 * deferred releases (and forgets them) into buf, so they travel in the same round trip */
#define PG_RELEASE "RELEASE SAVEPOINT op; "
const char *pg_with_releases(struct pg_tx *tx, const char *sql, char *buf, size_t len);

/* pg_rc_of - the store_rc_t for a failure with sqlstate (NULL or "": no SQLSTATE, e.g. a lost
 * connection) on conn, as pg_internal.h lists */
store_rc_t pg_rc_of(const char *sqlstate, PGconn *conn);
/* pg_reason - PostgreSQL's message for a failed res (NULL: the connection's) on one line */
const char *pg_reason(const PGresult *res, const pg_conn_t *conn, char *buf, size_t len);
/* pg_simple - run a statement without parameters or cache (BEGIN, SAVEPOINT, …) on tx */
store_rc_t pg_simple(store_tx_t *tx, const char *what, const char *sql);
/* pg_store_instance - the instance id of a store of this backend (pg_store.c) */
const char *pg_store_instance(const store_t *store);

#endif
