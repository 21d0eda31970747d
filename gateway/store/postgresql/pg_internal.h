/*
 * pg_internal - what the PostgreSQL backend's files share (gateway/store/postgresql/ only)
 *
 * Every data operation runs through pg_query/pg_exec on the connection of its
 * transaction (the engine's writer, or one of the readers the HTTP threads
 * borrow); the connection stays borrowed until the transaction ends. SQL is
 * passed as a static string: the backend prepares each statement once per
 * connection and keys the cache on the string's address, the way the SQLite
 * backend's db_stmt does. Parameters are text ($1, $2, …; NULL is SQL NULL);
 * pg_params_t builds them without allocating.
 *
 * Failures are recorded on the transaction (store_tx_message) and mapped to a
 * store_rc_t by SQLSTATE: a lost connection (class 08), a serialisation
 * failure or deadlock (40001, 40P01), insufficient resources (53), an
 * operator or crash shutdown (57P) and a read-only standby (25006) are
 * STORE_BUSY; everything else is STORE_ERROR. pg_tx_sqlstate tells an area
 * the SQLSTATE of the last failure (e.g. "23505" unique_violation) when it
 * must tell a conflict from a fault.
 */
#ifndef BCCI_PG_INTERNAL_H
#define BCCI_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "gateway/store/store_backend.h"

#define PG_MAX_PARAMS 32

/* pg_params_t - up to PG_MAX_PARAMS text parameters; numbers are formatted into the struct */
typedef struct {
    const char *values[PG_MAX_PARAMS];
    char numbers[PG_MAX_PARAMS][24];
    int n;
} pg_params_t;

void pg_params_init(pg_params_t *p);
void pg_param_text(pg_params_t *p, const char *text); /* NULL binds SQL NULL */
void pg_param_int(pg_params_t *p, int64_t value);
void pg_param_null(pg_params_t *p);

/* pg_query - run sql (a static string) with params (NULL for none); on STORE_OK *out is the
 * result (PGRES_TUPLES_OK or PGRES_COMMAND_OK), owned by the caller (PQclear). On failure
 * "what" and PostgreSQL's reason are recorded on tx and *out is NULL. */
store_rc_t pg_query(store_tx_t *tx, const char *what, const char *sql, const pg_params_t *params, PGresult **out);
/* pg_exec - pg_query for statements whose rows are not read; *affected (may be NULL) = rows changed */
store_rc_t pg_exec(store_tx_t *tx, const char *what, const char *sql, const pg_params_t *params, int *affected);
/* pg_tx_sqlstate - the SQLSTATE of the last failure on tx ("" if none) */
const char *pg_tx_sqlstate(const store_tx_t *tx);
/* pg_tx_conn - the transaction's connection (borrowed until the transaction ends) */
PGconn *pg_tx_conn(store_tx_t *tx);
/* pg_tx_instance - this process's instance id (a random hex string chosen at store_open),
 * for leases and S10 blocks that must name who holds them */
const char *pg_tx_instance(const store_tx_t *tx);

/* pg_leader_try - whether this process holds the leadership of role (e.g. "scheduler"):
 * a session-level pg_try_advisory_lock on a connection of its own, never blocking. *held
 * stays 1 while that connection keeps the lock; when the connection is lost *held is 0
 * (STORE_BUSY) and the next call reconnects and tries again. */
store_rc_t pg_leader_try(store_t *self, const char *role, int *held);

/* column readers: "" / 0 for SQL NULL */
const char *pg_text(const PGresult *res, int row, int col);
int64_t pg_int(const PGresult *res, int row, int col);
int pg_isnull(const PGresult *res, int row, int col);
/* pg_strdup_col - a malloc'd copy of a column ("" for NULL); NULL when out of memory */
char *pg_strdup_col(const PGresult *res, int row, int col);

/* ---- requested by the dossiers area (pg_dossiers.c); pg_store.c / pg_db.c implement or call them ---- */
/* pg_own_query - run sql with params in a transaction of its own on a connection other than
 * tx's (one the store keeps for this, shared under a lock), committed before it returns: what
 * it wrote is durable and stays whatever becomes of tx. The S10 blocks need it: a block must
 * be taken for good before its first number is used, even when the intake that needed it
 * rolls back. The connection runs with a lock_timeout of a few seconds: a row that tx itself
 * holds locked answers STORE_BUSY instead of waiting for ever on a transaction that waits for
 * us. Failures are recorded on tx and mapped as by pg_query; *out as pg_query. */
store_rc_t pg_own_query(store_tx_t *tx, const char *what, const char *sql, const pg_params_t *params, PGresult **out);
/* (pg_own_query and pg_tx_s10 are implemented by the core, pg_store.c: no stand-in is needed,
 * and a second definition would break the link) */
/* the S10 blocks this instance holds (pg_dossiers.c), one per store: pg_store.c makes them at
 * open (after the migrations) and closes them at close while its connections still work;
 * the close gives back the unused tail of a block when nobody reserved after it (a clean
 * stop skips no number). pg_s10_new is NULL when out of memory; pg_tx_s10 is the store's. */
struct pg_s10;
struct pg_s10 *pg_s10_new(void);
void pg_s10_close(store_t *store, struct pg_s10 **self);
struct pg_s10 *pg_tx_s10(store_tx_t *tx);

/* the data areas of this backend (pg_<area>.c) */
extern const struct store_admin_ops pg_admin_ops;
extern const struct store_labels_ops pg_labels_ops;
extern const struct store_shipments_ops pg_shipments_ops;
extern const struct store_timeline_ops pg_timeline_ops;
extern const struct store_dossiers_ops pg_dossiers_ops;
extern const struct store_jobs_ops pg_jobs_ops;
extern const struct store_copy_ops pg_copy_ops; /* pg_copy.c: bcci store copy */

#endif
