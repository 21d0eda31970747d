/*
 * store - the gateway's durable state, behind one interface
 *
 * Dossiers, shipments, jobs, the case timeline, code ranges, tokens and
 * manifests live here and nowhere else: no file outside the store's backends
 * (gateway/store/<backend>/) includes a database header or names a table
 * (make check-layers enforces it). store_open() picks the backend by URI
 * scheme, the way Postfix's dict_open() and curl's vtls pick theirs:
 *   "sqlite:var/bcci.db"           the embedded default (gateway/store/sqlite/)
 *   "postgresql://USER@HOST:PORT/DBNAME"  PostgreSQL, several bccid on one database
 *                                  (gateway/store/postgresql/)
 * A second backend is a new folder beside sqlite/ and one line in store.c;
 * nothing above the store changes.
 *
 * Transactions: store_tx_begin(STORE_WRITE) is taken by one thread at a time
 * (bccid's engine: group commit); store_tx_savepoint/store_tx_release wrap
 * each operation of a batch so one failing operation never spoils the
 * others; store_tx_commit returns STORE_OK only once the commit is durable.
 * STORE_READ transactions serve the HTTP threads and see a consistent
 * snapshot; any number may run beside the writer.
 *
 * Results: every data operation returns a store_rc_t. STORE_BUSY means "the
 * database cannot take this right now; try again later" (locked by another
 * process, disk full, I/O error); STORE_ERROR is a bug or corruption. The
 * message of the last failure is store_tx_message(tx). Records passed in are
 * borrowed for the call; records returned are caller-owned and say how to
 * free them in their area's header (store_<area>.h).
 */
#ifndef BCCI_STORE_H
#define BCCI_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    STORE_OK = 0,
    STORE_NOT_FOUND, /* no such row */
    STORE_EXISTS,    /* already there, identical: an idempotent replay */
    STORE_CONFLICT,  /* already there, different, or a rule refuses the change */
    STORE_EMPTY,     /* a pool is exhausted (S10 numbers) */
    STORE_BUSY,      /* transient: retry later */
    STORE_ERROR,     /* permanent: a bug, corruption, or a schema this build does not know */
} store_rc_t;

typedef enum { STORE_READ, STORE_WRITE } store_mode_t;

typedef struct store store_t;
typedef struct store_tx store_tx_t;

/* store_open - open (and migrate) the store named by uri; NULL with err on
 * failure (unknown scheme, unreadable file, newer schema). Caller owns. */
store_t *store_open(const char *uri, char *err, size_t errlen);
void store_close(store_t **self);
/* store_uri - the URI it was opened with (borrowed) */
const char *store_uri(const store_t *self);
/* store_backend_name - "sqlite" or "postgresql" */
const char *store_backend_name(const store_t *self);
/* store_health - STORE_OK when the last write transaction committed (or none
 * was tried), STORE_BUSY while writes fail; *why (borrowed, may be NULL) says why */
store_rc_t store_health(store_t *self, const char **why);

/* store_leader_try - try, without waiting, to hold the named role among every process on this
 * store (several bccid instances on one database: exactly one runs the scheduler). *held = 1
 * while this process holds it; call it again every few seconds: a holder that died (its
 * session gone) frees the role for the next caller. One process owns a SQLite file, so there it
 * is always held. STORE_BUSY (with *held = 0) when the database cannot say right now. */
store_rc_t store_leader_try(store_t *self, const char *role, int *held);

/* store_tx_begin - start a transaction; *out is owned by the caller until
 * store_tx_commit or store_tx_abort, which free it and NULL the pointer */
store_rc_t store_tx_begin(store_t *self, store_mode_t mode, store_tx_t **out);
/* store_tx_savepoint / store_tx_release - nest one operation; release with
 * keep = 0 undoes everything since the savepoint and keeps the transaction */
store_rc_t store_tx_savepoint(store_tx_t *tx);
store_rc_t store_tx_release(store_tx_t *tx, int keep);
/* store_tx_commit - commit (durable on STORE_OK) and free; on failure the
 * transaction is rolled back and freed too */
store_rc_t store_tx_commit(store_tx_t **tx);
/* store_tx_abort - roll back (or end a read) and free; NULL is a no-op */
void store_tx_abort(store_tx_t **tx);
/* store_tx_message - what the last failing call in tx said (borrowed, "" if none) */
const char *store_tx_message(const store_tx_t *tx);
store_t *store_tx_store(const store_tx_t *tx);
/* store_tx_fail - record why an operation failed on tx (read back with store_tx_message) and
 * return rc; for backends, and for rules that refuse inside a transaction */
store_rc_t store_tx_fail(store_tx_t *tx, store_rc_t rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* store_rc_name - "ok", "not_found", … for logs and tests */
const char *store_rc_name(store_rc_t rc);

#endif
